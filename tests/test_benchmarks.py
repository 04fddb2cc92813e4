"""Every script in benchmarks/ runs, at a tiny size, and prints its figures: a change that breaks
one fails here, not months later when someone wants the numbers."""
import os
import re
import subprocess
import sys

import pytest

from grader.paths import ROOT

BENCHMARKS = ROOT / "benchmarks"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def run(script: str, *args: str, timeout: int = 240, status: int = 0, env: dict | None = None) -> str:
    program = ["bash"] if script.endswith(".sh") else [sys.executable]
    done = subprocess.run([*program, str(BENCHMARKS / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == status, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_every_benchmark_has_a_smoke_test_here():
    tested = set(re.findall(r"""run\(\s*["']([\w.]+)["']""", (ROOT / "tests" / "test_benchmarks.py").read_text()))
    scripts = {p.name for p in BENCHMARKS.iterdir() if p.suffix in (".py", ".sh")}
    assert scripts <= tested, f"benchmarks without a smoke test: {sorted(scripts - tested)}"


def test_grading_time_prints_the_sandbox_and_grading_figures():
    out = run("grading_time.py", "--repeat", "1", "--exercise", "neuron_gradient", "--jobs", "1", "--library", "numpy",
              "--submissions", "2")
    assert re.search(rf"sandbox \[warm, full\] numpy: start \+ first call {NUMBER} ms|sandbox \[warm\]: not here", out), out
    assert re.search(rf"sandbox \[cold, (full|reduced)\] numpy: start \+ first call {NUMBER} ms, further call {NUMBER} ms", out), out
    assert re.search(rf"sandbox \[reduced, reduced\] numpy: start \+ first call {NUMBER} ms", out), out
    for mode in ("warm", "cold"):
        assert re.search(rf"nnex grade 2 copies of solutions --jobs 1 \({mode}\): {NUMBER} s", out), out
        assert re.search(rf"neuron_gradient \({mode}, next job of a server\): {NUMBER} s \(10/10\)", out), out
        assert re.search(rf"one submission of 1 exercises on a started server \({mode}\): {NUMBER} s", out), out


def test_torch_reference_time_prints_the_cpu_figures():
    out = run("torch_reference_time.py", "--repeat", "1")
    assert re.search(rf"DDPM training step .*: +{NUMBER} ms", out), out
    assert re.search(rf"multi-head attention .*: +{NUMBER} ms|reference/attention.py is not there", out), out


def test_cohort_grades_the_same_notebooks_three_ways_with_equal_scores_for_honest_ones():
    # numpy_mlp: its hidden tests take fixtures of their own, which the stock kernel must give too
    out = run("cohort.py", "--students", "1", "--exercise", "numpy_mlp", "--jobs", "1")
    assert re.search(r"cohort: 1 students x 1 exercises = 1 notebooks \(numpy_mlp\)", out), out
    assert re.search(r"numpy_mlp +1 notebooks, +1 honest; scores that differ: 0", out), out
    for label in ("stock nbgrader autograde", "nbgrader autograde, our preprocessor", "nnex grade --jobs 1"):
        assert re.search(rf"{label} *: +{NUMBER} s wall, +{NUMBER} s CPU", out), out
    for label in ("nbgrader autograde, our preprocessor", "nnex grade"):
        assert re.search(rf"stock / {label}: +{NUMBER}x wall, +{NUMBER}x CPU", out), out
    assert "honest submissions (solution, alternatives): 1, each the same score under all three" in out, out


def test_gpu_check_says_when_there_is_no_cuda_and_exits_with_its_own_status():
    hidden = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHON=sys.executable)  # no GPU, also where there is one
    out = run("gpu_check.sh", status=77, env=hidden, timeout=60)
    assert re.search(r"gpu_check: no CUDA device visible to PyTorch here \(torch .*\): nothing was run", out), out
