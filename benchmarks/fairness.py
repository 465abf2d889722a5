"""The fairness check in full: correct submissions over many seeds, and the buggy examples.

    python benchmarks/fairness.py [--seeds 200] [--jobs 2] [--assignments conv,pooling,...]

For each assignment, grades over ``--seeds`` seeds (NumPy cases, public and hidden suites):
the reference computed in float64 and rounded to each case's dtype, every alternative correct
formulation in ``assignments/<name>/alternatives/``, and every bundled buggy example. Prints,
per assignment, the cases the correct submissions ran, their false rejections (the target is 0),
the smallest margin between a correct result and its bound (``1 - error / bound``), and for the
buggy examples the failed cases and the cases that the classic bound (relative to
``max|expected|``) failed but the new one passed (the target is 0). Exits 1 if a target is
missed. ``tests/test_fairness.py`` runs the same check on 2 seeds; this is the exhaustive run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.authoring.fairness import check_assignment
from autograder.core.assignments import assignment_names, load_assignment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignments", default=",".join(assignment_names()))
    args = parser.parse_args(argv)
    header = (
        f"{'assignment':<20} {'correct':>7} {'cases':>8} {'rejected':>8} {'margin':>8} "
        f"{'buggy':>5} {'caught':>7} {'escaped':>7} {'seconds':>8}"
    )
    print(f"fairness over {args.seeds} seeds (NumPy cases)\n{header}")
    missed = False
    total_cases = total_rejected = 0
    worst_margin, worst_case = 1.0, ""
    with tempfile.TemporaryDirectory(prefix="fairness-") as scratch:
        for name in args.assignments.split(","):
            started = time.perf_counter()
            result = check_assignment(load_assignment(name), args.seeds, Path(scratch), args.jobs)
            rejected = result.false_rejections()
            escaped = result.buggy_escapes()
            margin, case = result.smallest_margin()
            total_cases += result.cases()
            total_rejected += len(rejected)
            if margin < worst_margin:
                worst_margin, worst_case = margin, case
            print(
                f"{name:<20} {len(result.correct):>7} {result.cases():>8} {len(rejected):>8} "
                f"{margin:>8.4f} {len(result.buggy):>5} {result.buggy_failures():>7} "
                f"{len(escaped):>7} {time.perf_counter() - started:>8.1f}",
                flush=True,
            )
            for key, message in list(rejected.items())[:5]:
                print(f"    rejected {key}: {message[:300]}")
            for key in escaped[:5]:
                print(f"    escaped {key}")
            missed |= bool(rejected or escaped)
    rate = total_rejected / total_cases if total_cases else float("nan")
    print(
        f"false rejections {total_rejected} of {total_cases} correct cases ({rate:.2e}); "
        f"smallest margin {worst_margin:.4f} at {worst_case}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
