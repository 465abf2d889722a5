"""What no pristine grading may change, watched without reading a byte: every path's type and
mode, size, mtime, ctime and inode under each watched root (see :func:`_fingerprint`), compared
before and after a grading. See :mod:`autograder.grading.pristine`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from autograder.grading.pristine_kit import differences

Snapshot = dict[str, dict[str, tuple[int, ...]]]
"""``{watched root: {path: fingerprint}}``, as :meth:`Watch.snapshot` takes it."""


def _fingerprint(root: str, skip: frozenset[str]) -> dict[str, tuple[int, ...]]:
    """``{path: (type and mode, size, mtime, ctime, inode)}`` of everything under ``root``
    (and of ``root``). A process that is not root cannot set a file's ctime, so any write,
    rename, chmod or new entry shows, without reading a byte."""
    found: dict[str, tuple[int, ...]] = {}
    try:
        info = os.lstat(root)
    except OSError:
        return found
    found[root] = (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
    if not stat.S_ISDIR(info.st_mode):
        return found
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.path in skip:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[entry.path] = (
                info.st_mode,
                info.st_size,
                info.st_mtime_ns,
                info.st_ctime_ns,
                info.st_ino,
            )
            if stat.S_ISDIR(info.st_mode):
                pending.append(entry.path)
    return found


class Watch:
    """Paths whose every change is noticed (see :func:`_fingerprint`). A watched path inside
    another, or one of ``skip``, is left out of the walks of those that hold it."""

    def __init__(self, paths: Iterable[Path | str], skip: Iterable[Path | str] = ()) -> None:
        roots: list[str] = []
        for path in paths:
            real = os.path.realpath(path)
            if real not in roots:
                roots.append(real)
        self.roots = roots
        self._skip = frozenset(roots) | {os.path.realpath(p) for p in skip}

    def snapshot(self) -> Snapshot:
        """The fingerprints of everything under each watched root, as it is now."""
        return {root: _fingerprint(root, self._skip - {root}) for root in self.roots}

    @staticmethod
    def changes(before: Snapshot, after: Snapshot) -> list[str]:
        """What changed between two snapshots (see :func:`differences`)."""
        found = []
        for root in before:
            found += differences(before[root], after.get(root, {}))
        return found
