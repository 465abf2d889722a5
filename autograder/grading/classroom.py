"""Find a class's submissions: a Gradescope export, or a plain folder of one entry per student.

Two layouts are recognized (``discover`` decides which):

Gradescope export ("Export Submissions" on an assignment, unzipped; the zip itself is accepted
too): a top-level ``submission_metadata.yml`` and one folder per submission. The metadata maps
each folder name to what Gradescope knows of it::

    submission_123456:
      :submitters:
      - :name: Ada Lovelace
        :sid: '100'
        :email: ada@example.edu
      :created_at: 2024-10-01 12:34:56.000000000 -07:00
      :score: 0.0
      ...

Group submissions list several submitters: the submission is graded once and every member
gets the grade. A submission listed without its folder, or a folder whose files cannot be read,
still becomes a row (score 0, with the reason), never an error of the whole run. Folders that
the metadata does not mention are graded too, identified by the folder's name.

Plain folder: one entry per student, the student id being the entry's name: a sub-folder
shaped like ``student_template/`` (``alice/conv.py``), a zip of one (``alice.zip``), or the
single assignment file under the student's name (``alice.py``). Hidden entries (``.x``,
``__MACOSX``) are ignored.

Each submission gets a ``key``: the name of its results folder, stable from one run to the next
(the SID when there is one, so a student keeps their folder when a newer export renames the
submission's folder), made of safe characters only.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

METADATA_FILE = "submission_metadata.yml"
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


class ClassroomError(ValueError):
    """The class's folder cannot be used at all: missing, empty, or unreadable metadata."""


@dataclass(frozen=True)
class Student:
    """Who a row of the gradebook is for. Fields Gradescope did not give are empty."""

    name: str = ""
    sid: str = ""
    email: str = ""


@dataclass(frozen=True)
class ClassSubmission:
    """One thing to grade, and the students it counts for.

    Attributes:
        key: name of the submission's results folder; unique within a class.
        label: the entry's name in the class folder (``submission_123456``, ``alice.zip``).
        source: the folder, zip or ``.py`` to grade; ``None`` when it is missing.
        students: the submitters (one, or a group).
        submitted_at: Gradescope's ``:created_at:`` as ISO 8601, or empty.
        problem: why it cannot be graded, when that is known from discovery alone.
    """

    key: str
    label: str
    source: Path | None
    students: tuple[Student, ...]
    submitted_at: str = ""
    problem: str = ""


@dataclass
class Classroom:
    """The submissions found under ``root`` and the layout they were found in."""

    root: Path
    layout: str  # "gradescope" or "folder"
    submissions: list[ClassSubmission]
    _scratch: tempfile.TemporaryDirectory[str] | None = None

    def close(self) -> None:
        """Remove the folder an export zip was extracted into, if any."""
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


def discover(path: Path, module_file: str) -> Classroom:
    """The submissions under ``path`` (a Gradescope export, its zip, or a plain folder).

    Args:
        path: the class's folder.
        module_file: the assignment's student file (``conv.py``): a plain folder's ``<id>.py``
            entries are that file under another name.

    Raises:
        ClassroomError: ``path`` is missing or holds no submission, or the export's metadata
            cannot be parsed.
    """
    scratch = None
    if path.is_file() and path.suffix == ".zip":
        scratch = tempfile.TemporaryDirectory(prefix="grade-all-export-")
        path = _extract_export(path, Path(scratch.name))
    if not path.is_dir():
        raise ClassroomError(f"submissions folder not found: {path}")
    root = _export_root(path)
    if root is not None:
        submissions = _gradescope_submissions(root)
        layout = "gradescope"
    else:
        root = path
        submissions = _folder_submissions(root, module_file)
        layout = "folder"
    if not submissions:
        if scratch is not None:
            scratch.cleanup()
        raise ClassroomError(f"no submissions found in {path}")
    return Classroom(root, layout, submissions, scratch)


