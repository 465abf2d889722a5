"""UNTRUSTED side (runs in the sandbox's child, never imported by the grader): the server,
which imports the student's module once and keeps a worker forked from it.

Loaded by path by ``untrusted_child.py`` (registered as ``_autograder_untrusted_server``);
the outer process forks the server and calls :func:`_server`. It drops to the student uid and
sets the rlimits (:func:`_drop_privileges`), reports what student code can reach
(:func:`_probe`, the setup report), imports the student's module, then forks one worker after
another (:func:`_serve`, the worker is ``untrusted_worker.py``'s), kills what each one left
behind and reports how it ended. From the import on it has run student code: the grader
trusts nothing it sends more than a worker's.
"""

from __future__ import annotations

import importlib
import mmap
import os
import resource
import signal
import stat
import sys
import time

from _autograder_untrusted_common import (
    MARK,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    NONE,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    READING,
    _describe_error,
    _flush_stdio,
    _kill_descendants,
    _kill_namespace,
    _mount,
    _os_exit,
    _prctl,
    _read_frame,
    _reap_all,
    _write_all,
)
from _autograder_untrusted_devices import _install_simulator
from _autograder_untrusted_worker import _work


def _drop_privileges(config: dict, report: dict) -> None:
    for name, value in config["rlimits"].items():
        limit = getattr(resource, name)
        resource.setrlimit(limit, (value, value))
    cpu = config["server_cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    os.chdir(config["work_dir"])
    os.umask(0o077)
    uid, gid = config["uid"], config["gid"]
    if uid is not None:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.getresuid() != (uid, uid, uid) or os.getgroups():
            raise RuntimeError("privileges were not dropped")
        try:
            os.setuid(0)
        except PermissionError:
            pass
        else:
            raise RuntimeError("privileges can be regained")
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    report["uid"] = os.getuid()


def _probe(config: dict, report: dict) -> None:
    """What student code can reach: run as the student uid, before any student code."""
    exposed = []
    for path, dev, ino in config["hide_ids"]:
        try:
            info = os.stat(path)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) != (dev, ino):
            continue  # something else (a mask) sits there now
        if os.access(path, os.R_OK) or (stat.S_ISDIR(info.st_mode) and os.access(path, os.X_OK)):
            exposed.append(path)
    report["exposed"] = exposed
    writable = []
    for path in ("/", "/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(path) and os.access(path, os.W_OK):
            try:
                probe = os.path.join(path, f".autograder-probe-{os.getpid()}")
                os.mkdir(probe)
                os.rmdir(probe)
                writable.append(path)
            except OSError:
                pass
    report["writable"] = writable


def _server(config, report, wire, req_fd: int, resp_fd: int, pidns: bool) -> None:
    if pidns:
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
        except OSError as error:
            report["notes"].append(f"cannot mount /proc: {error.strerror}")
    try:
        _drop_privileges(config, report)
    except (OSError, RuntimeError) as error:
        report["fatal"] = f"cannot drop privileges: {error}"
        _write_all(resp_fd, wire.message_frame(report))
        return
    if not pidns:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    unreachable = [
        path
        for path, mode in ((config["code_dir"], os.R_OK | os.X_OK), (config["work_dir"], os.W_OK))
        if not os.access(path, mode)
    ]
    if unreachable:  # e.g. a scratch root inside a folder only the grader may enter
        report["fatal"] = (
            f"the student's uid cannot reach the sandbox's own folders ({', '.join(unreachable)}): "
            "a folder above them is not searchable by others"
        )
        _write_all(resp_fd, wire.message_frame(report))
        return
    _probe(config, report)
    report["pid1"] = os.getpid() == 1
    _write_all(resp_fd, wire.message_frame(report))
    sys.path.insert(0, config["code_dir"])
    if not config["gpu"]:  # ``import cupy`` gives the strict simulator (see devicesim.py)
        _install_simulator()
    elif config["preload_cupy"]:  # importing CuPy does not start CUDA: workers fork safely
        try:
            import cupy  # noqa: F401
        except BaseException:  # the cupy calls report it
            pass
    module_name = config["module"]
    try:
        module = importlib.import_module(module_name)
    except BaseException as error:  # a broken submission must be reported
        message = _describe_error(error, f"importing {module_name}.py failed:", config)
        _flush_stdio()
        _write_all(resp_fd, wire.message_frame({"event": "import_failed", "message": message}))
        return
    _flush_stdio()
    _write_all(resp_fd, wire.message_frame({"event": "imported"}))
    _serve(config, wire, module, req_fd, resp_fd, pidns)


def _serve(config, wire, module, req_fd: int, resp_fd: int, pidns: bool) -> None:
    """Keep one worker forked (ahead of the call it will serve); report how each one ended."""
    fork, wait4, write = os.fork, os.wait4, _write_all
    me = os.getpid()
    os.set_inheritable(req_fd, False)  # programs student code runs get no request pipe
    mark = mmap.mmap(-1, MARK.size)  # shared with each worker: the last request it took
    while True:
        MARK.pack_into(mark, 0, NONE)
        pid = _fork_patiently(fork)
        if pid < 0:  # answer one request without a worker, then try again
            if not _refuse(wire, req_fd, resp_fd):
                return
            continue
        if pid == 0:
            code = 0
            try:
                _work(config, wire, module, req_fd, resp_fd, mark)
            except BaseException:  # never return into the server loop
                code = 71
            _os_exit(code)
        _, status, usage = wait4(pid, 0)
        (last,) = MARK.unpack_from(mark)
        if pidns:
            _kill_namespace()
        else:
            _kill_descendants(me)
        if last == READING:  # the rest of that request is still in the pipe: cannot go on
            return
        if last == NONE:  # killed before it took a request: nobody waits for news of it
            continue
        if os.WIFSIGNALED(status):  # with its CPU time: RLIMIT_CPU's SIGKILL is known by it
            cpu = round(usage.ru_utime + usage.ru_stime, 3)
            done = {"event": "exit", "seq": last, "signal": os.WTERMSIG(status), "cpu": cpu}
        else:
            done = {"event": "exit", "seq": last, "code": os.WEXITSTATUS(status)}
        write(resp_fd, wire.message_frame(done))


def _refuse(wire, req_fd: int, resp_fd: int) -> bool:
    """No worker could be forked: read one request and say so; False when the grader is gone."""
    try:
        header, _ = wire.unpack_message(_read_frame(req_fd), max_bytes=1 << 62)
    except (EOFError, OSError):
        return False
    seq = header.get("seq")
    if type(seq) is not int:
        return False
    if header.get("op") in ("call", "batch"):
        message = "no process could be started for the call (process limit reached)"
        failed = {"event": "failed", "seq": seq, "kind": "crashed", "message": message}
        if header.get("op") == "batch":
            failed["index"] = 0
        _write_all(resp_fd, wire.message_frame(failed))
        _write_all(resp_fd, wire.message_frame({"event": "exit", "seq": seq, "code": 0}))
    else:
        _write_all(resp_fd, wire.message_frame({"event": "ended", "seq": seq}))
    return True


def _fork_patiently(fork) -> int:
    """fork(), retrying for a second while the process limit is full of dying processes."""
    for _ in range(100):
        try:
            return fork()
        except BlockingIOError:
            _reap_all()
            time.sleep(0.01)
    return -1
