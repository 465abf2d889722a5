"""Grading: one submission, a whole class, the gradebook and the reports.

- :mod:`~autograder.grading.grade`: grade one submission (a pytest run of the suites);
- :mod:`~autograder.grading.grade_all`: grade a class, resumably, in parallel;
- :mod:`~autograder.grading.classroom`: find a class's submissions (a Gradescope export or a
  folder);
- :mod:`~autograder.grading.gradebook`: the class's gradebook, summary and charts;
- :mod:`~autograder.grading.report`: the readable table of a grading;
- :mod:`~autograder.grading.pristine`: grading from pristine kit copies where isolation is
  partial.

May import: ``autograder.core`` and ``autograder.sandbox``. Suites run in a pytest process of
their own; student code runs only in the sandbox.
"""
