"""Grading: one submission, a whole class, the gradebook and the reports.

- :mod:`~autograder.grading.grade`: grade one submission (a pytest run of the suites); the
  ``grade`` and ``check`` commands;
- :mod:`~autograder.grading.grade_all`: grade a class, resumably, in parallel, with
  :mod:`~autograder.grading.prepare` (a submission read and digested),
  :mod:`~autograder.grading.stored_results` (what a graded submission leaves behind),
  :mod:`~autograder.grading.class_results` (a class's rows) and
  :mod:`~autograder.grading.run_report` (what a run says when it ends);
- :mod:`~autograder.grading.classroom`: find a class's submissions (a Gradescope export or a
  folder);
- :mod:`~autograder.grading.gradebook`: the class's gradebook, summary and charts;
- :mod:`~autograder.grading.report`: the readable table of a grading;
- :mod:`~autograder.grading.pristine` (with ``pristine_kit``, ``pristine_watch``,
  ``pristine_processes``, ``pristine_run``): grading from pristine kit copies where isolation
  is partial.

May import: ``autograder.core`` and ``autograder.sandbox``. Suites run in a pytest process of
their own; student code runs only in the sandbox.
"""
