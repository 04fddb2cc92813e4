"""What nnex grade shows while it grades when standard error is not a terminal: one line per
result, with how many of how many; a line on what the store gave; nothing with -q."""
import subprocess
import sys

from grader.paths import ROOT

EXERCISE = "neuron_gradient"


def _grade(tmp_path, *options):
    return subprocess.run([sys.executable, "-m", "grader", "grade", "solutions", "exercises", "--exercise", EXERCISE,
                           "--jobs", "2", "--db", str(tmp_path / "grades.sqlite"), "--csv", str(tmp_path / "s.csv"),
                           *options], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_pipe_gets_one_line_per_result_and_quiet_silences_it(tmp_path):
    run = _grade(tmp_path)
    assert run.returncode == 0, run.stderr
    lines = sorted(line for line in run.stderr.splitlines() if line.startswith("["))
    assert lines == [f"[1/2] exercises: {EXERCISE} 0/10 graded", f"[2/2] solutions: {EXERCISE} 10/10 graded"] or \
        lines == [f"[1/2] solutions: {EXERCISE} 10/10 graded", f"[2/2] exercises: {EXERCISE} 0/10 graded"], run.stderr
    assert "\x1b[" not in run.stderr  # no terminal codes in a log
    again = _grade(tmp_path)
    assert "2 exercises reused from the results store, 0 to grade" in again.stderr
    assert _grade(tmp_path, "-q").stderr == ""
