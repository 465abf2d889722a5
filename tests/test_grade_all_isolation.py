"""``grade-all`` where student code is only partially isolated: refused without
``--allow-partial-isolation``; with it, one submission at a time from a pristine copy of the
kit, checked after each grading.

The grader here is root with namespaces, so partial isolation is forced for the gradings: the
kit they run from is a copy of this checkout with a ``conftest.py`` that makes the grading's
sandbox behave as when the grader is not root (student code runs as the grader's own user, in
no namespace, and can read and write the kit's files and signal its processes). It also
records, per grading, where the grading ran. The hostile submissions find the kit they run
from as a determined student would: from the command lines, environments and working folders
of their ancestors in /proc. They never touch this checkout (they skip it by name), which
other work on this machine uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import pytest

from autograder.authoring.examples import make_examples
from autograder.cli import main
from autograder.core.assignments import REPO_ROOT, load_assignment
from autograder.grading import pristine
from autograder.grading.class_results import UNTRUSTED
from autograder.grading.classroom import discover
from autograder.grading.grade_all import grade_class
from autograder.grading.pristine import KIT_PARTS, KitSource, Watch, tree_state

PARTIAL = "partial: not root, student code runs as the grader's user; no pid namespace"

KIT_CONFTEST = '''\
"""Test only: each grading's sandbox acts as when the grader is not root, and the grading
records where it ran."""

import json
import os
import sys
import time

import autograder.sandbox.isolation as isolation

isolation.running_as_root = lambda: False
RECORDS = {records!r}
STARTED = time.time()


def pytest_sessionfinish(session):
    import autograder
    import autograder.core.assignments as assignments

    cwd = os.getcwd()
    entry = {{
        "start": STARTED,
        "end": time.time(),
        "package": os.path.dirname(os.path.realpath(autograder.__file__)),
        "repo_root": str(assignments.REPO_ROOT),
        "cwd": cwd,
        "sys_path": sys.path,
        "pythonpath": os.environ.get("PYTHONPATH"),
        "home": os.environ.get("AUTOGRADER_HOME"),
        "tmpdir": os.environ.get("TMPDIR"),
        "private_mode": os.stat(os.path.dirname(cwd)).st_mode & 0o777,
        "kit_mode": os.stat(cwd).st_mode & 0o777,
    }}
    with open(os.path.join(RECORDS, f"{{os.getpid()}}.json"), "w") as stream:
        json.dump(entry, stream)
'''

FIND_KITS = '''
import os as _os


def _ancestors():
    pid = _os.getppid()
    while pid > 1:
        yield pid
        with open(f"/proc/{pid}/stat", "rb") as _stream:
            _data = _stream.read()
        pid = int(_data[_data.rfind(b")") + 2 :].split()[1])


def _kits():
    """Folders holding autograder/suite/compare.py, as the ancestors' /proc entries show them."""
    for pid in _ancestors():
        places = []
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as _stream:
                for arg in _stream.read().decode(errors="replace").split("\\0"):
                    if "/assignments/" in arg:
                        places.append(arg.split("=")[-1].split("/assignments/")[0])
        except OSError:
            pass
        try:
            places.append(_os.readlink(f"/proc/{pid}/cwd"))
            with open(f"/proc/{pid}/environ", "rb") as _stream:
                for item in _stream.read().decode(errors="replace").split("\\0"):
                    name, _, value = item.partition("=")
                    if name in ("AUTOGRADER_HOME", "PYTHONPATH"):
                        places += value.split(":")
        except OSError:
            pass
        for place in places:
            if place and _os.path.isfile(_os.path.join(place, "autograder", "suite", "compare.py")):
                yield place
