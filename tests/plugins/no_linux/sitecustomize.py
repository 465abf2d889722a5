"""Emulate a platform without Linux's process tools (Windows, macOS) in every Python process
started with this folder on ``PYTHONPATH``: no ``os.fork``, no ``os.memfd_create``, and the
``resource``, ``fcntl`` and ``pwd`` modules cannot be imported. The kit's tests use it to check
that the portable runner is chosen by itself there and gives the grader's verdicts."""

import os
import sys

BLOCKED = ("resource", "fcntl", "pwd")

for _name in ("fork", "memfd_create"):
    if hasattr(os, _name):
        delattr(os, _name)


class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name in BLOCKED:
            raise ImportError(f"No module named {name!r} (this platform has none)")
        return None


sys.meta_path.insert(0, _Blocked())
for _name in BLOCKED:
    sys.modules.pop(_name, None)
