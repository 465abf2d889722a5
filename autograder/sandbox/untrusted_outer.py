"""UNTRUSTED side (runs in the sandbox's child, never imported by the grader): the outer
process.

Loaded by path by ``untrusted_child.py`` (registered as ``_autograder_untrusted_outer``),
which calls :func:`main`. The outer process runs as root (or the grader's user) and never runs
student code: it reads the configuration the grader sends, loads the wire format and the
strict simulator by path, isolates the child (:func:`_isolate`, with ``untrusted_mounts.py``),
forks the server (``untrusted_server.py``) and waits for it (:func:`_outer_wait`): it kills
the server when the grader goes away (the LIFE_FD pipe closes) and sweeps up what is left when
the server dies.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import signal
import sys

from _autograder_untrusted_common import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    PR_SET_CHILD_SUBREAPER,
    _kill_descendants,
    _prctl,
    _read_frame,
    _reap_all,
    _sweep_uid,
    _write_all,
)
from _autograder_untrusted_devices import _load_backends
from _autograder_untrusted_mounts import (
    _build_root,
    _needed_dirs,
    _reach_through_fds,
    _setup_mounts,
    _undo_root,
    _unshare,
    _untraversable,
)
from _autograder_untrusted_server import _server
from _autograder_untrusted_worker import _use_argument_memory


def main() -> None:
    req_fd, resp_fd, life_fd, args_fd = (int(a) for a in sys.argv[1:5])
    _use_argument_memory(args_fd)
    config = json.loads(_read_frame(req_fd))
    report: dict = {"event": "setup", "notes": [], "namespaces": [], "uid": os.getuid()}
    sys.path[:] = [os.path.realpath(p) for p in sys.path if p] + config["extra_path"]
    spec = importlib.util.spec_from_file_location("_autograder_sandbox_wire", config["wire_path"])
    wire = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wire)
    _load_backends(config)
    flags = _isolate(config, report)
    pidns = bool(flags & CLONE_NEWPID)
    if not pidns:  # orphans of the server come to us, not to init
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    # what the outer needs later is had now, before the server exists: a failure here (no null
    # device, no process left) is the grader's environment's, reported before any student code
    null = os.open(config.get("devnull", os.devnull), os.O_RDWR)
    sync_r, sync_w = os.pipe()
    server = os.fork()
    if server == 0:
        os.close(sync_w)
        os.close(life_fd)
        os.close(null)
        os.set_inheritable(args_fd, False)  # programs student code runs do not get it
        os.read(sync_r, 1)  # wait until the outer has announced us
        os.close(sync_r)
        _run_server(config, report, wire, req_fd, resp_fd, pidns)
    os.close(sync_r)
    os.close(args_fd)
    _write_all(resp_fd, wire.message_frame({"event": "spawned", "server_pid": server}))
    os.close(sync_w)
    _outer_wait(config, server, life_fd, req_fd, resp_fd, pidns, null)


def _isolate(config: dict, report: dict) -> int:
    """Enter the namespaces the configuration asks for and confine what the child sees of the
    files (the allow-list root, else masks); returns the namespace flags that worked."""
    flags = 0
    mounted = False
    if config["namespaces"]:
        flags = _unshare(report)
        if flags & CLONE_NEWNS:
            config["ro_dirs"] = _needed_dirs(config)
            try:
                _build_root(config, report, bool(flags & CLONE_NEWPID))
                mounted = True
            except OSError as error:  # hide what the deny-list names instead
                report["notes"].append(f"the allow-list root could not be built: {error}")
                _undo_root(config)
            if not mounted:
                config["masks"] = config["masks"] + _untraversable(config["ro_dirs"], config["uid"])
                try:
                    mounted = _setup_mounts(config, report)
                except OSError as error:  # e.g. / cannot be made private: no mounts at all
                    report["notes"].append(f"mount setup failed: {error}")
            report["mounts_ok"] = mounted
    if not mounted and config["uid"] is not None:
        _reach_through_fds(config["uid"])
    report["namespaces"] = [
        name
        for bit, name in (
            (CLONE_NEWNS, "mount"),
            (CLONE_NEWNET, "net"),
            (CLONE_NEWPID, "pid"),
            (CLONE_NEWIPC, "ipc"),
            (CLONE_NEWUTS, "uts"),
        )
        if flags & bit
    ]
    return flags


def _run_server(config, report, wire, req_fd: int, resp_fd: int, pidns: bool) -> None:
    """In the forked server: run it; it ends by ``_exit`` only, never back in the outer's code."""
    try:
        _server(config, report, wire, req_fd, resp_fd, pidns)
    except BaseException as failure:  # the server must end, only by _exit
        try:
            os.write(2, f"sandbox server failed: {failure!r}\n".encode())
        finally:
            os._exit(70)
    os._exit(0)


def _outer_wait(
    config, server: int, life_fd: int, req_fd: int, resp_fd: int, pidns: bool, null: int
):
    os.close(req_fd)
    os.close(resp_fd)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    try:
        pidfd = os.pidfd_open(server)
    except (AttributeError, OSError):
        pidfd = None
    poller = select.poll()
    poller.register(life_fd, select.POLLIN | select.POLLHUP)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    while True:
        events = poller.poll(None if pidfd is not None else 50)
        if any(fd == life_fd for fd, _ in events):  # the grader is gone or closed us
            try:
                os.kill(server, signal.SIGKILL)
            except OSError:
                pass
            _, status = os.waitpid(server, 0)
            break
        pid, status = os.waitpid(server, os.WNOHANG)
        if pid == server:
            break
    if not pidns:
        if config["sweep_uid"]:
            _sweep_uid(config["uid"], config["gid"])
        _kill_descendants(os.getpid())
    _reap_all()
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)
