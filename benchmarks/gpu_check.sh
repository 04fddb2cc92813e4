#!/usr/bin/env bash
# The GPU check: what only a CUDA device can show, in one command (under 5 minutes on one GPU).
#
#     benchmarks/gpu_check.sh            # PYTHON=path/to/python to use another interpreter than .venv's
#
# 1. the reference timings on the CPU and on CUDA (benchmarks/torch_reference_time.py);
# 2. the CUDA cases of the reference tests (tests/test_reference_*.py, their "cuda" parametrisations);
# 3. the hidden tests' CUDA devices: `nnex grade solutions` for the PyTorch exercises, whose hidden tests
#    add "cuda" to their devices when the judge sees one, so the worked solutions keep full marks only
#    if the sandboxed child computes correctly on the GPU; the report's isolation line is printed.
#
# It needs a build of PyTorch with CUDA (`make setup` installs the CPU wheel: install a CUDA one into
# the interpreter you pass as PYTHON).
#
# Exit status: 0 every check passed; 1 a check failed; 77 no CUDA device is visible to PyTorch here,
# so nothing was run (77 is "skipped" for automake's test harness).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
CUDA_EXERCISES=(attention ddpm)  # the hidden tests that run on "cuda" where there is one
NO_CUDA=77

if ! torch=$("$PYTHON" -c 'import sys, torch
print(f"torch {torch.__version__}, built for CUDA {torch.version.cuda}")
sys.exit(0 if torch.cuda.is_available() else 1)'); then
    echo "gpu_check: no CUDA device visible to PyTorch here ($torch): nothing was run"
    exit "$NO_CUDA"
fi
echo "gpu_check: $torch, $("$PYTHON" -c 'import torch; print(torch.cuda.get_device_name())')"

report=$(mktemp -d)
trap 'rm -rf "$report"' EXIT
step() { echo; echo "== $1 (at ${SECONDS} s)"; }

step "reference timings"
"$PYTHON" benchmarks/torch_reference_time.py --repeat 50

step "reference tests, CUDA cases"
"$PYTHON" -m pytest tests/test_reference_*.py -k cuda -q -p no:cacheprovider

step "hidden tests on CUDA: nnex grade solutions ${CUDA_EXERCISES[*]/#/--exercise }"
exercises=()
for id in "${CUDA_EXERCISES[@]}"; do exercises+=(--exercise "$id"); done
"$PYTHON" -m grader grade solutions "${exercises[@]}" --jobs 1 --json "$report/report.json" -q
"$PYTHON" - "$report/report.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
print("isolation:", report["isolation"])
lost = []
for submission in report["submissions"]:
    for result in submission["exercises"]:
        print(f"  {result['id']:10s} {result['score']:g} of {result['max_score']:g} ({result['status']})")
        if result["score"] != result["max_score"]:
            lost += [f"{result['id']}: {t['name']}: {t['message']}" for t in result["tests"] if not t["passed"]]
if lost:
    sys.exit("the worked solutions lost points on the GPU:\n" + "\n".join(lost))
EOF

echo
echo "gpu_check: every check passed in ${SECONDS} s"
