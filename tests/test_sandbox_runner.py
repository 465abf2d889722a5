"""Calling student functions through the sandbox: values, failures, files, env, output,
and the reused worker (state carries between calls until ``reset``)."""

from __future__ import annotations

import os
import textwrap
import time

import numpy as np
import pytest

from autograder.sandbox import CallFailed, GradingError, Limits, Sandbox, WireError, runner
from autograder.sandbox import isolation as iso
from autograder.sandbox.runner import MAX_BATCH_CALLS, BatchFailed

STUDENT = """
import os
import sys
import numpy as np

CALLS = 0


def add(a, b=1):
    return a + b


def echo(*args, **kwargs):
    return [args, kwargs]


def total(x):
    return x.sum()


def nested():
    return {"t": (1, 2.5, "s", None, True), "l": [np.zeros((2, 0)), np.int32(7)]}


def boom(x):
    def inner(y):
        raise ValueError(f"bad shape {y}")
    return inner(x)


def scale_in_place(x, factor=2.0):
    x *= factor
    return x


def modify_nested(xs):
    xs[1][0] = 99
    return 0


def replace_in_dict(params):
    params["w"] = params["w"] * 2  # the caller's dict now holds another array
    return params["w"]


def grow_dict(params):
    params.update(step=1)
    return 0


def append_to_list(layers):
    layers.append("relu")
    return len(layers)


def updated_copy(params):
    params = dict(params)
    params["w"] = params["w"] * 2
    return params


def counter():
    global CALLS
    CALLS += 1
    return CALLS


def crash():
    os._exit(3)


def segfault():
    import ctypes
    ctypes.string_at(0)


def twin():
    # a forked copy returning into the worker must neither answer nor serve later calls
    pid = os.fork()
    return "parent" if pid else "child"


def spawn_sleeper():
    import subprocess
    return subprocess.Popen(["sleep", "300"]).pid


def is_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid():
    return os.getpid()


def burn(seconds):
    import time
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return seconds


def environment():
    return {
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "uid": os.getuid(),
        "path": list(sys.path),
        "grader_modules": sorted(m for m in sys.modules if m.startswith("autograder")),
        "numpy": np.__file__,
    }


def read_stdin():
    return sys.stdin.read()


def shout(n):
    print("x" * n)
    print("to stderr", file=sys.stderr)
    return n


def sleepy(seconds):
    import time
    time.sleep(seconds)
    return seconds


def kill_myself(number):
    os.kill(os.getpid(), number)


def burn_ignoring_sigxcpu(seconds):
    import signal
    signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    return burn(seconds)


def import_helper():
    import helper
    return helper.VALUE


def write_scratch():
    with open("notes.txt", "w") as handle:
        handle.write("ok")
    return open("notes.txt").read()


def matmul(a, b):
    return a @ b


print("hello from import")


def stdlib():
    import fractions
    import json
    import socket
    return str(fractions.Fraction(1, 3))


NOT_A_FUNCTION = 3

SEEN = []


def tally(x):
    SEEN.append(x)
    if x == 3:
        raise ValueError("three is right out")
    return 10 * x


def seen():
    return list(SEEN)


def double_if_negative(x):
    if x[0] < 0:
        x *= 2
    return x.sum()


def crash_at(x, at):
    if x == at:
        os._exit(3)
    return x


LAST = None


def same_as_last(xs, value):
    global LAST
    same, LAST = LAST is xs, xs  # kept alive here: its id is not reused
    return same


def zeros(n):
    return np.zeros(n)


def forge_at(x, at):
    if x == at:  # garbage on every descriptor: the result pipe among them
        for fd in range(3, 64):
            try:
                os.write(fd, b"not a frame at all")
            except OSError:
                pass
    return x
"""


def make_submission(folder, source=STUDENT, name="conv.py", extra=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(source))
    for file_name, text in (extra or {}).items():
        (folder / file_name).write_text(text)
    return folder


@pytest.fixture(scope="module")
def shared_box(tmp_path_factory):
    folder = make_submission(tmp_path_factory.mktemp("runner") / "sub")
    with Sandbox(folder, ("conv.py",), "conv", Limits(call_timeout=20)) as sandbox:
        yield sandbox


@pytest.fixture
def box(shared_box):
    shared_box.reset()  # as the pytest plugin does before each test
    return shared_box


def test_isolation_is_reported(box):
    assert box.isolation == "full" or box.isolation.startswith("partial: ")
    if os.geteuid() == 0:
        print("isolation as root:", box.isolation)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int8", "uint8"])
def test_arrays_in_and_out_keep_their_dtype(box, dtype):
    x = np.arange(12).reshape(3, 4).astype(dtype)
    one = np.ones((), dtype=dtype)
    got = box.call("add", (x,), {"b": one})
    assert type(got) is np.ndarray and got.dtype == np.dtype(dtype)
    assert np.array_equal(got, x + one)


