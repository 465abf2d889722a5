#!/usr/bin/env bash
# The GPU check, in one run: on a machine with an NVIDIA GPU, CuPy and a CUDA build of torch
# (no network needed), from the kit's checkout:
#
#     bash benchmarks/gpu_check.sh
#
# 1. install   pip install --no-deps --no-build-isolation -e .  (skipped where this checkout
#              is installed already; where pip cannot, the kit runs from the checkout)
# 2. test_gpu  tests/test_gpu.py: GPU sandboxes against hostile kernels (its references'
#              cases are step 3's)
# 3. suites    every assignment (assignments/*/assignment.toml) graded on the GPU: the
#              reference gets full marks, its cupy cases among them, and the template 0
# 4. bench_gpu benchmarks/bench_gpu.py --check: the reference convolution against torch CUDA
#
# then one summary table. Each step has a time limit (7.5 minutes in all); where no GPU is
# usable the steps say why and are skipped, and the check exits 0. It exits 1 where a step
# failed. Variables: PYTHON (default: .venv/bin/python where it exists, else python3),
# GPU_CHECK_JOBS (gradings at once in step 3, default 4), GPU_CHECK_LOGS (where each step's
# output goes; default $OUT/gpu_check or a temporary folder).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
if [[ -z "${PYTHON:-}" && -x .venv/bin/python ]]; then
    PYTHON="$ROOT/.venv/bin/python"
fi
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
LOGS="${GPU_CHECK_LOGS:-${OUT:+$OUT/gpu_check}}"
LOGS="${LOGS:-$(mktemp -d -t gpu_check.XXXXXX)}"
mkdir -p "$LOGS"
unset AUTOGRADER_GPU  # the check is of the GPU: never turned off here
export GPU_CHECK_JOBS="${GPU_CHECK_JOBS:-4}"

ROWS=()
FAILED=0

row() {  # step, status, seconds, detail
    ROWS+=("$(printf '%-10s %-5s %6s  %s' "$1" "$2" "$3" "$4")")
    [[ "$2" == FAIL ]] && FAILED=1
    printf '%-10s %-5s %6ss  %s\n' "$1" "$2" "$3" "$4"
}

# timed LIMIT LOG COMMAND...: runs COMMAND under a time limit, its output in LOG; sets
# STATUS (the exit status, 124 past the limit) and SECONDS_TAKEN.
timed() {
    local limit="$1" log="$2"
    shift 2
    local started=$SECONDS
    timeout --kill-after=15 "$limit" "$@" >"$log" 2>&1
    STATUS=$?
    SECONDS_TAKEN=$((SECONDS - started))
}

last_line() { grep -v '^\s*$' "$1" | tail -n 1 | cut -c1-160; }

echo "GPU check of $ROOT with $PYTHON; logs in $LOGS"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
        >"$LOGS/nvidia-smi.log" 2>&1
    echo "GPU: $(head -n 1 "$LOGS/nvidia-smi.log")"
else
    echo "GPU: no nvidia-smi on this machine"
fi

# ---------------------------------------------------------------- 1. install
installed_here() {  # from outside the checkout, as a grading's pytest imports it
    (cd / && "$PYTHON" - "$ROOT" <<'EOF' >/dev/null 2>&1
import importlib.metadata, pathlib, sys
import autograder
assert pathlib.Path(autograder.__file__).resolve().parents[1] == pathlib.Path(sys.argv[1])
names = [e.name for e in importlib.metadata.entry_points(group="pytest11")]
assert "autograder" in names
EOF
    )
}
if installed_here; then
    row install PASS 0 "this checkout is installed already"
else
    timed 60 "$LOGS/install.log" "$PYTHON" -m pip install --no-deps --no-build-isolation \
        --no-input -e .
    if [[ $STATUS -eq 0 ]] && installed_here; then
        row install PASS "$SECONDS_TAKEN" "pip install --no-deps -e ."
    else
        # the kit runs from its checkout: the package on the path, beside a record of it that
        # names its pytest plugin (what pip would have written), for every pytest it starts
        SITE="$(mktemp -d -t gpu_check_site.XXXXXX)"
        VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)"
        mkdir -p "$SITE/cnn_autograder-$VERSION.dist-info"
        printf 'Metadata-Version: 2.1\nName: cnn-autograder\nVersion: %s\n' "$VERSION" \
            >"$SITE/cnn_autograder-$VERSION.dist-info/METADATA"
        printf '[pytest11]\nautograder = autograder.suite.plugin\n' \
            >"$SITE/cnn_autograder-$VERSION.dist-info/entry_points.txt"
        export PYTHONPATH="$ROOT:$SITE${PYTHONPATH:+:$PYTHONPATH}"
        WHY="$(grep -m 1 -i 'error' "$LOGS/install.log" | cut -c1-100)"
        row install WARN "$SECONDS_TAKEN" \
            "pip failed (${WHY:-see install.log}); running from the checkout"
    fi
fi

GPU_DETAIL="$("$PYTHON" -c 'from autograder.core.backends import gpu_status as s
t = s(); print(("usable: " if t.usable else "") + t.detail)' 2>&1 | tail -n 1)"
echo "CuPy: $GPU_DETAIL"

