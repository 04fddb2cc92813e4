"""Stopping the grader: after kill -9 of `nnex grade` nothing of its run keeps running (and its
files go at the next run); Ctrl-C stops it cleanly (one line, exit 130) with the reports of what
was graded before, and leaves nothing behind."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from grader.manifests import load_manifests
from grader.paths import ROOT

EXERCISE = load_manifests()["neuron_gradient"]


def _processes_naming(text: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in command:
                found.append(f"{entry}: {command[:200]}")
    return found


def _waiting_submission(root: Path, marker: str) -> Path:
    """A neuron.py whose sigmoid waits on `sleep MARKER`: a process findable in /proc while it is graded."""
    folder = root / "waiting" / EXERCISE.folder
    folder.mkdir(parents=True)
    (folder / EXERCISE.student_file).write_text(
        "import subprocess\n\n\ndef sigmoid(z):\n"
        f"    subprocess.run(['/bin/sleep', '{marker}'])\n")
    return folder.parent


def _start(args, tmp_path) -> subprocess.Popen:
    """`nnex grade ARGS` in a process group of its own, as a terminal's foreground job is."""
    return subprocess.Popen([sys.executable, "-m", "grader", "grade", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=dict(os.environ, TMPDIR=str(tmp_path)))


def _wait_for(marker: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not _processes_naming(marker):
        assert process.poll() is None and time.monotonic() < deadline, "the waiting submission was never graded"
        time.sleep(0.1)


def test_kill_9_of_the_grader_takes_its_servers_judges_and_sandboxes_with_it(tmp_path):
    marker = f"{4000 + time.time() % 1000:.6f}"
    run_tmp = tmp_path / "tmp"
    run_tmp.mkdir()
    grading = _start([_waiting_submission(tmp_path, marker), "--exercise", EXERCISE.id], run_tmp)
    _wait_for(marker, grading)
    assert _processes_naming("grader.judge.worker")
    os.kill(grading.pid, signal.SIGKILL)
    grading.wait()
    deadline = time.monotonic() + 5
    while (_processes_naming(marker) or _processes_naming(str(run_tmp))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_naming(marker) == [] and _processes_naming(str(run_tmp)) == []
    assert list(run_tmp.glob("nnex-run-*"))  # killed at once, it could not clean up; the next run does
    (tmp_path / "empty").mkdir()
    _start([tmp_path / "empty", "--exercise", EXERCISE.id], run_tmp).communicate(timeout=120)
    assert list(run_tmp.iterdir()) == []


def test_ctrl_c_stops_cleanly_with_the_reports_of_what_was_graded(tmp_path):
    marker = f"{5000 + time.time() % 1000:.6f}"
    report = tmp_path / "report.json"
    # one job at a time, the solution first: when the waiting file's sleep runs, the solution is graded
    grading = _start(["solutions", _waiting_submission(tmp_path, marker), "--exercise", EXERCISE.id,
                      "--jobs", "1", "--json", report, "-q"], tmp_path)
    _wait_for(marker, grading)
    os.killpg(grading.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    stdout, stderr = grading.communicate(timeout=30)
    assert grading.returncode == 130, stderr
    assert "Traceback" not in stderr and [line for line in stderr.splitlines() if line.strip()] == [
        "nnex grade: interrupted; 1 of 2 exercises graded before it, and the reports hold only those"]
    result = json.loads(report.read_text())
    assert result["interrupted"] is True
    solutions, waiting = result["submissions"]
    assert solutions["score"] == solutions["max_score"] == EXERCISE.max_score
    assert waiting["exercises"] == [] and waiting["score"] == 0
    time.sleep(1)
    assert _processes_naming(marker) == []
    assert list(tmp_path.glob("nnex-*")) == []  # nothing of the run, the student's code included, is left
