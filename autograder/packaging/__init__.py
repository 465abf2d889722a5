"""What is handed out and uploaded: the student bundle and the Gradescope autograder.

- :mod:`~autograder.packaging.build`: build every assignment into ``dist/``;
- :mod:`~autograder.packaging.bundle`: the student bundle (stubs, public tests, the kit);
- :mod:`~autograder.packaging.otter_package`: the Gradescope autograder zip (otter-grader);
- :mod:`~autograder.packaging.otter_plugin`: the otter plugin that grades in the sandbox.

May import: ``autograder.core``, ``autograder.authoring`` and ``autograder.grading``.
"""
