"""Grades submissions: one judge worker process per (submission, exercise), several at a time."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from grader.judge.scoring import exercise_result, score_tests
from grader.submissions import Submission, SubmissionError, student_code

WORKER_MARGIN_S = 60  # the judge's own start-up and reference computations, beyond the child's budget


def _not_graded(exercise, status: str, message: str, notes: list[str] = ()) -> dict:
    return exercise_result(exercise, status, score_tests(exercise, [], message), [*notes, message])


def run_worker(exercise, source: str, notes: list[str]) -> dict:
    job = json.dumps({"manifest": str(exercise.manifest_path), "source": source, "notes": notes})
    environment = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1")
    try:
        finished = subprocess.run([sys.executable, "-m", "grader.judge.worker"], input=job.encode(),
                                  capture_output=True, env=environment,
                                  timeout=exercise.limits.total_timeout_s + WORKER_MARGIN_S)
    except subprocess.TimeoutExpired:
        return _not_graded(exercise, "timeout", "grading did not finish within the exercise's time budget", notes)
    if finished.returncode != 0:
        tail = finished.stderr.decode(errors="replace").strip().splitlines()[-5:]
        return _not_graded(exercise, "error", "internal grader error: " + " | ".join(tail), notes)
    return json.loads(finished.stdout)


def grade_exercise(submission: Submission, exercise) -> dict:
    if submission.error is not None:
        return _not_graded(exercise, "error", submission.error)
    try:
        path = submission.locate(exercise)
        if path is None:
            return _not_graded(exercise, "missing",
                               f"no {exercise.student_file} or {exercise.module}.ipynb in the submission")
        source, notes = student_code(path)
    except SubmissionError as error:
        return _not_graded(exercise, "error", str(error))
    return run_worker(exercise, source, submission.notes + notes)


def grade(submissions: list[Submission], exercises: list, jobs: int) -> list[dict]:
    """Results in the order of ``submissions``, each with its exercises in manifest order."""
    pairs = [(s, e) for s in submissions for e in exercises
             if s.only is None or s.locate(e) is not None]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda pair: grade_exercise(*pair), pairs))
    graded = []
    for submission in submissions:
        mine = [r for (s, _), r in zip(pairs, results) if s is submission]
        graded.append({"id": submission.id, "score": round(sum(r["score"] for r in mine), 4),
                       "max_score": sum(r["max_score"] for r in mine), "exercises": mine})
    return graded
