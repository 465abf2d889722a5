"""The kit's core: what every other package shares, importing nothing else of the kit.

- :mod:`~autograder.core.assignments`: the assignment registry (``assignments/<name>/``,
  ``solutions/<name>.py``, ``assignment.toml``) and the kit's folders;
- :mod:`~autograder.core.backends`: one object per array backend (``numpy``, ``strict``,
  ``cupy``): whether it runs here, its share of a test's points, how a call's arrays go to it
  and come back (self-contained: the sandbox's child loads it by path);
- :mod:`~autograder.core.gradescope`: Gradescope's results schema, and its atomic writer;
- :mod:`~autograder.core.results`: the result model (a test's result, a grading's report,
  ``results.json``), to and from Gradescope's format;
- :mod:`~autograder.core.submission`: a submission's files, collected and digested.

May import: the standard library, NumPy, and ``autograder.core`` itself.
"""
