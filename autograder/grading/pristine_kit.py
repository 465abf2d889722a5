"""The kit a pristine grading runs from: where it comes from, its copy, and its state and digest.

A copy holds :data:`KIT_PARTS` without bytecode caches; :func:`tree_state` describes a tree
(every file's SHA-256, every link's target, every folder) and :func:`tree_digest` digests that
description, so a copy is checked to be the same before and after its grading. See
:mod:`autograder.grading.pristine`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KIT_PARTS = ("autograder", "assignments", "solutions", "pyproject.toml")
"""What a pristine copy holds: the package, the suites and configs, the reference solutions, and
the pytest settings the suites run under."""


@dataclass(frozen=True)
class KitSource:
    """Where the kit a grading runs from comes from.

    Attributes:
        root: the checkout (watched whole for changes while grading).
        parts: name in the copy -> where it is now (a folder or a file).
    """

    root: Path
    parts: dict[str, Path]

    @classmethod
    def installed(cls) -> KitSource:
        """The kit this process runs: its package, and the assignments and solutions next to
        it (or under ``AUTOGRADER_HOME``)."""
        import autograder
        from autograder.core import assignments

        root = assignments.REPO_ROOT
        parts = {
            "autograder": Path(autograder.__file__).resolve().parent,
            "assignments": assignments.ASSIGNMENTS_DIR,
            "solutions": assignments.SOLUTIONS_DIR,
        }
        if (root / "pyproject.toml").is_file():
            parts["pyproject.toml"] = root / "pyproject.toml"
        return cls(root, parts)

    @classmethod
    def at(cls, root: Path, names: Iterable[str] = KIT_PARTS) -> KitSource:
        """The kit whose parts ``names`` lie directly in ``root`` (those that exist)."""
        return cls(root, {n: root / n for n in names if (root / n).exists()})

    def copy_into(self, kit: Path) -> None:
        """A copy of every part in ``kit`` (which must not exist), without bytecode caches."""
        kit.mkdir(mode=0o700)
        skip = shutil.ignore_patterns("__pycache__", "*.pyc")
        for name, path in self.parts.items():
            if path.is_dir():
                shutil.copytree(path, kit / name, symlinks=True, ignore=skip)
            else:
                shutil.copy2(path, kit / name)


def tree_state(root: Path) -> dict[str, str]:
    """``{relative path: what it is}`` for everything under ``root``: a file's SHA-256, a
    link's target, a folder; what :func:`tree_digest` digests."""
    state: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in dirs + sorted(files):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                state[relative] = "link " + os.readlink(path)
            elif stat.S_ISDIR(info.st_mode):
                state[relative] = "folder"
            elif stat.S_ISREG(info.st_mode):
                state[relative] = "file " + _file_sha256(path)
            else:
                state[relative] = f"special {stat.S_IFMT(info.st_mode):o}"
    return state


def _file_sha256(path: str) -> str:
    """The SHA-256 of the file at ``path``, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def tree_digest(state: dict[str, str]) -> str:
    """SHA-256 over the relative paths and contents of a :func:`tree_state`."""
    digest = hashlib.sha256()
    for relative in sorted(state):
        digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(state[relative].encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two states: ``changed: x``, ``added: y``, ``removed: z``."""
    found = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            found.append(f"removed: {key}")
        elif key not in before:
            found.append(f"added: {key}")
        elif before[key] != after[key]:
            found.append(f"changed: {key}")
    return found


def remove_tree(path: Path) -> None:
    """Remove ``path`` whatever modes a grading set inside it (a folder made unreadable)."""
    for folder, dirs, _ in os.walk(path):
        for name in dirs:
            try:
                os.chmod(os.path.join(folder, name), 0o700, follow_symlinks=False)
            except (OSError, NotImplementedError):
                pass
    shutil.rmtree(path, ignore_errors=True)
