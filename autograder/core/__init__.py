"""The kit's core: what every other package shares, importing nothing else of the kit.

- :mod:`~autograder.core.assignments`: the assignment registry (``assignments/<name>/``,
  ``solutions/<name>.py``, ``assignment.toml``) and the kit's folders;
- :mod:`~autograder.core.backends`: the array backends (``numpy``, ``strict``, ``cupy``),
  whether each is usable here, and its share of a test's points;
- :mod:`~autograder.core.gradescope`: Gradescope's results format, written atomically;
- :mod:`~autograder.core.submission`: a submission's files, collected and digested.

May import: the standard library, NumPy, and ``autograder.core`` itself.
"""