def test_bool_arrays_and_numpy_scalars(box):
    mask = np.array([True, False, True])
    got = box.call("echo", (mask,))
    assert got[0][0].dtype == np.bool_ and np.array_equal(got[0][0], mask)
    result = box.call("total", (np.arange(5.0, dtype=np.float32),))
    assert type(result) is np.float32 and result == 10.0
    assert type(box.call("total", (np.arange(5),))) is np.int64


def test_positional_keyword_and_container_arguments(box):
    got = box.call("echo", (1, "two", [3.0, None]), {"k": (np.ones(2), {"z": False})})
    args, kwargs = got
    assert args == (1, "two", [3.0, None])
    assert type(kwargs["k"]) is tuple and np.array_equal(kwargs["k"][0], np.ones(2))
    assert kwargs["k"][1] == {"z": False}


def test_nested_results(box):
    got = box.call("nested")
    assert got["t"] == (1, 2.5, "s", None, True)
    assert got["l"][0].shape == (2, 0) and type(got["l"][1]) is np.int32


def test_exceptions_carry_the_students_message_and_own_traceback(box):
    with pytest.raises(CallFailed) as info:
        box.call("boom", (3,))
    failure = info.value
    assert failure.kind == "exception"
    assert failure.message.startswith("boom raised ValueError: bad shape 3")
    assert 'File "conv.py", line' in failure.message and "in inner" in failure.message
    assert "child.py" not in failure.message and "autograder" not in failure.message


def test_missing_and_non_callable_functions(box):
    for name in ("no_such_function", "NOT_A_FUNCTION"):
        with pytest.raises(CallFailed) as info:
            box.call(name)
        assert info.value.kind == "missing_function"
        assert f"conv.py has no function {name}()" in info.value.message


@pytest.mark.parametrize("threads", [1, 2])
def test_blas_works_under_the_limits(tmp_path, threads):
    folder = make_submission(tmp_path / "sub")
    a = np.random.default_rng(0).standard_normal((300, 300))
    with Sandbox(folder, ("conv.py",), "conv", Limits(threads=threads)) as sandbox:
        assert np.allclose(sandbox.call("matmul", (a, a)), a @ a)
        assert "hello from import" in sandbox.import_output


def test_function_gives_a_plain_callable(box):
    add = box.function("add")
    assert add.__name__ == "add" and add(1, b=2) == 3


def test_full_isolation_when_root_and_namespaces_work(box):
    if os.geteuid() != 0:
        assert "not root" in box.isolation
    elif "mount" in box._setup.get("namespaces", []):
        if box._cgroup is not None:
            assert box.isolation == "full"
        else:  # the one thing missing, said as such: no cgroup bounds the whole sandbox
            assert box.isolation.endswith(iso.BOUNDS_NOTE), box.isolation
            assert iso.confinement(box.isolation) == "full", box.isolation


def test_private_names_are_refused(box):
    with pytest.raises(ValueError, match="public"):
        box.call("_secret")


def test_modified_input_is_detected_and_the_graders_copy_is_untouched(box):
    x = np.ones(4)
    with pytest.raises(CallFailed) as info:
        box.call("scale_in_place", (x,))
    assert info.value.kind == "modified_input"
    assert "modified its input x in place" in info.value.message
    assert np.array_equal(x, np.ones(4))
    with pytest.raises(CallFailed) as info:
        box.call("modify_nested", ([np.zeros(2), np.zeros(3)],))
    assert info.value.kind == "modified_input" and "xs[1]" in info.value.message


def test_a_dict_or_list_changed_in_place_is_a_modified_input(box):
    for name, argument, label, change in [
        ("replace_in_dict", {"w": np.ones(2)}, "params", "the values of 'w' were replaced"),
        ("grow_dict", {"w": np.ones(2)}, "params", "it gained the keys 'step'"),
        ("append_to_list", ["conv", "pool"], "layers", "its length changed from 2 to 3"),
    ]:
        with pytest.raises(CallFailed) as info:
            box.call(name, (argument,))
        assert info.value.kind == "modified_input", name
        assert f"modified its input {label} in place ({change})" in info.value.message
    result = box.call("updated_copy", ({"w": np.ones(2)},))  # a new dict: nothing changed
    assert np.array_equal(result["w"], np.full(2, 2.0))


def test_state_carries_between_calls_until_reset(box):
    assert [box.call("counter") for _ in range(3)] == [1, 2, 3]
    worker = box.call("pid")
    assert box.call("pid") == worker
    box.reset()
    assert [box.call("counter") for _ in range(2)] == [1, 2]
    assert box.call("pid") != worker
    box.reset()
    box.reset()  # nothing runs: a no-op
    assert box.call("counter") == 1


def test_reset_when_nothing_runs_is_cheap(box):
    start = time.perf_counter()
    for _ in range(100):
        box.reset()
    assert time.perf_counter() - start < 0.05


