"""A class's submission read for grading: the assignment's files collected into a private
folder and digested, or why nothing of it can be graded.

The digest (SHA-256 over the assignment's name and the collected files) tells ``grade-all``
whether a stored result is still that of the submission's files; an unreadable submission gets
a digest of what is on disk, so it is recorded again only when that changes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from autograder.core.assignments import Assignment
from autograder.core.submission import SubmissionError, collect_submission
from autograder.grading.classroom import ClassSubmission


@dataclass
class Prepared:
    """A submission as read for grading."""

    submission: ClassSubmission
    folder: Path | None
    """The collected files, or None when the submission is unreadable."""
    digest: str
    problem: str = ""
    """Why the submission is unreadable ("" when it is not)."""


def prepare(assignment: Assignment, submission: ClassSubmission, folder: Path) -> Prepared:
    """Collect the assignment's files of ``submission`` into ``folder``, and digest them."""
    source = submission.source
    if source is None or submission.problem:
        problem = submission.problem or "submission not found"
        return Prepared(submission, None, _text_digest("problem", problem), problem)
    try:
        if source.is_file() and source.suffix == ".py" and source.name not in assignment.files:
            single = folder.parent / f"{folder.name}.single"
            source = _single_file(source, assignment.module_file, single)
        found = collect_submission(source, assignment.files, folder)
        zips = list(source.glob("*.zip")) if source.is_dir() else []
        if assignment.module_file not in found and len(zips) == 1:  # an uploaded zip, kept whole
            found = collect_submission(zips[0], assignment.files, folder)
    except SubmissionError as error:
        problem = str(error)
        return Prepared(submission, None, _source_digest(submission.source, problem), problem)
    except OSError as error:
        problem = f"cannot read the submission: {error}"
        return Prepared(submission, None, _source_digest(submission.source, problem), problem)
    digest = hashlib.sha256(assignment.name.encode())
    for name in sorted(found):
        digest.update(b"\0" + name.encode() + b"\0" + found[name].read_bytes())
    if assignment.module_file not in found:
        present = ", ".join(sorted(found)) or "none of " + ", ".join(assignment.files)
        problem = f"no {assignment.module_file} in the submission (found: {present})"
        return Prepared(submission, None, digest.hexdigest(), problem)
    return Prepared(submission, folder, digest.hexdigest())


def _single_file(source: Path, module_file: str, folder: Path) -> Path:
    """A plain folder's ``<student>.py`` as the assignment's file, in a folder of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    collect_submission(source.parent, [source.name], folder)  # same checks (regular, size)
    target = folder / module_file
    os.replace(folder / source.name, target)
    return target


def _text_digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _source_digest(source: Path | None, problem: str) -> str:
    """A digest of an unreadable submission as it is on disk (names, sizes, bytes)."""
    digest = hashlib.sha256(problem.encode())
    if source is None:
        return digest.hexdigest()
    paths = [source] if not source.is_dir() else sorted(source.rglob("*"))
    budget = 64 * 1024 * 1024
    for path in paths:
        try:
            info = path.lstat()
            digest.update(f"\0{path.relative_to(source.parent)}\0{info.st_size}".encode())
            if path.is_file() and not path.is_symlink() and info.st_size <= budget:
                budget -= info.st_size
                digest.update(path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()
