"""A class of innocent and hostile ``conv`` submissions, for grading side by side.

``build_class(folder)`` writes one sub-folder per student (``grade-all``'s plain layout) and
returns the names of the innocent and of the hostile ones. Innocent submissions are correct
alternatives, a buggy one (partial credit) and the untouched stub: their scores must not depend
on what is graded beside them. Hostile ones attack what gradings share: the machine's process
table, its memory, the temporary folders, the class folder, the signals a uid may send.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autograder.authoring.examples import apply_edits, buggy_specs
from autograder.authoring.stubgen import solution_submission_files
from autograder.core.assignments import SOLUTIONS_DIR, TEMPLATE_DIR, assignment_names

REPO = Path(__file__).resolve().parents[2]
ALTERNATIVES = REPO / "assignments" / "conv" / "alternatives"

HOSTILE_TAILS: dict[str, str] = {
    # forks up to its process limit and keeps the processes while classmates are graded
    "holds-the-process-limit": """
import os as _os, time as _time
_right_forward = conv_forward
def conv_forward(*args, **kwargs):
    while True:
        try:
            pid = _os.fork()
        except OSError:
            break
        if pid == 0:
            _time.sleep(60)
            _os._exit(0)
    return _right_forward(*args, **kwargs)
""",
    # signals every process it may signal
    "kills-everything": """
import os as _os, signal as _signal
_right_backward = conv_backward
def conv_backward(*args, **kwargs):
    for number in (_signal.SIGKILL, _signal.SIGTERM, _signal.SIGSTOP):
        try:
            _os.kill(-1, number)
        except OSError:
            pass
    return _right_backward(*args, **kwargs)
""",
    # 3.2 GiB over eight helpers, each under the per-process limit
    "spreads-memory": """
import os as _os, time as _time
_right_forward = conv_forward
def conv_forward(*args, **kwargs):
    for _ in range(8):
        try:
            if _os.fork() == 0:
                hog = bytearray(400 << 20)
                for i in range(0, len(hog), 4096):
                    hog[i] = 1
                _time.sleep(30)
                _os._exit(0)
        except OSError:
            break
    return _right_forward(*args, **kwargs)
""",
    # fills every writable place it can find
    "fills-the-disks": """
import os as _os
def _fill():
    chunk = b"x" * (1 << 20)
    for place in (".", _os.environ.get("TMPDIR", ""), "/tmp", "/var/tmp", "/dev/shm"):
        if not place:
            continue
        for n in range(200):
            try:
                with open(_os.path.join(place, f"fill-{_os.getpid()}-{n}"), "wb") as f:
                    f.write(chunk)
            except OSError:
                break
_right_backward = conv_backward
def conv_backward(*args, **kwargs):
    _fill()
    return _right_backward(*args, **kwargs)
""",
    # forks without end
    "fork-bomb": """
import os as _os
def conv_backward(*args, **kwargs):
    while True:
        try:
            _os.fork()
        except OSError:
            pass
""",
    # returns huge results
    "huge-results": """
def conv_backward(dout, x, w, **kwargs):
    big = np.zeros((60, 1 << 17))
    return big, big.copy(), big.copy()
""",
    # hangs in every call
    "hangs": """
def conv_forward(*args, **kwargs):
    while True:
        pass
""",
}

CLASSMATE_READER = """
import glob as _glob

for _path in sorted(_glob.glob({pattern!r})):
    try:
        exec(open(_path).read(), globals())  # a classmate's solution, if it can be read
        break
    except Exception:
        continue
"""


def build_class(folder: Path) -> tuple[list[str], list[str]]:
    """Write the class under ``folder``; the innocent and the hostile students' names."""
    reference = solution_submission_files(SOLUTIONS_DIR, assignment_names())["conv.py"]
    students: dict[str, str] = {"reference": reference}
    for variant in sorted(p.name for p in ALTERNATIVES.iterdir() if (p / "conv.py").is_file()):
        students[f"alt-{variant}"] = (ALTERNATIVES / variant / "conv.py").read_text()
    spec = next(s for s in buggy_specs() if s["name"] == "conv-flipped-kernel")
    students["buggy-flipped-kernel"] = apply_edits({"conv.py": reference}, spec)["conv.py"]
    students["stub"] = (TEMPLATE_DIR / "conv.py").read_text()
    innocent = sorted(students)
    for name, tail in HOSTILE_TAILS.items():
        students[name] = reference + "\n" + tail
    pattern = str(folder.resolve() / "*" / "conv.py")
    students["reads-classmates"] = students["stub"] + CLASSMATE_READER.format(pattern=pattern)
    hostile = sorted(set(students) - set(innocent))
    for name, source in students.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "conv.py").write_text(source)
    return innocent, hostile


def outcome(results: dict[str, Any]) -> tuple[float, list[tuple[str, float, str]]]:
    """A results file's score and its tests' (name, score, status), comparable exactly."""
    tests = sorted((t["name"], t["score"], t["status"]) for t in results["tests"])
    return results["score"], tests


def class_outcomes(out: Path, names: list[str]) -> dict[str, Any]:
    """What ``grade-all`` wrote for each of ``names`` (``<out>/students/<name>/``)."""
    found = {}
    for name in names:
        payload = json.loads((out / "students" / name / "results.json").read_text())
        found[name] = outcome(payload)
    return found
