"""Grades submissions: a fresh judge per (submission, exercise), several at a time.

The judges come from ``jobs`` long-lived servers (grader/judge/worker.py) that import the heavy
libraries once and fork one judge per job.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.judge.scoring import not_graded
from grader.reports import feedback_name
from grader.submissions import Submission, SubmissionError, student_code

JUDGE_MARGIN_S = 60  # the judge's own start and reference computations, beyond the child's budget


class JudgeServers:
    """A pool of judge servers; each runs one job at a time."""

    def __init__(self):
        self.idle: queue.SimpleQueue[subprocess.Popen] = queue.SimpleQueue()
        self.started: list[subprocess.Popen] = []

    def _start(self) -> subprocess.Popen:
        server = subprocess.Popen(
            [sys.executable, "-m", "grader.judge.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1"))
        self.started.append(server)
        return server

    def run(self, exercise, source: str, notes: list[str], figures_dir: Path | None) -> dict:
        try:
            server = self.idle.get_nowait()
        except queue.Empty:
            server = self._start()
        job = {"manifest": str(exercise.manifest_path), "source": source, "notes": notes,
               "timeout": exercise.limits.total_timeout_s + JUDGE_MARGIN_S,
               "figures_dir": str(figures_dir) if figures_dir else None}
        try:
            server.stdin.write(json.dumps(job) + "\n")
            server.stdin.flush()
            answer = server.stdout.readline()
        except OSError:
            answer = ""
        if not answer:  # the server died: this job is lost, the next one gets a new server
            server.kill()
            return not_graded(exercise, "error", "internal grader error: the judge server stopped", notes)
        self.idle.put(server)
        return json.loads(answer)

    def close(self) -> None:
        for server in self.started:
            if server.poll() is None:
                server.stdin.close()
                server.wait()


def grade_exercise(servers: JudgeServers, submission: Submission, exercise, figures_dir: Path | None) -> dict:
    if submission.error is not None:
        return not_graded(exercise, "error", submission.error)
    try:
        path = submission.locate(exercise)
        if path is None:
            return not_graded(exercise, "missing",
                              f"no {exercise.student_file} or {exercise.module}.ipynb in the submission")
        source, notes = student_code(path)
    except SubmissionError as error:
        return not_graded(exercise, "error", str(error))
    return servers.run(exercise, source, submission.notes + notes, figures_dir)


def grade(submissions: list[Submission], exercises: list, jobs: int, feedback_dir: Path | None = None) -> list[dict]:
    """Results in the order of ``submissions``, each with its exercises in manifest order.

    With ``feedback_dir``, the tests' pictures of a submission go to its folder there
    (reports.feedback_name).
    """
    pairs = [(s, e) for s in submissions for e in exercises
             if s.only is None or s.locate(e) is not None]
    servers = JudgeServers()
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(lambda pair: grade_exercise(
                servers, *pair, feedback_dir / feedback_name(pair[0].id) if feedback_dir else None), pairs))
    finally:
        servers.close()
    graded = []
    for submission in submissions:
        mine = [r for (s, _), r in zip(pairs, results) if s is submission]
        graded.append({"id": submission.id, "score": round(sum(r["score"] for r in mine), 4),
                       "max_score": sum(r["max_score"] for r in mine), "exercises": mine})
    return graded
