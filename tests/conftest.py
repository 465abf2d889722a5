import pytest

pytest_plugins = ["pytester"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--exhaustive",
        action="store_true",
        help="run the exhaustive versions of sampled checks (the fairness check over 200 seeds)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Cases marked ``exhaustive`` run only with ``--exhaustive``: the default run samples."""
    if config.getoption("exhaustive"):
        return
    skip = pytest.mark.skip(reason="a sampled check's further cases: run with --exhaustive")
    for item in items:
        if item.get_closest_marker("exhaustive") is not None:
            item.add_marker(skip)
