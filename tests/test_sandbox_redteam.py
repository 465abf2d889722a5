"""Attacks on the grader through the sandbox (see FACTS.md, "How Python graders get cheated").

Every attack must end in a ``CallFailed`` or a harmless value: never a crash or hang of the
grader. Attacks that only full isolation stops (reading the reference, the network, ...) are
asserted when ``box.isolation == "full"`` and skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import pytest

from autograder.core.assignments import REPO_ROOT
from autograder.sandbox import CallFailed, GradingError, Limits, Sandbox, wire
from autograder.sandbox import isolation as iso
from autograder.sandbox.runner import BatchFailed

ROOT = os.geteuid() == 0

ATTACKS = r"""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import signal
import socket
import struct
import sys
import time

import numpy as np


def add(a, b=1):
    return a + b


def infinite_loop():
    while True:
        pass


def sleep_forever():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.alarm(0)
    while True:
        try:
            time.sleep(1000)
        except BaseException:
            pass


def hard_exit():
    os._exit(0)


def sys_exit():
    sys.exit(0)


def base_exception():
    class Escape(BaseException):
        pass
    raise Escape("caught you")


def segfault():
    ctypes.string_at(0)


def recurse():
    return recurse()


def whoami():
    return os.getuid()


def fill_scratch():
    chunk = b"x" * (1 << 20)
    for number in range(10_000):
        with open(f"fill-{number}", "wb") as handle:
            for _ in range(4):
                handle.write(chunk)
    return "never full"


def fork_bomb():
    while True:
        try:
            os.fork()
        except OSError:
            pass


def daemon(marker):
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            os.close(w)
            os.execv("/bin/sleep", ["sleep", marker])
        os._exit(0)
    os.close(w)
    pid = int(os.read(r, 100))
    os.wait()
    return pid


def is_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def memory_hog():
    blocks = []
    while True:
        blocks.append(np.empty(1 << 26))  # 512 MiB of address space each


def big_file():
    chunk = b"\0" * (1 << 20)
    with open("big.bin", "wb") as handle:
        for _ in range(1024):
            handle.write(chunk)
    return os.path.getsize("big.bin")


def write_outside(path):
    with open(path, "w") as handle:
        handle.write("pwned")
    return "written"


def read_path(path):
    if os.path.isdir(path):
        return sorted(os.listdir(path))
    with open(path, "rb") as handle:
        return handle.read(200).decode("latin-1")


