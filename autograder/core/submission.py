"""Turn what a student hands in (a folder, a zip, or the single ``<name>.py``) into a folder.

A submission is shaped like ``student_template/``: the student's ``<name>.py`` files at its
top level. A zip may wrap them in one folder (as "compress folder" tools do). Only the files
an assignment names are taken; anything else in a submission is ignored.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest student source file accepted (2 MiB)."""


class SubmissionError(ValueError):
    """A submission that cannot be read: missing, wrong kind of file, unsafe archive."""


def collect_submission(source: Path, files: Iterable[str], destination: Path) -> dict[str, Path]:
    """Copy the named student files of ``source`` into ``destination``.

    Args:
        source: a folder, a ``.zip``, or a single ``.py`` file.
        files: the file names the assignment needs (for example ``("conv.py",)``).
        destination: an empty folder to copy them into.

    Returns:
        ``{file name: copied path}`` for each named file found; missing files are absent.

    Raises:
        SubmissionError: ``source`` does not exist, is not a folder/zip/.py, or is unsafe.
    """
    wanted = list(files)
    destination.mkdir(parents=True, exist_ok=True)
    if not source.exists():
        raise SubmissionError(f"submission not found: {source}")
    if source.is_dir():
        found = _find_in_folder(source, wanted)
        return {name: _copy_regular_file(path, destination / name) for name, path in found.items()}
    if source.suffix == ".zip":
        return _extract_from_zip(source, wanted, destination)
    if source.suffix == ".py":
        if source.name not in wanted:
            raise SubmissionError(
                f"a single-file submission must be named one of {wanted}, got {source.name!r}"
            )
        return {source.name: _copy_regular_file(source, destination / source.name)}
    raise SubmissionError(
        f"cannot read submission {source}: expected a folder, a .zip or a .py file"
    )


def _find_in_folder(folder: Path, wanted: list[str]) -> dict[str, Path]:
    """Files at the folder's top level, or inside its single sub-folder if the top has none."""
    found = {name: folder / name for name in wanted if (folder / name).is_file()}
    if found:
        return found
    subfolders = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    if len(subfolders) == 1:
        return {name: subfolders[0] / name for name in wanted if (subfolders[0] / name).is_file()}
    return {}


def _copy_regular_file(source: Path, target: Path) -> Path:
    info = source.lstat()
    if not stat.S_ISREG(info.st_mode):
        raise SubmissionError(f"{source.name} is not a regular file (links are not accepted)")
    if info.st_size > MAX_FILE_BYTES:
        raise SubmissionError(f"{source.name} is larger than {MAX_FILE_BYTES} bytes")
    shutil.copyfile(source, target)
    return target


def _extract_from_zip(archive: Path, wanted: list[str], destination: Path) -> dict[str, Path]:
    try:
        with zipfile.ZipFile(archive) as zf:
            members = {}
            for info in zf.infolist():
                parts = PurePosixPath(info.filename).parts
                if info.is_dir() or not parts or parts[-1] not in wanted or len(parts) > 2:
                    continue
                if parts[0] in ("__MACOSX",) or parts[0].startswith("."):
                    continue
                depth = len(parts)
                name = parts[-1]
                if name not in members or depth < members[name][0]:
                    members[name] = (depth, info)
            result = {}
            for name, (_, info) in members.items():
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise SubmissionError(f"{name} in the zip is a symbolic link")
                if info.file_size > MAX_FILE_BYTES:
                    raise SubmissionError(f"{name} in the zip is over {MAX_FILE_BYTES} bytes")
                with zf.open(info) as member:  # never trust the header's size
                    data = member.read(MAX_FILE_BYTES + 1)
                if len(data) > MAX_FILE_BYTES:
                    raise SubmissionError(f"{name} in the zip is over {MAX_FILE_BYTES} bytes")
                target = destination / name
                target.write_bytes(data)
                result[name] = target
            return result
    except zipfile.BadZipFile as error:
        raise SubmissionError(f"{archive.name} is not a valid zip file: {error}") from error


def content_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (hex); the seed of a submission's random test inputs."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
