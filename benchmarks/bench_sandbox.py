"""Sandbox overhead: per-call cost of a trivial function, array transfer, and start-up time.

    python benchmarks/bench_sandbox.py [--calls N] [--starts N] [--modes full,no-ns,no-drop]

For each isolation mode (``full``: the defaults, namespaces and uid drop where the system
allows; ``no-ns``: no namespaces; ``no-drop``: neither namespaces nor uid drop, as for a
non-root grader) it prints medians of:

* ``start``: ``Sandbox.__enter__`` plus the first call (spawn, setup, numpy and student import);
* ``reused``: one call of ``add(1)`` sent to the running worker (how calls within a test run);
* ``fresh``: ``reset()`` plus one call of ``add(1)``: the worker ends (and what it left running
  is swept), the next call forks a new one (what a test's first call costs);
* ``1 MiB``: one call of ``add(x)`` with a 1 MiB float64 array in and out (reused worker);
* ``batched``: per call, ``call_many`` of 48 calls ``add(x_i, w)`` with small arrays (the
  calls a numeric gradient check makes), next to the same 48 as single calls (``single``);

next to the direct in-process call of ``add(1)``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.sandbox import Sandbox

STUDENT = "import numpy as np\n\n\ndef add(a, b=1):\n    return a + b\n"

MODES = {
    "full": {},
    "no-ns": {"namespaces": False},
    "no-drop": {"namespaces": False, "drop_privileges": False},
}


def add(a, b=1):
    return a + b


def median_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--modes", default=",".join(MODES))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as name:
        folder = Path(name)
        (folder / "conv.py").write_text(STUDENT)
        run(folder, options)


def run(folder: Path, options: argparse.Namespace) -> None:
    x = np.random.default_rng(0).standard_normal(1 << 17)  # 1 MiB
    direct = median_time(lambda: add(1), options.calls)
    print(f"direct in-process call of add(1): {direct * 1e6:.2f} us")
    rng = np.random.default_rng(1)
    w = rng.standard_normal((2, 3, 5, 5))
    batch = [((rng.standard_normal((2, 3, 5, 5)), w), {}) for _ in range(48)]
    header = f"{'mode':8} {'start':>9} {'reused':>9} {'fresh':>9} {'1 MiB':>9}"
    print(f"{header} {'single':>9} {'batched':>9}  isolation")
    for mode in options.modes.split(","):
        settings = MODES[mode]

        def start_and_call(settings=settings):
            with Sandbox(folder, ("conv.py",), "conv", **settings) as box:
                box.call("add", (1,))

        start = median_time(start_and_call, options.starts)
        with Sandbox(folder, ("conv.py",), "conv", **settings) as box:
            box.call("add", (1,))
            reused = median_time(lambda box=box: box.call("add", (1,)), options.calls)

            def fresh(box=box):
                box.reset()
                box.call("add", (1,))

            new = median_time(fresh, max(20, options.calls // 10))
            array = median_time(lambda box=box: box.call("add", (x,)), max(10, options.calls // 4))
            repeats = max(5, options.calls // 50)

            def single(box=box):
                for args, kwargs in batch:
                    box.call("add", args, kwargs)

            one_by_one = median_time(single, repeats) / len(batch)
            batched = median_time(lambda box=box: box.call_many("add", batch), repeats) / len(batch)
            described = box.isolation
        print(
            f"{mode:8} {start * 1e3:7.1f}ms {reused * 1e3:7.3f}ms {new * 1e3:7.2f}ms "
            f"{array * 1e3:7.2f}ms {one_by_one * 1e3:7.3f}ms {batched * 1e3:7.3f}ms  "
            f"{described[:70]}"
        )


if __name__ == "__main__":
    main()