# ---------------------------------------------------------------- 2. tests/test_gpu.py
timed 150 "$LOGS/test_gpu.log" "$PYTHON" -m pytest tests/test_gpu.py -q -rs -p no:cacheprovider \
    -k "not test_references_score_full_marks_on_cupy"
SUMMARY_LINE="$(last_line "$LOGS/test_gpu.log")"
if [[ $STATUS -eq 124 || $STATUS -eq 137 ]]; then
    row test_gpu FAIL "$SECONDS_TAKEN" "stopped after 150 s: $SUMMARY_LINE"
elif [[ $STATUS -ne 0 ]]; then
    row test_gpu FAIL "$SECONDS_TAKEN" "$SUMMARY_LINE"
elif grep -q "passed" <<<"$SUMMARY_LINE"; then
    row test_gpu PASS "$SECONDS_TAKEN" "$SUMMARY_LINE"
else
    REASON="$(grep -m 1 -o 'needs a usable CUDA device.*' "$LOGS/test_gpu.log" | cut -c1-120)"
    row test_gpu SKIP "$SECONDS_TAKEN" "${REASON:-$SUMMARY_LINE}"
fi

# ---------------------------------------------------------------- 3. every suite on the GPU
timed 180 "$LOGS/suites.log" "$PYTHON" - <<'EOF'
"""Each assignment's reference and template graded on the GPU; one ROW line per grading."""
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from autograder.core.assignments import SOLUTIONS_DIR, TEMPLATE_DIR, all_assignments
from autograder.core.backends import gpu_status
from autograder.grading.grade import grade

status = gpu_status()
if not status.usable:
    print(f"SKIP no usable GPU: {status.detail}")
    sys.exit(3)


def check(assignment, kind):
    started = time.perf_counter()
    report = grade(assignment, SOLUTIONS_DIR if kind == "reference" else TEMPLATE_DIR)
    seconds = time.perf_counter() - started
    cupy, strict = report.backends.get("cupy", {}), report.backends.get("strict", {})
    if report.grading_error:
        verdict = f"FAIL grading error: {report.grading_error[:100]}"
    elif "skipped" in cupy or not cupy.get("tests"):
        verdict = f"FAIL no cupy case ran: {cupy.get('reason', 'none collected')[:100]}"
    elif kind == "reference":
        full = report.score == report.max_score and cupy["score"] == cupy["max_score"]
        verdict = "PASS" if full and "skipped" in strict else (
            f"FAIL {report.score:g}/{report.max_score:g}, cupy {cupy['score']:g}/"
            f"{cupy['max_score']:g}"
        )
    else:
        verdict = "PASS" if report.score == 0 and cupy["score"] == 0 else (
            f"FAIL the template scored {report.score:g} (cupy {cupy['score']:g})"
        )
    word, _, detail = verdict.partition(" ")
    detail = detail or (
        f"{report.score:g}/{report.max_score:g}, cupy cases {cupy['passed']}/{cupy['tests']} "
        "passed"
    )
    return f"ROW\t{assignment.name} {kind}\t{word}\t{seconds:.0f}\t{detail}"


jobs = [(a, kind) for a in all_assignments() for kind in ("reference", "template")]
with ThreadPoolExecutor(int(os.environ.get("GPU_CHECK_JOBS", "4"))) as pool:
    rows = list(pool.map(lambda job: check(*job), jobs))
print("\n".join(rows))
sys.exit(1 if any("\tFAIL\t" in r for r in rows) else 0)
EOF
if [[ $STATUS -eq 3 ]]; then
    row suites SKIP "$SECONDS_TAKEN" "$(last_line "$LOGS/suites.log" | sed 's/^SKIP //')"
elif [[ $STATUS -eq 124 || $STATUS -eq 137 ]]; then
    row suites FAIL "$SECONDS_TAKEN" "stopped after 180 s (see $LOGS/suites.log)"
elif ! grep -q $'^ROW\t' "$LOGS/suites.log"; then
    row suites FAIL "$SECONDS_TAKEN" "$(last_line "$LOGS/suites.log")"
else
    while IFS=$'\t' read -r _ name word seconds detail; do
        row "suites" "$word" "$seconds" "$name: $detail"
    done < <(grep $'^ROW\t' "$LOGS/suites.log")
fi

# ---------------------------------------------------------------- 4. benchmarks/bench_gpu.py
timed 60 "$LOGS/bench_gpu.log" "$PYTHON" benchmarks/bench_gpu.py --check --repeats 10
case $STATUS in
    0) row bench_gpu PASS "$SECONDS_TAKEN" "$(last_line "$LOGS/bench_gpu.log")" ;;
    2) row bench_gpu SKIP "$SECONDS_TAKEN" "$(last_line "$LOGS/bench_gpu.log")" ;;
    124 | 137) row bench_gpu FAIL "$SECONDS_TAKEN" "stopped after 60 s" ;;
    *) row bench_gpu FAIL "$SECONDS_TAKEN" "$(last_line "$LOGS/bench_gpu.log")" ;;
esac

echo
echo "GPU check summary ($SECONDS s; logs in $LOGS)"
printf '%-10s %-5s %6s  %s\n' step status secs detail
printf '%s\n' "${ROWS[@]}"
exit "$FAILED"
