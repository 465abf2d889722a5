"""Grade a class of hostile and innocent submissions with ``grade-all`` many times over.

    python benchmarks/class_isolation.py --runs 20 --jobs 4

Each innocent submission (tests/redteam/hostile_class.py) is graded alone first; then the whole
class is graded ``--runs`` times with ``--jobs`` gradings at once. Prints, per run, how many
innocent submissions got exactly their solo outcome (score and every test's score and status)
and the run's wall time; exits 1 if any differed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "redteam"))

from hostile_class import build_class, class_outcomes, outcome  # noqa: E402

GRADE_ALL = [sys.executable, "-m", "autograder", "grade-all", "conv"]

from autograder.core.assignments import load_assignment  # noqa: E402
from autograder.grading.grade import grade  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "class"
        innocent, hostile = build_class(folder)
        print(f"class: {len(innocent)} innocent ({', '.join(innocent)})")
        print(f"       {len(hostile)} hostile ({', '.join(hostile)})")
        solo = {}
        for name in innocent:
            report = grade(load_assignment("conv"), folder / name, timeout=300)
            solo[name] = outcome(report.to_gradescope())
            print(f"solo {name}: {report.score:g} / {report.max_score:g}")
        failures = 0
        for run in range(1, args.runs + 1):
            out = Path(scratch) / f"grades-{run}"
            started = time.monotonic()
            finished = subprocess.run(
                [*GRADE_ALL, str(folder), "--out", str(out), "--jobs", str(args.jobs), "--regrade"],
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.monotonic() - started
            if finished.returncode != 0:
                print(f"run {run}: grade-all failed ({finished.returncode})")
                print(finished.stderr[-2000:])
                failures += 1
                continue
            got = class_outcomes(out, innocent)
            same = [name for name in innocent if got[name] == solo[name]]
            differ = sorted(set(innocent) - set(same))
            failures += bool(differ)
            scores = ", ".join(f"{name} {got[name][0]:g}" for name in innocent)
            print(
                f"run {run:2d} --jobs {args.jobs}: {len(same)}/{len(innocent)} innocent "
                f"submissions equal their solo outcome ({scores}); {elapsed:.0f} s"
                + (f"; DIFFER: {differ}" if differ else "")
            )
        print(f"{args.runs - failures}/{args.runs} runs gave every innocent its solo outcome")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