def connect(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(b"stolen")
    return "connected"


def environ_search(needle):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/environ", "rb") as handle:
                    if needle.encode() in handle.read():
                        found.append(pid)
            except OSError:
                continue
    return found


def kill_everything():
    try:
        os.kill(os.getppid(), signal.SIGKILL)
    except OSError:
        pass
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    return "still here"


class Sneaky(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def __eq__(self, other):
        return True


def sneaky_array(x):
    return np.zeros_like(x).view(Sneaky)


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = None


def always_equal():
    return AlwaysEqual()


class Duck:
    def __array_function__(self, *args, **kwargs):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.zeros(3)


def duck():
    return [1, {"w": Duck()}]


def object_array():
    return np.array([AlwaysEqual(), 1], dtype=object)


def float_subclass():
    class F(float):
        def __eq__(self, other):
            return True
    return F(1.0)


def too_big():
    return np.zeros(1 << 20)


def monkeypatch_numpy(x):
    np.allclose = lambda *a, **k: True
    np.array_equal = lambda *a, **k: True
    np.testing.assert_allclose = lambda *a, **k: None
    return x * 0


def _result_fd():
    import fcntl
    import stat
    for fd in range(3, 64):
        try:
            mode = os.fstat(fd).st_mode
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if stat.S_ISFIFO(mode) and flags & os.O_ACCMODE == os.O_WRONLY:
            return fd
    raise RuntimeError("no result pipe")


def _frame(header, blobs):
    text = json.dumps(header).encode()
    body = struct.pack("<I", len(text)) + text + struct.pack("<I", len(blobs))
    for blob in blobs:
        body += struct.pack("<Q", len(blob)) + blob
    return b"AGS1" + struct.pack("<Q", len(body)) + body


def _seq():
    frame = sys._getframe(1)
    while frame is not None and "seq" not in frame.f_locals:
        frame = frame.f_back
    return frame.f_locals["seq"]


def forge(kind):
    fd = _result_fd()
    seq = _seq()
    if kind == "garbage":
        data = b"HTTP/1.1 200 OK\r\n\r\n" * 10
    elif kind == "huge_length":
        data = b"AGS1" + struct.pack("<Q", 10**15)
    else:
        data = _frame({"event": "result", "seq": seq, "value": {"A": 0}}, [FORGED[kind]])
    os.write(fd, data)
    os._exit(0)


def fake_stdout():
    sys.stdout.write(json.dumps({"event": "result", "value": 42, "score": 100}) + "\n")
    sys.stdout.flush()
    os.write(1, _frame({"event": "result", "seq": _seq(), "value": 42}, []))
    return -1


def flood():
    while True:
        os.write(1, b"x" * 65536)


def multi_flood():
    for _ in range(3):
        os.fork()  # 8 writers
    while True:
        os.write(1, b"y" * 65536)


def frame_flood():
    fd = _result_fd()
    noise = _frame({"event": "noise", "seq": -1}, [])
    os.fork()
    os.fork()
    while True:
        os.write(fd, noise * 100)


def close_pipes():
    os.closerange(3, 256)
    return 1
"""


def _npy(header: str, payload: bytes) -> bytes:
    text = (header + "\n").encode()
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + payload


FORGED_NPY = {
    "huge_shape": _npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }", b"\0" * 8
    ),
    "object_pickle": _npy(
        "{'descr': '|O', 'fortran_order': False, 'shape': (), }",
        b"\x80\x04\x95\x00cos\nsystem\n(S'true'\ntR.",
    ),
    "extra_key": _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", b"\0" * 8),
    "shape_mismatch": _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", b"\0" * 8),
}


def attack_source() -> str:
    return ATTACKS + f"\nFORGED = {FORGED_NPY!r}\n"


def make(folder, source):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conv.py").write_text(textwrap.dedent(source))
    return folder


@pytest.fixture(scope="module")
def shared_box(tmp_path_factory):
    folder = make(tmp_path_factory.mktemp("redteam") / "sub", attack_source())
    limits = Limits(call_timeout=1.0, import_timeout=5.0, result_bytes=1 << 20)
    with Sandbox(folder, ("conv.py",), "conv", limits) as sandbox:
        yield sandbox


@pytest.fixture
def box(shared_box):
    shared_box.reset()  # as the pytest plugin does before each test
    return shared_box


def needs_full(box):
    if iso.confinement(box.isolation) != "full":
        pytest.skip(f"needs full isolation; here: {box.isolation}")


def fails(box, function, *args, kinds=None, **kwargs):
    with pytest.raises(CallFailed) as info:
        box.call(function, args, kwargs)
    if kinds is not None:
        assert info.value.kind in kinds, info.value
    return info.value


def still_works(box):
    assert box.call("add", (41,)) == 42


# ---------------------------------------------------------------- hangs, exits, crashes


def test_infinite_loop_times_out(box):
    start = time.perf_counter()
    failure = fails(box, "infinite_loop", kinds={"timeout"})
    assert failure.message == "infinite_loop did not finish within 1 s"
    assert time.perf_counter() - start < 4
    still_works(box)


def test_sleeping_forever_while_ignoring_signals_times_out(box):
    fails(box, "sleep_forever", kinds={"timeout"})
    still_works(box)


def test_os_exit_in_the_function(box):
    failure = fails(box, "hard_exit", kinds={"crashed"})
    assert "without returning" in failure.message
    still_works(box)


def test_sys_exit_and_base_exceptions_are_reported(box):
    assert "sys_exit raised SystemExit" in fails(box, "sys_exit", kinds={"exception"}).message
    failure = fails(box, "base_exception", kinds={"exception"})
    assert "Escape: caught you" in failure.message
    still_works(box)


def test_segfault_and_recursion(box):
    failure = fails(box, "segfault", kinds={"crashed"})
    assert "signal 11" in failure.message
    assert "RecursionError" in fails(box, "recurse", kinds={"exception"}).message
    still_works(box)


def test_killing_the_parent_and_everything(box):
    try:
        box.call("kill_everything")
    except CallFailed as failure:
        assert failure.kind in {"crashed", "timeout"}
    still_works(box)
    box.reset()
    still_works(box)


def test_crash_after_calls_in_the_same_worker(box):
    still_works(box)
    still_works(box)
    fails(box, "segfault", kinds={"crashed"})
    still_works(box)
    fails(box, "hard_exit", kinds={"crashed"})
    fails(box, "infinite_loop", kinds={"timeout"})
    still_works(box)


@pytest.mark.skipif(not ROOT, reason="kill(-1) as the grader's own uid would end the grader")
def test_killing_everything_without_namespaces_restarts_the_server(tmp_path):
    folder = make(tmp_path / "sub", attack_source())
    with Sandbox(folder, ("conv.py",), "conv", Limits(call_timeout=2), namespaces=False) as box:
        try:
            box.call("kill_everything")
        except CallFailed as failure:
            assert failure.kind == "crashed"
        still_works(box)


def test_closing_the_result_pipe(box):
    fails(box, "close_pipes", kinds={"crashed"})
    still_works(box)


def test_output_flood_is_capped(box):
    fails(box, "flood", kinds={"timeout"})
    assert len(box.last_output) < box.limits.output_bytes + 200
    still_works(box)


def test_floods_from_many_processes_cannot_stall_the_grader(box):
    start = time.perf_counter()
    fails(box, "multi_flood", kinds={"timeout"})
    fails(box, "frame_flood", kinds={"bad_result", "timeout"})
    assert time.perf_counter() - start < 8
    still_works(box)


def test_os_exit_at_import_costs_one_failure(tmp_path):
    folder = make(tmp_path / "sub", "import os\nos._exit(0)\n")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        first = fails(sandbox, "f", kinds={"import_error"})
        assert "importing conv.py ended the process" in first.message
        start = time.perf_counter()
        assert fails(sandbox, "g", kinds={"import_error"}).message == first.message
        assert time.perf_counter() - start < 0.05


def test_hang_at_import_costs_one_timeout(tmp_path):
    folder = make(tmp_path / "sub", "while True:\n    pass\n")
    with Sandbox(folder, ("conv.py",), "conv", Limits(import_timeout=1.0)) as sandbox:
        start = time.perf_counter()
        first = fails(sandbox, "f", kinds={"import_error"})
        assert first.message == "importing conv.py did not finish within 1 s"
        assert fails(sandbox, "f", kinds={"import_error"}).message == first.message
        assert time.perf_counter() - start < 4


def test_import_time_sys_exit(tmp_path):
    folder = make(tmp_path / "sub", "import sys\nsys.exit(0)\n")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        assert "SystemExit" in fails(sandbox, "f", kinds={"import_error"}).message


# ---------------------------------------------------------------- processes


def _host_processes_with(marker: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        found.append(int(name))
            except OSError:
                continue
    return found


def _marker() -> str:
    return f"{900 + uuid.uuid4().int % 99}.{uuid.uuid4().int % 10**6:06d}"


def _wait_for(marker: str) -> list[int]:
    deadline = time.monotonic() + 3
    while not (found := _host_processes_with(f"sleep\0{marker}")) and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
def test_double_forked_daemon_is_gone_after_reset(tmp_path, namespaces):
    folder = make(tmp_path / "sub", attack_source())
    marker = _marker()
    with Sandbox(folder, ("conv.py",), "conv", namespaces=namespaces) as sandbox:
        pid = sandbox.call("daemon", (marker,))
        assert _wait_for(marker), "the daemon runs until the worker is reset"
        assert sandbox.call("is_alive", (pid,)) is True
        sandbox.reset()
        assert _host_processes_with(f"sleep\0{marker}") == []
        assert sandbox.call("is_alive", (pid,)) is False


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
def test_double_forked_daemon_is_gone_after_close(tmp_path, namespaces):
    folder = make(tmp_path / "sub", attack_source())
    marker = _marker()
    with Sandbox(folder, ("conv.py",), "conv", namespaces=namespaces) as sandbox:
        sandbox.call("daemon", (marker,))
        assert _wait_for(marker)
    assert _host_processes_with(f"sleep\0{marker}") == []


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
def test_double_forked_daemon_is_gone_after_a_crash(tmp_path, namespaces):
    folder = make(tmp_path / "sub", attack_source())
    marker = _marker()
    with Sandbox(folder, ("conv.py",), "conv", namespaces=namespaces) as sandbox:
        sandbox.call("daemon", (marker,))
        assert _wait_for(marker)
        fails(sandbox, "hard_exit", kinds={"crashed"})
        assert _host_processes_with(f"sleep\0{marker}") == []
        still_works(sandbox)


def _uid_processes(uid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    found.append(int(name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not ROOT, reason="RLIMIT_NPROC holds only for a dropped, non-root uid")
@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
def test_fork_bomb_is_contained_and_swept(tmp_path, namespaces):
    folder = make(tmp_path / "sub", attack_source())
    limits = Limits(call_timeout=1.0, max_processes=32)
    with Sandbox(folder, ("conv.py",), "conv", limits, namespaces=namespaces) as sandbox:
        uid = sandbox.uid
        fails(sandbox, "fork_bomb", kinds={"timeout", "crashed", "bad_result", "exception"})
        still_works(sandbox)
    # the uid was this sandbox's alone: none of its processes may remain once it is closed
    # (counted while holding its slot, so a sandbox of another grading cannot be counted)
    assert iso.idle_pool_processes().get(uid, 0) == 0


# ---------------------------------------------------------------- one uid per sandbox


@pytest.mark.skipif(not ROOT, reason="the uid pool is used only when the grader is root")
def test_two_sandboxes_at_once_run_as_different_uids(tmp_path):
    folder = make(tmp_path / "sub", attack_source())
    with Sandbox(folder, ("conv.py",), "conv") as one, Sandbox(folder, ("conv.py",), "conv") as two:
        uids = one.call("whoami"), two.call("whoami")
        assert uids == (one.uid, two.uid)
        assert uids[0] != uids[1] and 0 not in uids
        slots = one._lease.slot, two._lease.slot
        assert not any(iso.slot_is_free(slot) for slot in slots)
    assert all(iso.slot_is_free(slot) for slot in slots)  # released on close


LEASE_HOLDER = """
import sys, time
from autograder.sandbox import Sandbox
with Sandbox({folder!r}, ("conv.py",), "conv") as box:
    print(box.call("whoami"), box._lease.slot, flush=True)
    time.sleep(60)
"""


@pytest.mark.skipif(not ROOT, reason="the uid pool is used only when the grader is root")
def test_a_killed_grading_process_releases_its_uid_and_leaves_no_process(tmp_path):
    folder = make(tmp_path / "sub", attack_source())
    holder = subprocess.Popen(
        [sys.executable, "-c", LEASE_HOLDER.format(folder=str(folder))],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(REPO_ROOT),
    )
    try:
        uid, slot = (int(word) for word in holder.stdout.readline().split())
        assert not iso.slot_is_free(slot)
        holder.kill()  # SIGKILL: no close(), no finally
        holder.wait(timeout=10)
    finally:
        holder.kill()
        holder.stdout.close()
    assert iso.slot_is_free(slot)  # the kernel dropped the flock with the process
    deadline = time.monotonic() + 5  # its child saw the grader go and killed the student's
    while iso.idle_pool_processes().get(uid, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert iso.idle_pool_processes().get(uid, 0) == 0
    with Sandbox(folder, ("conv.py",), "conv") as box:  # the slot is usable again
        assert box.call("add", (1,)) == 2


def test_when_every_uid_is_leased_a_sandbox_waits_then_it_is_a_grading_error(tmp_path, monkeypatch):
    monkeypatch.setattr(iso, "LOCK_DIRS", (str(tmp_path / "locks"),))
    monkeypatch.setattr(iso, "POOL_SIZE", 1)
    monkeypatch.setattr(iso, "running_as_root", lambda: True)
    monkeypatch.setattr(iso, "student_account", lambda slot=0: iso.Account(1, 1, "x", False))
    held = iso.lease_account()
    started = time.monotonic()
    with pytest.raises(iso.PoolExhausted, match="all 1 student uids of the pool stayed in use"):
        iso.lease_account(timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 3
    held.release()
    iso.lease_account(timeout=0.3).release()


# ---------------------------------------------------------------- whole-sandbox bounds


def test_a_cgroup_is_made_per_sandbox_in_a_fake_tree(tmp_path, monkeypatch):
    """The cgroup v2 path, on a fake tree (this kit's CI has no delegated cgroup v2 memory
    controller): the files written, and the group removed at the end."""
    from autograder.sandbox import cgroups

    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma\n")
    (root / "cgroup.subtree_control").write_text("cpu\n")
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", str(root))
    monkeypatch.setattr(cgroups, "_base", None)
    monkeypatch.setattr(cgroups, "_base_problem", None)
    monkeypatch.setattr(cgroups, "_rmdir", shutil.rmtree)
    group, problem = cgroups.create("slot-3", 2 << 30, 72)
    assert problem == "" and group is not None
    assert (root / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (root / "autograder" / "cgroup.subtree_control").read_text() == "+memory +pids"
    folder = root / "autograder" / "slot-3"
    assert (folder / "memory.max").read_text() == str(2 << 30) + "\n"
    assert (folder / "pids.max").read_text() == "72\n"
    group.add(4242)
    assert (folder / "cgroup.procs").read_text() == "4242\n"
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.oom_kills() == 1
    stale, _ = cgroups.create("slot-3", 1 << 30, 10)  # a stale group of the slot is replaced
    assert (folder / "memory.max").read_text() == str(1 << 30) + "\n"
    assert not (folder / "cgroup.procs").exists()
    stale.remove()
    assert not folder.exists()


def test_without_cgroup_v2_controllers_a_cgroup_v1_pair_is_made_in_a_fake_tree(
    tmp_path, monkeypatch
):
    from autograder.sandbox import cgroups

    root = tmp_path / "cgroup"
    for controller in ("memory", "pids"):
        (root / controller).mkdir(parents=True)
        (root / controller / "cgroup.procs").write_text("")
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", str(root))
    monkeypatch.setattr(cgroups, "_base", None)
    monkeypatch.setattr(cgroups, "_base_problem", None)
    monkeypatch.setattr(cgroups, "_rmdir", shutil.rmtree)
    group, problem = cgroups.create("slot-5", 2 << 30, 72)
    assert problem == "" and isinstance(group, cgroups.CgroupV1)
    memory, pids = (
        root / "memory" / "autograder" / "slot-5",
        root / "pids" / "autograder" / "slot-5",
    )
    assert (memory / "memory.limit_in_bytes").read_text() == f"{2 << 30}\n"
    assert (pids / "pids.max").read_text() == "72\n"
    group.add(4242)
    assert (memory / "cgroup.procs").read_text() == (pids / "cgroup.procs").read_text() == "4242\n"
    assert group.limit_name == "cgroup v1 memory.limit_in_bytes"
    for folder in (memory, pids):  # a fake tree: nothing to kill (4242 is not ours)
        (folder / "cgroup.procs").write_text("")
    group.remove()
    assert not memory.exists() and not pids.exists()


def test_without_the_memory_and_pids_controllers_the_report_says_so(tmp_path, monkeypatch):
    from autograder.sandbox import cgroups

    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu io hugetlb\n")
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", str(root))
    monkeypatch.setattr(cgroups, "_base", None)
    monkeypatch.setattr(cgroups, "_base_problem", None)
    assert cgroups.create("slot-0", 1 << 30, 10) == (
        None,
        "no cgroup v2 memory and pids controller; "
        "no writable cgroup v1 memory and pids hierarchies either",
    )
    report = {"namespaces": ["mount", "net", "pid"], "mounts_ok": True, "uid": 995}
    report["allow_list"] = True
    report["scratch_bounded"] = True
    account = iso.Account(995, 994, "autograder-student-0", True)
    text = iso.describe(
        report, root=True, account=account, bounds="no cgroup v2 memory and pids controller"
    )
    assert text == "partial: no cgroup v2 memory and pids controller (per-process limits only)"
    assert iso.confinement(text) == "full"
    assert iso.describe(report, root=True, account=account) == "full"


@pytest.mark.skipif(not ROOT, reason="the scratch tmpfs needs a mount namespace (root)")
def test_filling_the_scratch_folder_fails_that_call_and_spares_the_graders_tmp(tmp_path):
    folder = make(tmp_path / "sub", attack_source())
    limits = Limits(scratch_bytes=8 << 20)
    with Sandbox(folder, ("conv.py",), "conv", limits) as sandbox:
        if "mount" not in sandbox._setup.get("namespaces", []):
            pytest.skip(f"no mount namespace: {sandbox.isolation}")
        assert "scratch" not in sandbox.isolation
        failure = fails(sandbox, "fill_scratch", kinds={"exception"})
        assert "No space left on device" in failure.message, failure.message
        assert "the scratch folder, the only writable place, holds at most 8 MiB" in str(failure)
        still_works(sandbox)
        # what it wrote went to its own tmpfs: the folder on the grader's disk stays empty
        assert os.listdir(sandbox._base / "work") == []


def test_without_a_mount_namespace_the_unbounded_scratch_folder_is_reported(tmp_path):
    folder = make(tmp_path / "sub", attack_source())
    with Sandbox(folder, ("conv.py",), "conv", namespaces=False) as sandbox:
        assert "scratch folder not size-bounded (on the grader's disk)" in sandbox.isolation


# ---------------------------------------------------------------- resources


def test_memory_hog_hits_the_address_space_limit(box):
    failure = fails(box, "memory_hog", kinds={"exception", "crashed"})
    assert "MemoryError" in failure.message or "memory" in failure.message
    still_works(box)


def test_big_file_hits_the_file_size_limit(box):
    failure = fails(box, "big_file", kinds={"exception", "crashed"})
    assert "File too large" in failure.message or "No space" in failure.message
    still_works(box)


def test_oversized_result_is_refused(box):
    failure = fails(box, "too_big", kinds={"bad_result"})
    assert "larger than" in failure.message


# ---------------------------------------------------------------- what student code can reach


@pytest.mark.parametrize(
    "path",
    [
        str(REPO_ROOT / "solutions" / "conv.py"),
        str(REPO_ROOT / "assignments" / "conv" / "hidden"),
        str(REPO_ROOT / "autograder" / "sandbox" / "runner.py"),
    ],
)
def test_grader_files_are_hidden(box, path):
    if not os.path.exists(path):
        pytest.skip(f"{path} is not in this checkout")
    needs_full(box)
    fails(box, "read_path", path, kinds={"exception"})


def test_results_folder_is_hidden(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "results.json").write_text('{"score": 0}')
    folder = make(tmp_path / "sub", attack_source())
    with Sandbox(folder, ("conv.py",), "conv", hide=(results,)) as sandbox:
        needs_full(sandbox)
        fails(sandbox, "read_path", str(results / "results.json"), kinds={"exception"})


def test_hide_works_inside_folders_bound_back_for_student_code(tmp_path):
    pytest_dir = os.path.dirname(pytest.__file__)
    folder = make(tmp_path / "sub", attack_source())
    with Sandbox(folder, ("conv.py",), "conv", hide=(pytest_dir,)) as sandbox:
        needs_full(sandbox)
        try:
            assert sandbox.call("read_path", (pytest_dir,)) == []
        except CallFailed as failure:
            assert failure.kind == "exception"
        assert isinstance(sandbox.call("read_path", (np.__file__,)), str)  # numpy still there


def test_no_writes_outside_the_scratch_folder(box, tmp_path):
    needs_full(box)
    for path in ("/tmp/pwned", "/var/tmp/pwned", "/dev/shm/pwned", str(REPO_ROOT / "pwned")):
        fails(box, "write_outside", path, kinds={"exception"})
        assert not os.path.exists(path)


def test_no_network(box):
    needs_full(box)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    try:
        fails(box, "connect", server.getsockname()[1], kinds={"exception"})
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()


@pytest.mark.skipif(not ROOT, reason="without a uid drop, student code shares the grader's uid")
def test_grader_environment_is_not_readable(box):
    with open("/proc/self/environ", "rb") as handle:
        entries = [e.decode(errors="replace") for e in handle.read().split(b"\0") if e]
    ours = [e for e in entries if "=" in e and len(e.split("=", 1)[1]) >= 6]
    ours = [e for e in ours if not e.startswith(("PATH=", "HOME=", "LANG=", "LC_ALL=", "TMPDIR="))]
    if not ours:
        pytest.skip("the grader's environment has nothing distinctive")
    assert box.call("environ_search", (ours[0],)) == []


# ---------------------------------------------------------------- results that lie


@pytest.mark.parametrize(
    ("function", "words"),
    [
        ("always_equal", "AlwaysEqual"),
        ("duck", "Duck"),
        ("object_array", "dtype object"),
        ("float_subclass", "F'"),
    ],
)
def test_objects_that_are_not_data_are_refused(box, function, words):
    failure = fails(box, function, kinds={"bad_result"})
    assert words in failure.message
    assert "return numpy arrays, tuples, lists, dicts or numbers" in failure.message


def test_ndarray_subclass_is_refused(box):
    failure = fails(box, "sneaky_array", np.ones(3), kinds={"bad_result"})
    assert failure.message == (
        "sneaky_array returned a <class 'conv.Sneaky'>; "
        "return numpy arrays, tuples, lists, dicts or numbers"
    )


@pytest.mark.parametrize("kind", sorted(FORGED_NPY))
def test_forged_npy_on_the_result_pipe(box, kind):
    failure = fails(box, "forge", kind, kinds={"bad_result"})
    assert "unusable value" in failure.message
    still_works(box)


@pytest.mark.parametrize("kind", ["garbage", "huge_length"])
def test_garbage_on_the_result_pipe(box, kind):
    failure = fails(box, "forge", kind, kinds={"bad_result"})
    assert "could not read" in failure.message
    still_works(box)


def test_fake_results_on_stdout_are_only_output(box):
    assert box.call("fake_stdout") == -1
    assert '"score": 100' in box.last_output


def test_monkeypatching_numpy_in_the_child_does_not_reach_the_grader(box):
    x = np.arange(1.0, 4.0)
    got = box.call("monkeypatch_numpy", (x,))
    assert type(got) is np.ndarray
    assert not np.allclose(got, x)
    assert not np.array_equal(got, x)


def test_grader_wire_module_is_untouched(box):
    box.call("monkeypatch_numpy", (np.ones(2),))
    tree, blobs = wire.encode(np.ones(2))
    assert np.array_equal(wire.decode(tree, blobs), np.ones(2))


# ---------------------------------------------------------------- verdicts the child cannot forge

REBINDS_THE_WORKER = """
import sys

_worker_module = sys.modules["_autograder_untrusted_worker"]  # the sandbox's own worker program
_worker_module._label_arguments = lambda *args, **kwargs: []  # blinds the worker's own check


def doubles_in_place(x, w=None):
    x *= 2
    return float(x.sum())


def restores_what_it_changed(x):
    x *= 2
    total = float(x.sum())
    x /= 2
    return total


def keeps_a_reference(x):
    global _kept
    _kept = x
    return float(x.sum())
"""


def test_an_input_changed_in_place_is_seen_by_the_grader_when_the_worker_is_blinded(tmp_path):
    """The worker's own check is rebound away at import; the grader reads the memory the call
    got and fails it anyway, naming the argument."""
    folder = make(tmp_path / "sub", REBINDS_THE_WORKER)
    with Sandbox(folder, ("conv.py",), "conv") as box:
        failure = fails(box, "doubles_in_place", np.ones(3), kinds={"modified_input"})
        assert "argument 0" in failure.message
        failure = fails(box, "doubles_in_place", np.ones(3), w=np.ones(2), kinds={"modified_input"})
        with pytest.raises(BatchFailed) as info:
            box.call_many("doubles_in_place", [((np.ones(3),), {}), ((np.ones(3),), {})])
        assert info.value.kind == "modified_input" and info.value.index == 0
        assert box.call("restores_what_it_changed", (np.ones(3),)) == 6.0  # unchanged: fine


def test_in_a_batch_the_call_that_changed_its_input_is_the_one_that_fails(tmp_path):
    folder = make(tmp_path / "sub", REBINDS_THE_WORKER)
    shared = np.ones(3)
    with Sandbox(folder, ("conv.py",), "conv") as box:
        calls = [((shared,), {}), ((shared * 2,), {}), ((shared,), {})]
        assert box.call_many("restores_what_it_changed", calls) == [6.0, 12.0, 6.0]
        with pytest.raises(BatchFailed) as info:
            box.call_many("doubles_in_place", [((shared,), {})] * 3)
        assert info.value.kind == "modified_input" and info.value.index == 0
        assert info.value.results == []
        assert shared.tolist() == [1.0, 1.0, 1.0]  # the grader's own arrays are never touched


def test_an_input_a_module_keeps_keeps_its_values_through_later_calls(tmp_path):
    """Arguments are views of the memory the grader wrote; later calls' arguments go elsewhere,
    so a module that keeps an input (a cache, as students write them) still sees its values."""
    folder = make(tmp_path / "sub", REBINDS_THE_WORKER + KEEPS)
    with Sandbox(folder, ("conv.py",), "conv") as box:
        assert box.call("keeps_a_reference", (np.arange(4.0),)) == 6.0
        for _ in range(20):
            box.call_many("restores_what_it_changed", [((np.full(64, 9.0),), {})] * 8)
        assert box.call("kept_sum", ()) == 6.0


KEEPS = """

def kept_sum():
    return float(_kept.sum())
"""


# ---------------------------------------------------------------- the allow-list


LOOKS_AROUND = """
import os


def listing(path):
    return sorted(os.listdir(path))


def read(path):
    with open(path) as handle:
        return handle.read()
"""


def test_a_classmates_file_and_other_sandboxes_are_not_there(tmp_path):
    """Only what the sandbox needs exists inside it: not the class folder (a classmate's
    solution beside the submission), not another sandbox running at the same time, not the
    grader's temporary folder, not the kit."""
    classroom = tmp_path / "class"
    make(classroom / "alice", "def conv_forward():\n    return 'ALICE-SOLUTION'\n")
    bob = make(classroom / "bob", LOOKS_AROUND)
    other = make(tmp_path / "carol", LOOKS_AROUND)
    import autograder

    with Sandbox(bob, ("conv.py",), "conv") as box, Sandbox(other, ("conv.py",), "conv") as two:
        needs_full(box)
        two.call("listing", ("/",))  # running
        fails(box, "read", str(classroom / "alice" / "conv.py"), kinds={"exception"})
        fails(box, "listing", str(classroom), kinds={"exception"})
        fails(box, "listing", os.path.dirname(autograder.__file__), kinds={"exception"})
        assert two._base is not None and box._base is not None
        scratch_parent = str(box._base.parent)
        mine = box.call("listing", (scratch_parent,))
        interpreter = {  # the folders holding the interpreter, where they sit there too
            os.path.relpath(os.path.realpath(p), scratch_parent).split(os.sep)[0]
            for p in (sys.prefix, sys.base_prefix, os.path.dirname(np.__file__))
            if os.path.realpath(p).startswith(scratch_parent + os.sep)
        }
        assert set(mine) == {box._base.name} | interpreter, mine  # not the other sandbox's
        system = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "usr"}
        tops = {p.strip("/").split("/")[0] for p in (str(box._base), sys.prefix, sys.base_prefix)}
        assert set(box.call("listing", ("/",))) <= system | tops | {"tmp", "var"}


# ---------------------------------------------------------------- bounds of the whole sandbox

SPREADS_MEMORY = """
import os
import time


def spread(helpers, mib):
    # helpers that each touch mib MiB and report it; once every one has either reported or
    # been killed: how many are alive, how many were killed
    done_r, done_w = os.pipe()
    os.set_blocking(done_r, False)
    pids = []
    for _ in range(helpers):
        pid = os.fork()
        if pid == 0:
            hog = bytearray(mib << 20)
            for i in range(0, len(hog), 4096):
                hog[i] = 1
            os.write(done_w, b"x")
            time.sleep(60)
            os._exit(0)
        pids.append(pid)
    os.close(done_w)
    reported, killed = 0, 0
    deadline = time.monotonic() + 25
    while reported + killed < helpers and time.monotonic() < deadline:
        for pid in list(pids):
            ended, status = os.waitpid(pid, os.WNOHANG)
            if ended:
                pids.remove(pid)
                killed += os.WIFSIGNALED(status)
        try:
            reported += len(os.read(done_r, 64))
        except BlockingIOError:
            time.sleep(0.05)
    alive = [pid for pid in pids if os.waitpid(pid, os.WNOHANG)[0] == 0]
    return len(alive), helpers - len(alive)


def returns(mib):
    import numpy as np
    return np.zeros(mib << 17)
"""


def test_memory_spread_over_helper_processes_is_bounded_for_the_whole_sandbox(tmp_path):
    """Eight helpers of 400 MiB each stay under the per-process limit (2 GiB) but hold 3.2 GiB
    together: the sandbox's cgroup (v2, else v1) keeps them all under 2 GiB."""
    folder = make(tmp_path / "sub", SPREADS_MEMORY)
    with Sandbox(folder, ("conv.py",), "conv", Limits(call_timeout=30)) as box:
        if box._cgroup is None:
            pytest.skip(f"no cgroup bounds the sandbox here: {box.isolation}")
        alive, killed = box.call("spread", (8, 400))
        assert alive * 400 < 2048 and killed, (alive, killed)  # all of them under 2 GiB


def test_results_past_the_gradings_budget_fail_at_once(tmp_path):
    folder = make(tmp_path / "sub", SPREADS_MEMORY)
    limits = Limits(result_bytes=8 << 20, grading_result_bytes=20 << 20)
    with Sandbox(folder, ("conv.py",), "conv", limits) as box:
        assert box.call("returns", (7,)).nbytes == 7 << 20
        assert box.call("returns", (7,)).nbytes == 7 << 20
        failure = fails(box, "returns", 7)  # the third crosses the budget while it arrives
        assert "budget of 20 MiB" in failure.message, failure
        failure = fails(box, "returns", 1, kinds={"budget"})  # and nothing more runs
        assert "sent back more than the grading's budget of 20 MiB" in failure.message


@pytest.mark.skipif(not ROOT, reason="a uid drop needs root")
def test_sandbox_folders_the_students_uid_cannot_reach_are_a_grading_error(tmp_path, monkeypatch):
    """Without a mount namespace the sandbox's folders are reached through the host's folders:
    a scratch root only the grader may enter is the grader's environment's failure, reported as
    such before any student code runs, never the submission's."""
    from autograder.sandbox import runner

    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    monkeypatch.setattr(runner, "SCRATCH_ROOT", str(closed))
    folder = make(tmp_path / "sub", "def add(x):\n    return x + 1\n")
    with Sandbox(folder, ("conv.py",), "conv", namespaces=False) as box:
        with pytest.raises(GradingError, match="cannot reach the sandbox's own folders"):
            box.call("add", (1,))
