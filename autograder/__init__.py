"""CNN assignment kit: reference comparison, pytest plugin, stub generation and grading."""

__version__ = "0.1.0"
