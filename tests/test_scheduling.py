"""How grading spreads its jobs over the judges: longest first, one thread per judge."""
import os
import queue
import subprocess
import sys
import threading
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


def _in_a_process_of_its_own(code: str) -> str:
    """Run ``code`` in a fresh interpreter (a sweep kills what is below the process that sweeps)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_sweep_after_a_judge_leaves_a_judge_beside_it_that_ended_to_the_server():
    # a judge beside it that has just ended is the server's to reap: reaped by the sweep, its pid
    # could be another process's by the time the server kills it (its job out of time)
    assert _in_a_process_of_its_own(
        "import os, time\n"
        "from grader.sandbox.launcher import kill_descendants\n"
        "ended = os.fork()\n"
        "if ended == 0: os._exit(7)\n"
        "left = os.fork()\n"
        "if left == 0: time.sleep(60); os._exit(0)\n"
        "time.sleep(0.2)\n"
        "kill_descendants(spare={ended})\n"
        "print(os.waitpid(ended, os.WNOHANG) == (ended, 7 << 8), os.path.exists(f'/proc/{left}'))\n") == "True False"


def test_a_judge_out_of_time_that_was_reaped_already_does_not_stop_the_server():
    assert _in_a_process_of_its_own(
        "import os, tempfile\n"
        "from grader.judge.worker import Judging, finish_judge\n"
        "from grader.manifests import load_manifests\n"
        "pid = os.fork()\n"
        "if pid == 0: os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "read_fd, write_fd = os.pipe()\n"
        "judging = Judging({'id': 0, 'notes': []}, load_manifests()['neuron_gradient'], pid, read_fd, 0.0,\n"
        "                  tempfile.mkdtemp())\n"
        "print(finish_judge(judging, True, [])['status'])\n") == "timeout"


def test_a_server_that_dies_in_the_middle_of_an_answer_costs_only_its_jobs(monkeypatch, tmp_path):
    # killed while it writes a long answer: the grading must not wait for the rest forever
    fake = tmp_path / "server"
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.stdin.readline()\n"
                    "sys.stdout.write('{\"id\": 0, \"result\": {\"status\": \"gra'); sys.stdout.flush()\n")
    fake.chmod(0o755)
    monkeypatch.setattr(grading, "sys", SimpleNamespace(executable=str(fake)))
    exercise = MANIFESTS["neuron_gradient"]
    server = grading.JudgeServer(1)
    answers = queue.SimpleQueue()
    try:  # a thread of its own, that the test does not wait for where the job is never answered
        threading.Thread(target=lambda: answers.put(server.run(exercise, "", [], None)), daemon=True).start()
        assert "the judge server stopped" in answers.get(timeout=30)["message"]
    finally:
        server.kill()
        server.close()


def test_a_judge_that_ended_in_time_but_is_seen_late_keeps_its_result():
    # the server may be busy past a judge's deadline (starting a zygote): what the judge wrote counts
    from grader.judge.worker import Judging, judges_ended

    judges, still_open = [], []
    for finished in (True, False):
        read_fd, write_fd = os.pipe()
        os.write(write_fd, b'{"status": "graded"}')
        (os.close if finished else still_open.append)(write_fd)
        judges.append(Judging({"id": 0, "notes": []}, None, 0, read_fd, deadline=0.0, folder=""))
    ended = judges_ended(judges, ready=[], now=1.0)
    for fd in [*still_open, *(judging.result_fd for judging in judges)]:
        os.close(fd)
    assert [(judging is judges[0], timed_out) for judging, timed_out in ended] == [(True, False), (False, True)]
    assert b"".join(judges[0].chunks) == b'{"status": "graded"}'