'''

TAMPER = (
    FIND_KITS
    + """

def _tamper(kit):
    with open(_os.path.join(kit, "autograder", "suite", "compare.py"), "a") as _stream:
        _stream.write("\\n\\ndef assert_close(*args, **kwargs):  # every answer is right\\n"
                      "    return None\\n")


for _kit in _kits():  # the kit it runs from, never this checkout
    if not _os.path.samefile(_kit, <<checkout>>):
        _tamper(_kit)
        break
for _kit in <<also>>:  # a checkout found by searching the disk
    _tamper(_kit)
"""
)

DAEMON = """
import os as _os
import signal as _signal
import time as _time


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as _stream:
            return _stream.read().decode(errors="replace")
    except OSError:
        return ""


def _parent(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as _stream:
            _data = _stream.read()
    except OSError:
        return 0
    return int(_data[_data.rfind(b")") + 2 :].split()[1])


def _grading():
    pid = _os.getppid()
    while pid > 1:
        if "--submission=" in _cmdline(pid):
            return pid
        pid = _parent(pid)
    return 0


_marker = _os.path.join(<<records>>, f"daemon-{_grading()}")
if not _os.path.exists(_marker):  # one daemon per grading, however often this is imported
    open(_marker, "w").close()
    _hold_r, _hold_w = _os.pipe()  # the importing process waits on it until the daemon acts
    _first = _os.fork()
    if _first == 0:
        _os.close(_hold_r)
        _os.setsid()
        _middle = _os.getpid()
        if _os.fork():
            _os._exit(0)
        while _os.getppid() == _middle:  # until the middle process is gone and this is adopted
            _time.sleep(0.001)
        with open(_marker, "w") as _stream:
            _stream.write(str(_os.getpid()))
        # Outlive the sandbox: kill its processes above this one, outermost first (the
        # subreapers that would sweep it up), so it is handed up to whatever reaps orphans
        # above them.
        _chain, _pid = [], _os.getppid()
        while "child.py" in _cmdline(_pid):
            _chain.append(_pid)
            _pid = _parent(_pid)
        for _pid in reversed(_chain):
            try:
                _os.kill(_pid, _signal.SIGKILL)
            except OSError:
                pass
        _end = _time.monotonic() + 10
        while "child.py" in _cmdline(_os.getppid()) and _time.monotonic() < _end:
            _time.sleep(0.01)
        _time.sleep(60)
        _os._exit(0)
    _os.close(_hold_w)
    _os.waitpid(_first, 0)
    _os.read(_hold_r, 1)  # until the daemon has killed this process (no sweep can win the race)
"""


def _fill(template: str, **values: object) -> str:
    """``template`` with each ``<<name>>`` replaced by the ``repr`` of ``values[name]``."""
    for name, value in values.items():
        template = template.replace(f"<<{name}>>", repr(value))
    return template


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> dict[str, str]:
    """The batchnorm reference and a buggy submission (a partial score), as source text."""
    made = make_examples(tmp_path_factory.mktemp("examples"))
    folders = {e.name: e.folder for e in made if e.assignment == "batchnorm"}
    return {
        name: (folders[name] / "batchnorm.py").read_text()
        for name in ("reference", "bn-unbiased-variance")
    }


def _make_kit(root: Path) -> tuple[KitSource, Path]:
    """A copy of this checkout's kit whose gradings are partially isolated and record where
    they ran (in the returned folder)."""
    records = root / "records"
    records.mkdir(parents=True)
    source = root / "kit"
    KitSource.installed().copy_into(source)
    (source / "conftest.py").write_text(KIT_CONFTEST.format(records=str(records)))
    return KitSource.at(source, (*KIT_PARTS, "conftest.py")), records


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> tuple[KitSource, Path]:
    return _make_kit(tmp_path_factory.mktemp("partial"))


@pytest.fixture()
def forced_partial(monkeypatch, kit):
    """``grade-all`` probes partial isolation and copies the test kit."""
    monkeypatch.setattr(pristine, "probe_isolation", lambda: PARTIAL)
    monkeypatch.setattr(KitSource, "installed", classmethod(lambda cls: kit[0]))
    return kit


def _class(folder: Path, modules: dict[str, str]) -> Path:
    for key, text in modules.items():
        (folder / key).mkdir(parents=True)
        (folder / key / "batchnorm.py").write_text(text)
    return folder


def _records(folder: Path) -> list[dict]:
    return sorted(
        (json.loads(p.read_text()) for p in folder.glob("*.json")), key=lambda r: r["start"]
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _per_test(result) -> dict[str, float]:
    return {test.name: test.score for test in result.tests}


def _grade(root: Path, modules: dict[str, str], kit: KitSource):
    classroom = discover(_class(root / "class", modules), "batchnorm.py")
    summary = grade_class(
        load_assignment("batchnorm"), classroom.submissions, root / "out", pristine=kit
    )
    return summary, {r.submission.key: r for r in summary.results}


def test_partial_isolation_is_refused_without_the_flag(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pristine, "probe_isolation", lambda: PARTIAL)
    folder, out = _class(tmp_path / "class", {"alice": "def f():\n    pass\n"}), tmp_path / "out"
    assert main(["grade-all", "batchnorm", str(folder), "--out", str(out)]) == 2
    said = capsys.readouterr().err
    assert PARTIAL in said and "--allow-partial-isolation" in said
    assert "as root on Linux" in said and "namespaces" in said  # how to get full isolation
    assert "every power of the user" in said  # what the flag gives up
    assert not out.exists()  # nothing graded, nothing written


def test_the_probe_reports_this_machines_isolation():
    isolation = pristine.probe_isolation()
    assert isolation.startswith(("full", "partial: "))
    assert pristine.is_full("full") and not pristine.is_full(PARTIAL)


def test_one_at_a_time_from_a_private_copy_that_is_what_ran(
    tmp_path, forced_partial, examples, capsys
):
    kit, records = forced_partial
    for old in records.glob("*.json"):
        old.unlink()
    folder = _class(
        tmp_path / "class",
        {"alice": examples["reference"], "bob": examples["bn-unbiased-variance"]},
    )
    out = tmp_path / "out"
    command = ["grade-all", "batchnorm", str(folder), "--out", str(out), "--jobs", "4"]
    assert main([*command, "--allow-partial-isolation"]) == 0
    captured = capsys.readouterr()
    assert "--jobs 4 ignored" in captured.err and "one at a time" in captured.err
    assert "2 graded, 0 up to date, 0 unreadable, 0 grading errors" in captured.out
    rows = {p.parent.name: json.loads(p.read_text()) for p in out.glob("students/*/results.json")}
    assert rows["alice"]["score"] == rows["alice"]["extra_data"]["max_score"] > 0
    assert 0 < rows["bob"]["score"] < rows["alice"]["score"]
    assert rows["alice"]["extra_data"]["isolation"].startswith("partial: not root")

    ran = _records(records)
    assert len(ran) == 2
    assert ran[0]["end"] <= ran[1]["start"]  # one at a time
    for entry in ran:
        copy = Path(entry["cwd"])
        private = copy.parent
        assert copy.name == "kit" and private.name.startswith("autograder-pristine-")
        assert private.parent == Path(tempfile.gettempdir())
        assert entry["package"] == str(copy / "autograder")  # the copy is what ran
        assert entry["repo_root"] == entry["home"] == entry["pythonpath"] == str(copy)
        assert entry["tmpdir"] == str(private / "tmp")
        assert entry["private_mode"] == (0o711 if os.geteuid() == 0 else 0o700)
        assert entry["kit_mode"] == 0o700
        for path in entry["sys_path"]:  # neither this checkout nor the kit copied from
            where = os.path.realpath(os.path.join(entry["cwd"], path))
            assert where not in (str(REPO_ROOT), str(kit.root))
        assert not private.exists()  # deleted after the grading


def test_a_submission_that_changes_its_kit_is_an_error_and_the_next_one_is_unharmed(
    tmp_path, kit, examples
):
    source, _ = kit
    compare = REPO_ROOT / "autograder" / "suite" / "compare.py"
    checkout_before, source_before = _sha256(compare), tree_state(source.root)
    hostile = examples["reference"] + _fill(TAMPER, checkout=str(REPO_ROOT), also=[])
    innocent = examples["bn-unbiased-variance"]

    summary, results = _grade(
        tmp_path / "both", {"a-hostile": hostile, "b-innocent": innocent}, source
    )
    _, alone = _grade(tmp_path / "alone", {"b-innocent": innocent}, source)

    bad = results["a-hostile"]
    assert bad.status == "error" and bad.score == 0 and not bad.tests
    assert bad.message.startswith(UNTRUSTED)
    assert "the kit it ran from was changed" in bad.message
    assert "autograder/suite/compare.py" in bad.message
    assert summary.retried == 1 and not summary.stopped  # graded again: tampered again
    good, solo = results["b-innocent"], alone["b-innocent"]
    assert good.status == solo.status == "graded"
    assert 0 < good.score == solo.score < good.max_score
    assert _per_test(good) == _per_test(solo)
    assert _sha256(compare) == checkout_before  # this checkout, and the kit copied from
    assert tree_state(source.root) == source_before
    stored = json.loads((tmp_path / "both/out/students/a-hostile/results.json").read_text())
    assert stored["score"] == 0 and stored["extra_data"]["status"] == "error"
    assert not stored["tests"]


def test_a_submission_that_changes_the_checkout_stops_the_run(
    tmp_path, monkeypatch, examples, capsys
):
    source, _ = _make_kit(tmp_path / "partial")
    monkeypatch.setattr(pristine, "probe_isolation", lambda: PARTIAL)
    monkeypatch.setattr(KitSource, "installed", classmethod(lambda cls: source))
    hostile = examples["reference"] + _fill(
        TAMPER, checkout=str(REPO_ROOT), also=[str(source.root)]
    )
    folder = _class(tmp_path / "class", {"a-hostile": hostile, "b-innocent": examples["reference"]})
    out = tmp_path / "out"
    command = ["grade-all", "batchnorm", str(folder), "--out", str(out)]
    assert main([*command, "--allow-partial-isolation"]) == 1
    said = capsys.readouterr().err
    assert "grading stopped" in said and "while a-hostile was graded" in said
    assert str(source.root / "autograder" / "suite" / "compare.py") in said
    assert "no gradebook was written" in said and not (out / "gradebook.csv").exists()
    stored = json.loads((out / "students/a-hostile/results.json").read_text())
    assert stored["extra_data"]["status"] == "error" and stored["score"] == 0
    assert not (out / "students/b-innocent").exists()  # nothing graded after it


def test_a_submission_that_leaves_a_daemon_running_is_an_error(tmp_path, kit, examples):
    source, _ = kit
    records = tmp_path / "daemons"
    records.mkdir()
    hostile = examples["reference"] + _fill(DAEMON, records=str(records))
    summary, results = _grade(tmp_path, {"sneaky": hostile}, source)
    result = results["sneaky"]
    assert result.status == "error" and result.score == 0 and not result.tests
    assert "processes it started were left after it (killed)" in result.message
    daemons = [int(p.read_text()) for p in records.glob("daemon-*")]
    assert len(daemons) == 2 and summary.retried == 1  # one per grading
    for pid in daemons:
        assert pid > 0 and not Path(f"/proc/{pid}").exists()  # killed and reaped
    assert not summary.stopped


def test_the_watch_sees_a_rewrite_that_keeps_size_and_mtime(tmp_path):
    target = tmp_path / "compare.py"
    target.write_text("x = 1\n")
    info = target.stat()
    watch = Watch([tmp_path])
    before = watch.snapshot()
    time.sleep(0.01)
    target.write_text("x = 2\n")
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert Watch.changes(before, watch.snapshot()) == [f"changed: {target}"]
    (tmp_path / "new.pth").write_text("import evil\n")
    assert f"added: {tmp_path / 'new.pth'}" in Watch.changes(before, watch.snapshot())
