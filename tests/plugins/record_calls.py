"""A pytest plugin for the kit's own tests: record every graded test's calls of student functions.

Loaded with ``-p record_calls`` (this folder on ``PYTHONPATH``) into a pytest run of an
assignment's suites; at the end it pickles ``[(test id, [Call, ...]), ...]`` into the file that
``RECORD_CALLS_TO`` names. The calls are the ones the plugin records for hints
(``item.stash[CALLS]``), read just before the test's teardown drops them.
"""

from __future__ import annotations

import os
import pickle

import pytest

from autograder.suite.session import CALLS

_RECORDED: list[tuple[str, list]] = []


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    calls = item.stash.get(CALLS, None)
    if calls:
        _RECORDED.append((item.nodeid, list(calls)))
    return (yield)


def pytest_sessionfinish(session: pytest.Session) -> None:
    with open(os.environ["RECORD_CALLS_TO"], "wb") as out:
        pickle.dump(_RECORDED, out)
