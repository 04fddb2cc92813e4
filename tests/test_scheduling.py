"""How grading spreads its jobs over the judge servers: longest first, one thread per judge."""
import subprocess
import sys

from grader import grading
from grader.manifests import load_manifests
from grader.paths import ROOT
from grader.submissions import open_submission

MANIFESTS = load_manifests()


def test_the_pytorch_exercises_start_first_and_results_keep_the_manifest_order(monkeypatch):
    started = []

    def fake_grade_exercise(servers, submission, exercise, figures_dir):
        started.append(exercise.id)
        return {"id": exercise.id, "score": 0.0, "max_score": exercise.max_score, "tests": []}

    monkeypatch.setattr(grading, "grade_exercise", fake_grade_exercise)
    monkeypatch.setattr(grading, "JudgeServers", lambda count: type("Idle", (), {"close": lambda self: None})())
    solutions = open_submission(ROOT / "solutions", {m.student_file for m in MANIFESTS.values()})
    graded = grading.grade([solutions], list(MANIFESTS.values()), jobs=1)
    torch_ids = [m.id for m in MANIFESTS.values() if m.library == "torch"]
    assert torch_ids and started[:len(torch_ids)] == torch_ids  # the long ones never wait at the end
    assert [e["id"] for e in graded[0]["exercises"]] == list(MANIFESTS)


def test_a_judge_servers_numpy_runs_on_one_thread():
    # a BLAS pool of a thread per core would take the cores of the judges beside it
    count = subprocess.run(
        [sys.executable, "-c", "import os, numpy; a = numpy.ones((400, 400)); a @ a; "
                               "print(len(os.listdir('/proc/self/task')))"],
        env=grading.server_environment(), capture_output=True, text=True, check=True).stdout
    assert int(count) == 1