def test_reset_before_start_and_after_close_is_a_no_op(tmp_path):
    sandbox = Sandbox(make_submission(tmp_path / "sub"), ("conv.py",), "conv")
    sandbox.reset()
    with sandbox:
        sandbox.reset()
        assert sandbox.call("counter") == 1
    sandbox.reset()


@pytest.mark.parametrize(
    ("function", "words"),
    [("crash", "ended with status 3"), ("segfault", "signal 11")],
)
def test_a_crash_fails_that_call_and_the_next_call_gets_a_fresh_worker(box, function, words):
    assert box.call("counter") == 1
    assert box.call("counter") == 2
    worker = box.call("pid")
    with pytest.raises(CallFailed) as info:
        box.call(function)
    assert info.value.kind == "crashed" and words in info.value.message
    assert box.call("counter") == 1  # forked anew from the freshly imported module
    assert box.call("pid") != worker
    box.reset()  # the crashed worker is gone already: nothing to end
    assert box.call("counter") == 1


def test_exceptions_keep_the_worker_and_its_state(box):
    assert box.call("counter") == 1
    with pytest.raises(CallFailed):
        box.call("boom", (1,))
    with pytest.raises(CallFailed):
        box.call("scale_in_place", (np.ones(2),))
    assert box.call("counter") == 2


def test_a_forked_copy_of_the_worker_neither_answers_nor_serves(box):
    assert box.call("twin") == "parent"
    worker = box.call("pid")
    assert [box.call("pid") for _ in range(20)] == [worker] * 20
    box.reset()
    assert box.call("counter") == 1


def test_processes_left_running_live_until_reset(box):
    sleeper = box.call("spawn_sleeper")
    assert box.call("is_alive", (sleeper,)) is True
    box.reset()
    assert box.call("is_alive", (sleeper,)) is False


def _children(pid):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            if int(data[data.rfind(b")") + 2 :].split()[1]) == pid:
                found.append(int(name))
    return found


def _kill_worker(sandbox):
    server = sandbox._child.server_pid
    workers = _children(server)
    assert len(workers) == 1
    os.kill(workers[0], 9)
    deadline = time.monotonic() + 2
    while _children(server) in ([], workers) and time.monotonic() < deadline:
        time.sleep(0.005)  # until the server has forked the next one


@pytest.mark.parametrize("then", ["call", "reset"])
def test_a_worker_killed_between_calls_is_replaced(box, then):
    assert [box.call("counter") for _ in range(2)] == [1, 2]
    _kill_worker(box)
    if then == "reset":
        box.reset()  # the server answers for the worker that is gone
    assert box.call("counter") == 1
    assert box.call("counter") == 2


def test_cpu_limit_counts_all_calls_of_one_worker(tmp_path):
    folder = make_submission(tmp_path / "sub")
    with Sandbox(folder, ("conv.py",), "conv", Limits(cpu_seconds=1)) as sandbox:
        with pytest.raises(CallFailed) as info:
            for _ in range(10):
                sandbox.call("burn", (0.3,))
        assert info.value.kind == "crashed" and "CPU time" in info.value.message
        assert sandbox.call("burn", (0.3,)) == 0.3  # a new worker: a new budget
        sandbox.reset()
        assert sandbox.call("burn", (0.3,)) == 0.3


def test_scratch_folder_is_the_writable_cwd(box):
    assert box.call("write_scratch") == "ok"


def test_arguments_that_are_not_wire_values_are_a_grader_error(box):
    with pytest.raises(WireError):
        box.call("echo", (object(),))


def test_environment_is_scrubbed(tmp_path):
    os.environ["AUTOGRADER_TEST_SECRET"] = "hunter2"
    try:
        with Sandbox(make_submission(tmp_path / "sub"), ("conv.py",), "conv") as sandbox:
            seen = sandbox.call("environment")
    finally:
        del os.environ["AUTOGRADER_TEST_SECRET"]
    env = seen["env"]
    assert "AUTOGRADER_TEST_SECRET" not in env
    assert not any("hunter2" in v for v in env.values())
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["HOME"] == seen["cwd"] and env["LANG"] == "C.UTF-8"
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert not any(key.startswith(("PYTHON", "PYTEST", "VIRTUAL_ENV")) for key in env)
    assert seen["grader_modules"] == []
    assert not any(p.rstrip("/").endswith("/work/main") for p in seen["path"])
    assert str(tmp_path) not in seen["cwd"]
    if os.geteuid() == 0:
        assert seen["uid"] != 0


def test_stdin_is_empty(box):
    assert box.call("read_stdin") == ""


