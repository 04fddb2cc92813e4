"""How grading spreads its jobs over the judges: longest first, one thread per judge."""
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from grader import grading
from grader.manifests import load_manifests
from grader.paths import ROOT
from grader.submissions import open_submission, student_code

MANIFESTS = load_manifests()


def test_the_pytorch_exercises_start_first_and_results_keep_the_manifest_order(monkeypatch):
    started = []

    def fake_grade_exercise(servers, submission, exercise, figures_dir):
        started.append(exercise.id)
        return {"id": exercise.id, "score": 0.0, "max_score": exercise.max_score, "tests": []}

    monkeypatch.setattr(grading, "grade_exercise", fake_grade_exercise)
    monkeypatch.setattr(grading, "JudgeServer", lambda count: type("Idle", (), {"close": lambda self: None})())
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


def _solution(exercise_id: str) -> str:
    exercise = MANIFESTS[exercise_id]
    return student_code(ROOT / "solutions" / exercise.exercise_dir.name / exercise.student_file)[0]


def test_a_judge_out_of_time_is_killed_and_the_judge_beside_it_is_spared(monkeypatch):
    # the server sweeps what a killed judge left: never the judges at work beside it
    monkeypatch.setattr(grading, "JUDGE_MARGIN_S", 0)
    exercise = MANIFESTS["neuron_gradient"]
    no_time = SimpleNamespace(manifest_path=exercise.manifest_path, limits=SimpleNamespace(total_timeout_s=0))
    with grading.run_folder():
        server = grading.JudgeServer(2)
        try:
            with ThreadPoolExecutor(2) as pool:
                beside = pool.submit(server.run, exercise, _solution(exercise.id), [], None)
                time.sleep(0.2)  # the server reads it first, and starts its judge first
                killed = pool.submit(server.run, no_time, _solution(exercise.id), [], None)
        finally:
            server.close()
    assert killed.result()["status"] == "timeout"
    assert beside.result()["status"] == "graded" and beside.result()["score"] == exercise.max_score, beside.result()
    assert len(server.started) == 1  # both judges came from one server


def test_a_server_that_dies_costs_only_its_jobs_and_the_next_job_gets_a_new_one():
    exercise = MANIFESTS["neuron_gradient"]
    with grading.run_folder():
        server = grading.JudgeServer(1)
        try:
            with ThreadPoolExecutor(1) as pool:
                lost = pool.submit(server.run, exercise, _solution(exercise.id), [], None)
                time.sleep(0.2)
                server.server.kill()
                assert "the judge server stopped" in lost.result()["message"]
            after = server.run(exercise, _solution(exercise.id), [], None)
        finally:
            server.close()
    assert after["status"] == "graded" and after["score"] == exercise.max_score, after
    assert len(server.started) == 2
