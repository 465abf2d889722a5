"""The sandboxed child: run by path as ``python -I -S untrusted_child.py REQ RESP LIFE ARGS``.

UNTRUSTED side: everything the child runs is in the ``untrusted_*.py`` files beside this one;
student code runs in its processes, and nothing of them is ever imported by the grader.
Self-contained on purpose: they import only the standard library, numpy, each other, and the
wire format and simulator files whose paths the grader sends (loaded by path, never through
the ``autograder`` package, so the grader's checkout need not be on ``sys.path``; ``-I`` keeps
this folder off it too).

This entry program loads its siblings by path (:func:`_load_siblings`), each registered in
``sys.modules`` as ``_autograder_<file name>`` so that they import one another by that name,
each after those it imports, before anything else runs, so before any student code (what the
worker keeps using, ``os.read`` and the like, is bound as they load); then it runs the outer
process (``untrusted_outer.main``). The files::

    messages.py           the words of a failed call (BOTH SIDES: the portable runner uses
                          them too, so feedback reads the same on every platform)
    untrusted_common.py   what the processes share: kernel calls, frames on the pipes,
                          sweeping leftover processes, the words of a student's exception
    untrusted_mounts.py   the outer's isolation: namespaces, the allow-list root, masks
    untrusted_outer.py    the outer process: setup, forking the server, waiting for it
    untrusted_server.py   the server: uid drop, rlimits, the probe, the import, the workers
    untrusted_worker.py   the worker: requests, the argument memory, one call
    untrusted_devices.py  the strict simulator's and CuPy's arrays for a call

Processes::

    outer   root (or the grader's user); never runs student code. Optionally unshares mount,
            network, pid, ipc and uts namespaces and hides paths behind tmpfs mounts, then forks
            the server and waits for it; it kills the server when the grader goes away (the
            LIFE_FD pipe closes) and sweeps up what is left when the server dies.
    server  drops to the student uid, sets rlimits, imports the student's module once, then
            forks a worker and waits for it to end; then it kills whatever the worker left
            behind, reports how the worker ended (an ``exit`` frame naming the last request
            the worker took) and forks the next worker at once, so that a fresh worker is
            ready before the grader's next call. In a pid namespace it is pid 1: when it dies
            the kernel kills everything student code started.
    worker  serves calls until it is told to end: it reads the grader's requests from REQ_FD
            itself (one round trip per call, no fork). For each call it checks that array
            arguments were not modified and writes the result (or the failure) as one frame
            on RESP_FD. The arrays of a request are not in the frame: the grader writes them
            into the memory file ARGS_FD (the frame says where), and the worker's arguments
            are views of that memory, so the grader reads back itself what a call did to its
            inputs (the worker's own check only words the message). A ``batch`` request
            carries several calls of one function: the worker
            runs them in order, writes one frame per call (tagged with its ``index``), and
            stops at the first that fails, or with a ``stopped`` frame once the results it
            sent reach the result limit (the grader sends the rest again). It ends on an
            ``end`` request (``Sandbox.reset``), when REQ_FD closes, or by dying; the module
            state it built up lives until then, as it would in one process. Its RLIMIT_CPU
            counts all its calls together (a backstop; the grader's wall-clock deadline per
            call is the real bound).

The worker writes the sequence number of each request it takes into a page shared with the
server (``READING`` while it is half-way through one), so the server's ``exit`` frame says
which call the worker died in, and a worker that died half-way through a request ends the
server (the request pipe is out of step) instead of leaving the next worker to read the rest of
a frame as a new one. Only when no worker can be forked does the server read a request itself
(and refuse it).

Everything the grader reads from RESP_FD is treated as untrusted there: the server has run the
student's import-time code, so it is no more trustworthy than a worker.
"""

from __future__ import annotations

import importlib.util
import os
import sys

SIBLINGS = (
    "messages",
    "untrusted_common",
    "untrusted_mounts",
    "untrusted_devices",
    "untrusted_worker",
    "untrusted_server",
    "untrusted_outer",
)
"""The child's other programs, each after those it imports."""


def _load_siblings() -> dict:
    """Load :data:`SIBLINGS` from this file's folder by path, each registered as
    ``_autograder_<name>`` (their imports of one another find them there); by name."""
    here = os.path.dirname(os.path.realpath(__file__))
    loaded = {}
    for name in SIBLINGS:
        qualified = f"_autograder_{name}"
        spec = importlib.util.spec_from_file_location(qualified, os.path.join(here, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module
        spec.loader.exec_module(module)
        loaded[name] = module
    return loaded


def _run() -> None:
    sys.dont_write_bytecode = True
    _load_siblings()["untrusted_outer"].main()


if __name__ == "__main__":
    try:
        _run()
    except BaseException as failure:  # the grader reads the output on failure
        sys.stderr.write(f"sandbox child failed: {failure!r}\n")
        sys.stderr.flush()
        os._exit(70)