def load_metadata(path: Path) -> dict[str, Any]:
    """Parse Gradescope's ``submission_metadata.yml`` into plain Python values.

    Gradescope writes it from Ruby: keys are symbols (``:submitters:`` reads as the string
    ``":submitters"``) and a few values may carry Ruby tags (``!ruby/object:BigDecimal``);
    tagged values are read as the plain scalar, list or mapping they are written as.

    Raises:
        ClassroomError: the file is not YAML, or not a mapping.
    """
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    _Loader.add_multi_constructor("!", plain)
    _Loader.add_multi_constructor("tag:", plain)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as error:
        raise ClassroomError(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise ClassroomError(f"cannot read {path}: expected a mapping of submissions")
    return data


def safe_key(text: str) -> str:
    """``text`` as a file name: unsafe characters become ``_``, no leading dot, at most 100."""
    key = _UNSAFE.sub("_", text).strip("._")[:100]
    return key or "submission"


def _export_root(path: Path) -> Path | None:
    """The folder holding ``submission_metadata.yml``: ``path`` or its single sub-folder."""
    if (path / METADATA_FILE).is_file():
        return path
    entries = [p for p in path.iterdir() if not _hidden(p.name)]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / METADATA_FILE).is_file():
        return entries[0]
    return None


def _gradescope_submissions(root: Path) -> list[ClassSubmission]:
    metadata = load_metadata(root / METADATA_FILE)
    found: list[tuple[str, str, Path | None, tuple[Student, ...], str, str]] = []
    for folder_name in sorted(metadata, key=str):
        record = metadata[folder_name]
        label = str(folder_name)
        record = record if isinstance(record, dict) else {}
        students = tuple(_student(s) for s in _as_list(record.get(":submitters")))
        students = tuple(s for s in students if s.name or s.sid or s.email)
        folder = root / label
        problem = ""
        source: Path | None = folder
        if _hidden(label) or "/" in label or "\\" in label or label in (".", ".."):
            source, problem = None, f"unusable submission name in the metadata: {label!r}"
        elif not folder.exists():
            source, problem = None, f"the export has no folder {label} for this submission"
        tokens = [s.sid or s.email or s.name for s in students]
        preferred = "+".join(tokens) if tokens and all(tokens) else label
        found.append((preferred, label, source, students, _timestamp(record), problem))
    listed = {str(name) for name in metadata}
    for entry in sorted(root.iterdir()):
        if entry.name in listed or entry.name == METADATA_FILE or _hidden(entry.name):
            continue
        found.append((entry.name, entry.name, entry, (), "", ""))
    return _with_unique_keys(found)


def _folder_submissions(root: Path, module_file: str) -> list[ClassSubmission]:
    found = []
    for entry in sorted(root.iterdir()):
        if _hidden(entry.name):
            continue
        student_id = entry.name
        if entry.is_file() and entry.suffix in (".zip", ".py"):
            student_id = entry.stem
        found.append((student_id, entry.name, entry, (Student(sid=student_id),), "", ""))
    return _with_unique_keys(found)


def _with_unique_keys(
    found: Iterable[tuple[str, str, Path | None, tuple[Student, ...], str, str]],
) -> list[ClassSubmission]:
    """Submissions with safe keys; a clash gets ``-2``, ``-3``... in the (sorted) order given."""
    used: set[str] = set()
    submissions = []
    for preferred, label, source, students, submitted_at, problem in found:
        base = safe_key(preferred)
        key, n = base, 1
        while key.lower() in used:  # case-insensitive file systems
            n += 1
            key = f"{base}-{n}"
        used.add(key.lower())
        submissions.append(ClassSubmission(key, label, source, students, submitted_at, problem))
    return submissions


def _student(record: Any) -> Student:
    if not isinstance(record, dict):
        return Student()

    def text(field: str) -> str:
        value = record.get(f":{field}", record.get(field))
        return "" if value is None else str(value).strip()

    return Student(name=text("name"), sid=text("sid"), email=text("email"))


def _timestamp(record: dict[str, Any]) -> str:
    value = record.get(":created_at", "")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return "" if value is None else str(value)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _hidden(name: str) -> bool:
    return name.startswith((".", "__MACOSX"))


def _extract_export(archive: Path, destination: Path) -> Path:
    """Unpack an export zip (``zipfile`` keeps every member inside ``destination``)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(destination)
    except (zipfile.BadZipFile, OSError) as error:
        raise ClassroomError(f"cannot read the export {archive}: {error}") from error
    return destination
