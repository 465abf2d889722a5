"""Independent oracles for reference functions that torch cannot check directly."""
