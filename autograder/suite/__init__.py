"""What graded suites use while they run, and the pytest plugin that runs them.

- :mod:`~autograder.suite.plugin`: the ``autograder`` pytest plugin (options, markers, the
  ``student``, ``reference``, ``forward_oracle``, ``rng``, ``backend`` and ``leaderboard``
  fixtures, the results it collects);
- :mod:`~autograder.suite.compare`: ``assert_close`` and its tolerances;
- :mod:`~autograder.suite.conditioning`: the reference's spread under rounding;
- :mod:`~autograder.suite.gradcheck`: numeric gradients;
- :mod:`~autograder.suite.student`: the submission's functions as the suites call them
  (through the sandbox; ``with_call_timeout`` for one long call, such as a training run);
- :mod:`~autograder.suite.hints`: what a failed test's calls say about the likely mistake.

May import: ``autograder.core`` and ``autograder.sandbox`` (the parent side). Never student code.
"""
