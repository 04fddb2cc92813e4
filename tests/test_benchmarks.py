"""Every script in benchmarks/ runs, at a tiny size, and prints its figures: a change that breaks
one fails here, not months later when someone wants the numbers."""
import re
import subprocess
import sys

import pytest

from grader.paths import ROOT

BENCHMARKS = ROOT / "benchmarks"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def run(script: str, *args: str, timeout: int = 240) -> str:
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_benchmark_has_a_smoke_test_here():
    tested = set(re.findall(r"""run\(\s*["']([\w.]+)["']""", (ROOT / "tests" / "test_benchmarks.py").read_text()))
    scripts = {p.name for p in BENCHMARKS.iterdir() if p.suffix in (".py", ".sh")}
    assert scripts <= tested, f"benchmarks without a smoke test: {sorted(scripts - tested)}"


def test_grading_time_prints_the_sandbox_and_grading_figures():
    out = run("grading_time.py", "--repeat", "1", "--exercise", "neuron_gradient", "--jobs", "1", "--library", "numpy")
    assert re.search(rf"sandbox \[warm, full\] numpy: start \+ first call {NUMBER} ms|sandbox \[warm\]: not here", out), out
    assert re.search(rf"sandbox \[cold, (full|reduced)\] numpy: start \+ first call {NUMBER} ms, further call {NUMBER} ms", out), out
    assert re.search(rf"sandbox \[reduced, reduced\] numpy: start \+ first call {NUMBER} ms", out), out
    for mode in ("warm", "cold"):
        assert re.search(rf"nnex grade solutions --jobs 1 \({mode}\): {NUMBER} s", out), out
        assert re.search(rf"neuron_gradient \({mode}, next job of a server\): {NUMBER} s \(10/10\)", out), out
        assert re.search(rf"one submission of 1 exercises on a started server \({mode}\): {NUMBER} s", out), out


def test_torch_reference_time_prints_the_cpu_figures():
    out = run("torch_reference_time.py", "--repeat", "1")
    assert re.search(rf"DDPM training step .*: +{NUMBER} ms", out), out
    assert re.search(rf"multi-head attention .*: +{NUMBER} ms|reference/attention.py is not there", out), out


def test_nbgrader_autograde_time_compares_the_two_courses_on_equal_scores():
    out = run("nbgrader_autograde_time.py", "--notebooks", "1", "--copies", "1")
    assert re.search(r"solution-1 +ours +10 +stock +10", out), out
    for kind in ("ours", "stock"):
        assert re.search(rf"nbgrader autograde, {kind} *: +{NUMBER} s wall for 1, +{NUMBER} s per submission", out), out