def test_output_is_captured_and_capped(tmp_path):
    folder = make_submission(tmp_path / "sub")
    limits = Limits(output_bytes=1000)
    with Sandbox(folder, ("conv.py",), "conv", limits) as sandbox:
        assert sandbox.call("shout", (10,)) == 10
        assert "x" * 10 in sandbox.last_output and "to stderr" in sandbox.last_output
        assert sandbox.call("shout", (1_000_000,)) == 1_000_000
        assert len(sandbox.last_output) < 1200
        assert "more bytes of output dropped" in sandbox.last_output
        assert sandbox.call("shout", (1,)) == 1
        assert "x" * 2 not in sandbox.last_output
        assert "more bytes of output dropped" not in sandbox.last_output
        sandbox.reset()
        assert sandbox.call("shout", (3,)) == 3
        assert "xxx" in sandbox.last_output and "xxxx" not in sandbox.last_output


def test_only_whitelisted_files_are_importable(tmp_path):
    marker = tmp_path / "sitecustomize-ran"
    evil = f"open({str(marker)!r}, 'w').write('ran')\nraise SystemExit('evil')\n"
    folder = make_submission(
        tmp_path / "sub",
        extra={
            "numpy.py": evil,
            "sitecustomize.py": evil,
            "usercustomize.py": evil,
            "conftest.py": evil,
            "helper.py": "VALUE = 1\n",
        },
    )
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        seen = sandbox.call("environment")
        assert seen["numpy"].endswith("numpy/__init__.py")
        assert not seen["numpy"].startswith(str(folder))
        with pytest.raises(CallFailed) as info:
            sandbox.call("import_helper")
        assert info.value.kind == "exception" and "No module named 'helper'" in info.value.message
    assert not marker.exists()
    with Sandbox(folder, ("conv.py", "helper.py"), "conv") as sandbox:
        assert sandbox.call("import_helper") == 1


def test_symlinked_student_file_is_not_followed(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "conv.py").symlink_to("/etc/passwd")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        with pytest.raises(CallFailed) as info:
            sandbox.call("anything")
        assert info.value.kind == "import_error" and "not found" in info.value.message


def test_syntax_error_fails_once_then_is_cached(tmp_path):
    folder = make_submission(tmp_path / "sub", "def f(:\n    return 1\n")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        with pytest.raises(CallFailed) as first:
            sandbox.call("f")
        assert first.value.kind == "import_error"
        assert "importing conv.py failed: SyntaxError" in first.value.message
        assert 'File "conv.py", line 1' in first.value.message
        start = time.perf_counter()
        with pytest.raises(CallFailed) as second:
            sandbox.call("f")
        assert time.perf_counter() - start < 0.05
        assert second.value.kind == "import_error"
        assert second.value.message == first.value.message


def test_import_time_exception_names_the_line(tmp_path):
    folder = make_submission(tmp_path / "sub", "import numpy as np\nX = 1 / 0\n")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        with pytest.raises(CallFailed) as info:
            sandbox.call("f")
    assert info.value.kind == "import_error"
    assert "ZeroDivisionError: division by zero" in info.value.message
    assert 'File "conv.py", line 2, in <module>' in info.value.message


