"""The stub generator: markers, import rewriting, and the committed template."""

import ast
import textwrap

import pytest

from autograder.authoring.leaks import marked_and_shipped_lines
from autograder.authoring.stubgen import (
    BEGIN,
    END,
    MarkerError,
    find_blocks,
    make_solution_submission,
    make_stub,
)
from autograder.authoring.template import check_template, expected_template
from autograder.core.assignments import TEMPLATE_DIR, all_assignments

SOURCE = textwrap.dedent(
    '''\
    """Module docstring."""

    import numpy as np
    from solutions.conv import conv_forward

    # BEGIN SOLUTION
    def _helper(x):
        return x * 2
    # END SOLUTION


    def layer(x):
        """Docstring kept."""
        # BEGIN SOLUTION
        y = _helper(x)
        return conv_forward(y)
        # END SOLUTION


    class Holder:
        def method(self, x):
            if x:
                # BEGIN SOLUTION
                return 1
                # END SOLUTION
            return 0
    '''
)


def test_function_blocks_become_not_implemented_naming_the_function():
    stub = make_stub(SOURCE)
    assert '    raise NotImplementedError("layer is not implemented yet")' in stub
    assert '            raise NotImplementedError("method is not implemented yet")' in stub
    assert '"""Docstring kept."""' in stub


def test_module_level_blocks_are_removed_whole():
    stub = make_stub(SOURCE)
    assert "_helper" not in stub
    assert BEGIN not in stub and END not in stub
    assert "\n\n\n\n" not in stub
    ast.parse(stub)


def test_sibling_solution_imports_become_student_imports():
    assert "from conv import conv_forward" in make_stub(SOURCE)
    assert "from conv import conv_forward" in make_solution_submission(SOURCE)
    assert "solutions" not in make_solution_submission(SOURCE)


def test_solution_submission_keeps_the_code_and_drops_the_markers():
    rendered = make_solution_submission(SOURCE)
    assert "return conv_forward(y)" in rendered and "def _helper" in rendered
    assert BEGIN not in rendered and END not in rendered
    ast.parse(rendered)


def test_blocks_know_their_enclosing_function():
    assert [b.function for b in find_blocks(SOURCE)] == [None, "layer", "method"]


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (f"{BEGIN}\nx = 1\n", "without # END"),
        (f"x = 1\n{END}\n", "without # BEGIN"),
        (f"{BEGIN}\n{BEGIN}\n{END}\n{END}\n", "nested"),
    ],
)
def test_broken_markers_are_reported_with_their_line(source, problem):
    with pytest.raises(MarkerError, match=problem):
        make_stub(source, "broken.py")


def test_committed_template_is_what_the_generator_makes():
    problems = check_template()
    assert not problems, "run `autograder template`:\n" + "\n".join(problems)


def test_every_assignment_ships_a_stub_and_its_public_tests():
    files = expected_template()
    for assignment in all_assignments():
        assert f"{assignment.name}.py" in files
        assert any(p.startswith(f"tests/test_{assignment.name}") for p in files)


def test_template_contains_no_solution_code():
    """No line that exists only inside solution markers appears anywhere in the template.

    Lines that the solutions also ship on purpose (outside markers, in any module: a helper
    given to students in one module may be private in another) are not solution code.
    """
    marked: dict[str, set[str]] = {}
    shipped: set[str] = set()
    for assignment in all_assignments():
        lines_in, lines_out = marked_and_shipped_lines(assignment.solution_file.read_text())
        marked[assignment.name] = lines_in
        shipped |= lines_out
        shipped |= {
            line.strip()
            for test in assignment.public_dir.glob("*.py")
            for line in test.read_text().splitlines()
        }
    assert all(marked.values()), "every solution has marked code"
    secret = set().union(*marked.values()) - shipped
    leaked = []
    for path in TEMPLATE_DIR.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".ipynb", ".txt"):
            text = {line.strip() for line in path.read_text().splitlines()}
            leaked += [f"{path.name}: {line}" for line in sorted(secret & text)]
    assert not leaked, "solution code found in student_template/:\n" + "\n".join(leaked)
