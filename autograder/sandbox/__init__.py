"""Run student functions in a child process: the grader never imports or executes them.

``Sandbox(folder, files, module, limits)`` starts a child (as an unprivileged uid and in
fresh namespaces where the system allows), imports the student's module there once, and runs
each ``call`` in a freshly forked worker. Values cross as data only (JSON + validated ``.npy``
bytes, see :mod:`autograder.sandbox.wire`); failures come back as :class:`CallFailed`, and
failures of the grader's own environment as :class:`GradingError`.
"""

from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import KINDS, CallFailed, GradingError, Sandbox
from autograder.sandbox.spawn import platform_problem
from autograder.sandbox.wire import WireError

__all__ = [
    "KINDS",
    "CallFailed",
    "GradingError",
    "Limits",
    "Sandbox",
    "WireError",
    "platform_problem",
]