def test_missing_module_file(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        with pytest.raises(CallFailed) as info:
            sandbox.call("f")
    assert info.value.kind == "import_error"
    assert info.value.message == "conv.py was not found in the submission"


def test_timeout_then_recovery(tmp_path):
    folder = make_submission(tmp_path / "sub")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        start = time.perf_counter()
        with pytest.raises(CallFailed) as info:
            sandbox.call("sleepy", (30,), timeout=0.5)
        assert time.perf_counter() - start < 5
        assert info.value.kind == "timeout"
        assert info.value.message == "sleepy did not finish within 0.5 s"
        assert sandbox.call("add", (1,)) == 2


def test_timeout_ends_the_worker_and_its_state(tmp_path):
    folder = make_submission(tmp_path / "sub")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        assert [sandbox.call("counter") for _ in range(2)] == [1, 2]
        sleeper = sandbox.call("spawn_sleeper")
        with pytest.raises(CallFailed) as info:
            sandbox.call("sleepy", (30,), timeout=0.5)
        assert info.value.kind == "timeout"
        assert sandbox.call("counter") == 1
        assert sandbox.call("is_alive", (sleeper,)) is False
        sandbox.reset()
        assert sandbox.call("counter") == 1


def test_closed_sandbox_refuses_calls(tmp_path):
    sandbox = Sandbox(make_submission(tmp_path / "sub"), ("conv.py",), "conv")
    with sandbox:
        assert sandbox.call("add", (1,)) == 2
    with pytest.raises(RuntimeError, match="closed"):
        sandbox.call("add", (1,))


def test_bad_constructor_arguments(tmp_path):
    with pytest.raises(ValueError):
        Sandbox(tmp_path, ("../conv.py",), "conv")
    with pytest.raises(ValueError):
        Sandbox(tmp_path, ("conv.py",), "pooling")


@pytest.mark.parametrize(
    "mode",
    [
        {"namespaces": False},
        {"namespaces": False, "drop_privileges": False},
    ],
    ids=["no-namespaces", "no-namespaces-no-uid-drop"],
)
def test_degraded_modes_still_work_and_say_so(tmp_path, mode):
    folder = make_submission(tmp_path / "sub")
    with Sandbox(folder, ("conv.py",), "conv", **mode) as sandbox:
        assert sandbox.isolation.startswith("partial: ")
        assert "namespaces" in sandbox.isolation
        assert np.array_equal(sandbox.call("add", (np.arange(3),)), np.arange(1, 4))
        with pytest.raises(CallFailed) as info:
            sandbox.call("boom", (1,))
        assert info.value.kind == "exception"
        with pytest.raises(CallFailed) as info:
            sandbox.call("sleepy", (30,), timeout=0.5)
        assert info.value.kind == "timeout"
        assert [sandbox.call("counter") for _ in range(2)] == [1, 2]
        sandbox.reset()
        assert sandbox.call("counter") == 1
        with pytest.raises(CallFailed) as info:
            sandbox.call("crash")
        assert info.value.kind == "crashed"
        assert sandbox.call("counter") == 1
        seen = sandbox.call("environment")
        if os.geteuid() == 0 and mode.get("drop_privileges", True):
            assert seen["uid"] != 0
        assert sandbox.call("stdlib") == "1/3"  # modules imported after the uid drop


# ------------------------------------------------------------------------------ batched calls


def test_call_many_gives_what_single_calls_give(box):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)  # one object shared by every call
    calls = [((rng.standard_normal((2, 3)), w), {}) for _ in range(5)]
    batched = box.call_many("matmul", calls)
    single = [box.call("matmul", args, kwargs) for args, kwargs in calls]
    assert len(batched) == len(single) == 5
    for got, want in zip(batched, single, strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    echoed = box.call_many("echo", [((1, "a", [np.int8(3)]), {"k": {"n": None}}), ((), {})])
    assert echoed == [box.call("echo", (1, "a", [np.int8(3)]), {"k": {"n": None}}), [(), {}]]
    assert box.call_many("add", []) == []


def test_call_many_keeps_the_worker_and_its_state(box):
    assert box.call("counter") == 1
    worker = box.call("pid")
    assert box.call_many("counter", [((), {})] * 3) == [2, 3, 4]
    assert box.call("counter") == 5
    assert box.call_many("pid", [((), None)] * 2) == [worker, worker]


def test_each_call_of_a_batch_gets_its_own_copy_of_a_shared_argument(box):
    shared = [np.zeros(1)]
    calls = [((shared, i), {}) for i in range(3)]
    assert box.call_many("same_as_last", calls) == [False, False, False]  # as single calls give


def test_a_failure_in_the_middle_of_a_batch_is_that_calls_failure(box):
    box.call("tally", (0,))
    with pytest.raises(BatchFailed) as info:
        box.call_many("tally", [((x,), {}) for x in (1, 2, 3, 4, 5)])
    failure = info.value
    assert isinstance(failure, CallFailed) and failure.kind == "exception"
    assert failure.index == 2 and failure.results == [10, 20]
    assert failure.message.startswith("tally raised ValueError: three is right out")
    assert box.call("seen") == [0, 1, 2, 3]  # the calls after the failed one never ran
    with pytest.raises(BatchFailed) as info:
        box.call_many("not_there", [((), {})] * 2)
    assert info.value.kind == "missing_function" and info.value.index == 0


def test_a_modified_input_in_a_batch_is_detected(box):
    xs = [np.ones(2), -np.ones(2), np.ones(2)]
    with pytest.raises(BatchFailed) as info:
        box.call_many("double_if_negative", [((x,), {}) for x in xs])
    assert info.value.kind == "modified_input" and info.value.index == 1
    assert "modified its input x in place" in info.value.message
    assert info.value.results == [2.0]
    assert np.array_equal(xs[1], -np.ones(2))  # the grader's copy is untouched


def test_a_crash_in_a_batch_fails_that_call_and_the_next_call_gets_a_fresh_worker(box):
    assert box.call("counter") == 1
    with pytest.raises(BatchFailed) as info:
        box.call_many("crash_at", [((x, 2), {}) for x in range(4)])
    assert info.value.kind == "crashed" and info.value.index == 2
    assert "ended with status 3" in info.value.message
    assert info.value.results == [0, 1]
    assert box.call("counter") == 1


def test_a_timeout_in_a_batch_kills_and_reports(tmp_path):
    folder = make_submission(tmp_path / "sub")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        assert sandbox.call("counter") == 1
        sleeper = sandbox.call("spawn_sleeper")
        # each call has its own deadline: the batch may take longer than one call's timeout
        assert sandbox.call_many("sleepy", [((0.3,), {})] * 3, timeout=1.0) == [0.3] * 3
        start = time.perf_counter()
        with pytest.raises(BatchFailed) as info:
            sandbox.call_many("sleepy", [((s,), {}) for s in (0, 0, 30, 0)], timeout=0.5)
        assert time.perf_counter() - start < 5
        assert info.value.kind == "timeout" and info.value.index == 2
        assert info.value.message == "sleepy did not finish within 0.5 s"
        assert info.value.results == [0, 0]
        assert sandbox.call("counter") == 1  # the child was killed: a fresh import
        assert sandbox.call("is_alive", (sleeper,)) is False


def test_garbage_in_a_batch_fails_the_call_that_sent_it_and_kills_the_child(box):
    assert box.call("counter") == 1
    with pytest.raises(BatchFailed) as info:
        box.call_many("forge_at", [((x, 2), {}) for x in range(5)])
    assert info.value.kind == "bad_result" and info.value.index == 2
    assert "could not read" in info.value.message
    assert info.value.results == [0, 1]
    assert box.call("counter") == 1


def test_arguments_that_are_not_wire_values_fail_a_batch_before_it_runs(box):
    with pytest.raises(WireError, match="call 1, argument 0"):
        box.call_many("counter", [((), {}), ((object(),), {})])
    assert box.call("counter") == 1


def _count_requests(monkeypatch):
    sizes = []
    send = Sandbox._call_batch

    def counted(self, function, values, calls, *rest):
        sizes.append(len(calls))
        return send(self, function, values, calls, *rest)

    monkeypatch.setattr(Sandbox, "_call_batch", counted)
    return sizes


def test_long_batches_go_as_several_requests(box, monkeypatch):
    requests = _count_requests(monkeypatch)
    count = 2 * MAX_BATCH_CALLS + 5
    assert box.call_many("counter", [((), {})] * count) == list(range(1, count + 1))
    assert requests == [MAX_BATCH_CALLS, MAX_BATCH_CALLS, 5]


def test_a_batch_whose_results_pass_the_result_limit_is_finished_in_more_requests(
    tmp_path, monkeypatch
):
    requests = _count_requests(monkeypatch)
    folder = make_submission(tmp_path / "sub")
    limits = Limits(result_bytes=1 << 20)  # each result is 0.4 MB: the third passes the limit
    with Sandbox(folder, ("conv.py",), "conv", limits) as sandbox:
        results = sandbox.call_many("zeros", [((50_000,), {})] * 8)
        assert [r.shape for r in results] == [(50_000,)] * 8
        assert requests == [8, 5, 2]  # each request sends the calls not answered yet
        assert sandbox.call("counter") == 1
        assert sandbox.call_many("counter", [((), {})] * 2) == [2, 3]  # the same worker


# ------------------------------------------------------------------------------ timeouts


SLOW_IMPORT = STUDENT + "\nimport time as _time\n_time.sleep(1.5)\n"


def test_a_timeout_kills_the_worker_and_keeps_the_imported_server(tmp_path):
    """A slow import is paid once: after a timeout the server (which imported the module) forks
    the next worker, so the next call needs no new import."""
    folder = make_submission(tmp_path / "sub", SLOW_IMPORT)
    with Sandbox(folder, ("conv.py",), "conv", Limits(import_timeout=10)) as sandbox:
        assert [sandbox.call("counter") for _ in range(2)] == [1, 2]
        server = sandbox._child.server_pid
        sleeper = sandbox.call("spawn_sleeper")
        for _ in range(3):
            with pytest.raises(CallFailed) as info:
                sandbox.call("sleepy", (30,), timeout=0.5)
            assert info.value.kind == "timeout"
            start = time.perf_counter()
            assert sandbox.call("counter") == 1  # a fresh worker, from the imported module
            assert time.perf_counter() - start < 1.0  # no second import (it takes 1.5 s)
            assert sandbox._child.server_pid == server
        assert sandbox.call("is_alive", (sleeper,)) is False  # the worker's processes died
        with pytest.raises(BatchFailed) as batch:
            sandbox.call_many("sleepy", [((0,), {}), ((30,), {})], timeout=0.5)
        assert batch.value.kind == "timeout" and batch.value.index == 1
        assert sandbox.call("counter") == 1 and sandbox._child.server_pid == server


def test_a_server_that_does_not_report_the_killed_worker_is_replaced(tmp_path):
    folder = make_submission(tmp_path / "sub")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        assert sandbox.call("counter") == 1
        server = sandbox._child.server_pid
        os.kill(server, 19)  # SIGSTOP: it cannot report the worker's end
        try:
            with pytest.raises(CallFailed) as info:
                sandbox.call("sleepy", (30,), timeout=0.5)
        finally:
            try:
                os.kill(server, 18)
            except OSError:
                pass
        assert info.value.kind == "timeout"
        assert sandbox.call("counter") == 1 and sandbox._child.server_pid != server


# ------------------------------------------------------------------------------ signals


def test_a_killed_process_is_reported_by_its_signal_not_by_a_guess(box):
    with pytest.raises(CallFailed) as info:
        box.call("kill_myself", (9,))
    assert info.value.kind == "crashed"
    assert info.value.message == "the process running conv.py was killed by signal 9 (SIGKILL)"
    with pytest.raises(CallFailed) as info:
        box.call("kill_myself", (15,))
    assert info.value.message == "the process running conv.py was killed by signal 15 (SIGTERM)"
    assert box.call("counter") == 1


def test_the_cpu_limits_signals_say_what_the_kit_knows(tmp_path):
    folder = make_submission(tmp_path / "sub")
    with Sandbox(folder, ("conv.py",), "conv", Limits(cpu_seconds=1)) as sandbox:
        with pytest.raises(CallFailed) as info:
            sandbox.call("burn", (3.0,))
        assert "signal 24 (SIGXCPU)" in info.value.message
        assert "CPU time limit of 1 s (RLIMIT_CPU" in info.value.message
        with pytest.raises(CallFailed) as info:  # SIGXCPU ignored: SIGKILL at the hard limit
            sandbox.call("burn_ignoring_sigxcpu", (4.0,))
        message = info.value.message
        assert "signal 9 (SIGKILL) when it reached its CPU time limit of 1 s" in message
        assert "memory" not in message


# ------------------------------------------------------------------------------ deadline


def test_nothing_runs_past_the_sandboxs_deadline(tmp_path):
    folder = make_submission(tmp_path / "sub")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        assert sandbox.call("counter") == 1
        sandbox.set_deadline(time.monotonic() + 1.0, "the test's budget of 1 s")
        start = time.perf_counter()
        with pytest.raises(CallFailed) as info:
            sandbox.call("sleepy", (30,), timeout=20)
        assert 0.8 < time.perf_counter() - start < 3
        assert info.value.kind == "budget"
        assert (
            info.value.message
            == "sleepy was stopped: the test's budget of 1 s ran out during the call"
        )
        start = time.perf_counter()
        with pytest.raises(CallFailed) as info:
            sandbox.call("counter")
        assert info.value.message == "the test's budget of 1 s is spent; counter not run"
        with pytest.raises(BatchFailed) as batch:
            sandbox.call_many("counter", [((), {})] * 3)
        assert batch.value.kind == "budget" and batch.value.index == 0
        assert time.perf_counter() - start < 0.5
        sandbox.set_deadline(None)
        assert sandbox.call("counter") == 1


def test_the_deadline_cuts_a_slow_import_without_blaming_it_for_later(tmp_path):
    folder = make_submission(tmp_path / "sub", STUDENT + "\nimport time\ntime.sleep(3)\n")
    with Sandbox(folder, ("conv.py",), "conv") as sandbox:
        sandbox.set_deadline(time.monotonic() + 0.5, "the budget")
        with pytest.raises(CallFailed) as info:
            sandbox.call("counter")
        assert info.value.kind == "budget"
        assert info.value.message == "importing conv.py was stopped: the budget ran out"
        sandbox.set_deadline(None)
        assert sandbox.call("counter") == 1  # imported anew, in full


# ------------------------------------------------------------------- the grader's environment


def _grading_error(folder, **options) -> GradingError:
    with Sandbox(folder, ("conv.py",), "conv", **options) as sandbox:
        with pytest.raises(GradingError) as first:
            sandbox.call("counter")
        with pytest.raises(GradingError) as second:
            sandbox.call_many("counter", [((), {})])
        assert second.value.message == first.value.message
        assert sandbox.environment_error == first.value.message
        assert sandbox.isolation.startswith("partial: ")
    assert not isinstance(first.value, CallFailed)  # never a failure of the submission
    return first.value


def test_no_usable_null_device_is_a_grading_error_naming_the_os_error(tmp_path, monkeypatch):
    folder = make_submission(tmp_path / "sub")
    monkeypatch.setattr(runner, "DEVNULL", str(tmp_path / "no-such-null"))
    error = _grading_error(folder)
    assert "no usable null device" in error.message
    assert f"[Errno 2] No such file or directory: '{tmp_path / 'no-such-null'}'" in error.message
    regular = tmp_path / "null-but-a-file"
    regular.write_text("")
    monkeypatch.setattr(runner, "DEVNULL", str(regular))
    error = _grading_error(folder)
    assert "not a character device" in error.message and str(regular) in error.message


def test_a_scratch_folder_that_cannot_be_made_is_a_grading_error(tmp_path, monkeypatch):
    folder = make_submission(tmp_path / "sub")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(runner, "SCRATCH_ROOT", str(blocker))  # mkdir inside a file: ENOTDIR
    error = _grading_error(folder)
    assert "scratch folder could not be prepared" in error.message
    assert "[Errno 20] Not a directory" in error.message


def _in_private_tmpfs(tmp_path, options: str, code: str) -> dict:
    """Run ``code`` (it prints one JSON line) in a fresh Python inside a private mount
    namespace, with a tmpfs mounted (``options``) at ``tmp_path / "mnt"``."""
    import json
    import shutil
    import subprocess
    import sys

    if not (os.geteuid() == 0 and shutil.which("unshare") and shutil.which("mount")):
        pytest.skip("needs root and util-linux's unshare to mount a file system of its own")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = f'mount -t tmpfs -o {options} tmpfs {mnt} && exec {sys.executable} -c "$0"'
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0 and "mount" in done.stderr and "{" not in done.stdout:
        pytest.skip(f"no private mount here: {done.stderr.strip()[-200:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


ENVIRONMENT_PROBE = """
import json, os, resource, sys
import autograder.core.assignments
from autograder.sandbox import GradingError, Sandbox, runner
runner.SCRATCH_ROOT = {scratch!r}
{prelude}
with Sandbox({folder!r}, ("conv.py",), "conv") as box:
    try:
        box.call("counter")
        print(json.dumps({{"outcome": "ran"}}))
    except GradingError as error:
        print(json.dumps({{"outcome": "grading error", "message": error.message}}))
    except Exception as error:
        print(json.dumps({{"outcome": type(error).__name__, "message": str(error)}}))
"""


@pytest.mark.parametrize(
    ("options", "words"),
    [("ro,size=1m", "[Errno 30] Read-only file system"), ("size=4k", "[Errno 28] No space")],
    ids=["read-only", "full"],
)
def test_a_read_only_or_full_scratch_disk_is_a_grading_error(tmp_path, options, words):
    folder = make_submission(tmp_path / "sub", STUDENT + "\n#" + "padding" * 3000)  # > 4 KiB
    code = ENVIRONMENT_PROBE.format(scratch=str(tmp_path / "mnt"), folder=str(folder), prelude="")
    got = _in_private_tmpfs(tmp_path, options, code)
    assert got["outcome"] == "grading error", got
    assert "scratch folder could not be prepared" in got["message"] and words in got["message"]


NPROC_PRELUDE = """
if os.geteuid() == 0:  # root is exempt from RLIMIT_NPROC: a uid of its own, after the imports
    os.setgroups([])
    os.setresgid(65533, 65533, 65533)
    os.setresuid(65533, 65533, 65533)
resource.setrlimit(resource.RLIMIT_NPROC, (1, resource.getrlimit(resource.RLIMIT_NPROC)[1]))
"""


def test_the_process_limit_when_starting_the_child_is_a_grading_error():
    """RLIMIT_NPROC of the grader (as a uid of its own when the grader is root, since root is
    exempt): starting the child fails with EAGAIN, and that is said as it is."""
    import json
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    base = Path(tempfile.mkdtemp(prefix="autograder-nproc-"))  # readable by the uid below
    try:
        os.chmod(base, 0o755)
        folder = make_submission(base / "sub")
        # The probe runs the kit from a copy beside the submission: the checkout itself may
        # sit in a folder only its owner can enter (a mktemp clone), out of the uid's reach.
        kit = Path(iso.__file__).resolve().parents[1]
        shutil.copytree(kit, base / "kit" / "autograder", ignore=shutil.ignore_patterns("*.pyc"))
        code = ENVIRONMENT_PROBE.format(scratch=None, folder=str(folder), prelude=NPROC_PRELUDE)
        env = dict(os.environ, PYTHONPATH=str(base / "kit"))
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
            env=env,
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    lines = done.stdout.strip().splitlines()
    got = json.loads(lines[-1]) if lines else {"outcome": "nothing", "stderr": done.stderr}
    assert got["outcome"] == "grading error", got
    assert "could not start a process" in got["message"]
    assert "[Errno 11] Resource temporarily unavailable" in got["message"]


def test_a_student_account_that_cannot_be_created_is_a_grading_error(tmp_path, monkeypatch):
    useradd = tmp_path / "useradd"
    useradd.write_text(
        "#!/bin/sh\necho 'useradd: cannot lock /etc/passwd; try again later.' >&2\nexit 1\n"
    )
    useradd.chmod(0o755)
    monkeypatch.setattr(iso, "USERADD", str(useradd))
    monkeypatch.setattr(iso, "STUDENT_USER", "autograder-test-no-such-user")
    monkeypatch.setattr(iso, "USERADD_ATTEMPTS", 2)
    monkeypatch.setattr(iso, "_accounts", {})
    monkeypatch.setattr(iso, "_account_errors", {})
    monkeypatch.setattr(iso, "LOCK_DIRS", (str(tmp_path / "locks"),))
    monkeypatch.setattr(iso, "running_as_root", lambda: True)
    error = _grading_error(make_submission(tmp_path / "sub"))
    assert "'autograder-test-no-such-user-0' is missing and could not be created" in error.message
    assert "exited with status 1: useradd: cannot lock /etc/passwd" in error.message
    useradd.write_text('#!/bin/sh\necho called >> "$0.log"\nexit 1\n')
    with pytest.raises(iso.AccountError):  # remembered: useradd runs once per grading
        iso.student_account(0)
    assert not (tmp_path / "useradd.log").exists()
