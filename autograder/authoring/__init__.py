"""The instructor's tools for writing assignments.

- :mod:`~autograder.authoring.stubgen`: student stubs generated from the reference solutions;
- :mod:`~autograder.authoring.template`: ``student_template/`` generated and checked;
- :mod:`~autograder.authoring.handouts`: the handout notebooks;
- :mod:`~autograder.authoring.leaks`: no line of a reference or hidden suite in what is shipped;
- :mod:`~autograder.authoring.examples`: the bundled example submissions;
- :mod:`~autograder.authoring.fairness`: grades that do not depend on the seed or the formulation.

May import: ``autograder.core``, ``autograder.suite`` and ``autograder.grading``.
"""
