"""Grades submissions: a fresh judge per (submission, exercise), several at a time.

The judges come from a long-lived server (grader/judge/worker.py) that imports the heavy libraries
once and forks one judge per job, several at once. The server is started by this process's main
thread, in a session of its own: a Ctrl-C at the terminal reaches only this process, which then
stops it, and when this process dies, however it dies, the server dies with it (and its judges and
sandboxes with it).
"""
from __future__ import annotations

import itertools
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from grader.judge.scoring import not_graded
from grader.reports import feedback_name
from grader.sandbox.launcher import die_with_parent
from grader.submissions import (Submission, SubmissionError, answer_cells, in_notebook_cells, student_code,
                                written_answers)

JUDGE_MARGIN_S = 60  # the judge's own start and reference computations, beyond the child's budget


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


@contextmanager
def run_folder():
    """A temporary folder for everything of one run (extracted zips, the judges' and the sandboxes'
    folders: TMPDIR for this process and the server it starts), removed when the run ends. The
    folders of runs that were killed (kill -9 leaves no chance to clean up) go at the next start."""
    base = Path(tempfile.gettempdir())
    for stale in base.glob("nnex-run-*"):
        pid = stale.name.split("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    folder = tempfile.mkdtemp(prefix=f"nnex-run-{os.getpid()}-", dir=base)
    previous = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = folder
    try:
        yield Path(folder)
    finally:
        tempfile.tempdir = previous[1]
        if previous[0] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous[0]
        shutil.rmtree(folder, ignore_errors=True)


class GradingInterrupted(Exception):
    """Grading stopped early (Ctrl-C); ``results`` holds what was graded, as ``grade`` returns it."""

    def __init__(self, results: list[dict], done: int, total: int):
        super().__init__(f"{done} of {total} exercises graded")
        self.results, self.done, self.total = results, done, total


def server_environment() -> dict[str, str]:
    """A judge server's environment."""
    return dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1",
                PYTHONHASHSEED="0",  # the same batch gives the same messages, run after run
                # one thread per judge, as per child: a BLAS pool of a thread per core (OpenBLAS's
                # spins between calls) would take the cores of the judges beside it
                OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


class JudgeServer:
    """A judge server (grader/judge/worker.py) running up to ``count`` jobs at once, a judge forked
    for each: its start, its libraries and its warm sandboxes' zygotes are had once, not once per
    job at a time."""

    def __init__(self, count: int):
        self.slots = threading.Semaphore(count)
        self.lock = threading.Lock()  # over the jobs waiting, the servers ended and which server is current
        self.writing = threading.Lock()  # one job at a time on a server's input
        self.waiting: dict[int, tuple[subprocess.Popen, queue.SimpleQueue]] = {}
        self.ended: set[subprocess.Popen] = set()
        self.job_ids = itertools.count()
        self.started: list[subprocess.Popen] = []
        self.stopped = False
        # from this thread: a server dies when the thread that started it ends; none for no job (it imports torch)
        self.server = self._start() if count else None

    def _start(self) -> subprocess.Popen:
        parent = os.getpid()
        server = subprocess.Popen(
            [sys.executable, "-m", "grader.judge.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, start_new_session=True, preexec_fn=lambda: die_with_parent(parent),
            env=server_environment())
        self.started.append(server)
        threading.Thread(target=self._hand_out_answers, args=(server,), daemon=True).start()
        return server

    def _hand_out_answers(self, server: subprocess.Popen) -> None:
        """Give each answer to the job that waits for it; once the server stops, None to each of its
        jobs still waiting."""
        try:
            for line in server.stdout:
                answer = json.loads(line)
                with self.lock:
                    self.waiting.pop(answer["id"])[1].put(answer["result"])
        except (OSError, ValueError, KeyError, TypeError):  # an answer cut short: the server died as it wrote
            server.kill()
        finally:
            with self.lock:
                self.ended.add(server)
                for job in [job for job, (owner, _) in self.waiting.items() if owner is server]:
                    self.waiting.pop(job)[1].put(None)

    def run(self, exercise, source: str, notes: list[str], figures_dir: Path | None) -> dict:
        with self.slots:
            with self.lock:
                if self.stopped:
                    return not_graded(exercise, "error", "grading was interrupted", notes)
                if self.server in self.ended:  # it died with its jobs: the next job gets a new one
                    self.server = self._start()
                server, job_id, answer = self.server, next(self.job_ids), queue.SimpleQueue()
                self.waiting[job_id] = (server, answer)
            job = {"id": job_id, "manifest": str(exercise.manifest_path), "source": source, "notes": notes,
                   "timeout": exercise.limits.total_timeout_s + JUDGE_MARGIN_S,
                   "figures_dir": str(figures_dir) if figures_dir else None}
            # not under self.lock: the server may be waiting for its answers to be taken before it reads
            with self.writing:
                try:
                    server.stdin.write(json.dumps(job) + "\n")
                    server.stdin.flush()
                except (OSError, ValueError):
                    pass  # the server has died: its jobs, this one among them, are answered None
            result = answer.get()
        if result is None:
            why = "grading was interrupted" if self.stopped else "internal grader error: the judge server stopped"
            return not_graded(exercise, "error", why, notes)
        return result

    def kill(self) -> None:
        self.stopped = True
        for server in self.started:
            server.kill()

    def close(self) -> None:
        for server in self.started:
            if server.poll() is None:
                try:
                    server.stdin.close()
                except OSError:
                    pass
            server.wait()


def grade_exercise(server: JudgeServer, submission: Submission, exercise, figures_dir: Path | None) -> dict:
    """The exercise's result for the submission (SPEC.md's JSON), its scores rounded to the
    manifest's resolution; with the written answers of the student's file, to be graded by hand."""
    answers = []
    if submission.error is not None:
        result = not_graded(exercise, "error", submission.error)
    else:
        try:
            path = submission.locate(exercise)
            if path is None:
                result = not_graded(exercise, "missing",
                                    f"no {exercise.student_file} or {exercise.module}.ipynb in the submission")
            else:
                source, notes, origins = student_code(path)
                answers = written_answers(path, answer_cells(exercise.exercise_dir / exercise.student_file))
                result = server.run(exercise, source, submission.notes + notes, figures_dir)
                if origins:
                    result = in_notebook_cells(result, origins, exercise.student_file)
        except SubmissionError as error:
            result = not_graded(exercise, "error", str(error))
        except Exception as error:  # reading one file goes wrong: it costs only this exercise
            result = not_graded(exercise, "error", f"the submission's {exercise.student_file} cannot be read: "
                                                   f"{type(error).__name__}: {error}")
    tests = [dict(test, score=exercise.round_score(test["score"])) for test in result["tests"]]
    rounded = dict(result, score=total(t["score"] for t in tests), max_score=exercise.max_score, tests=tests)
    return dict(rounded, written_answers=answers) if answers else rounded


def total(scores) -> float:
    """The sum of rounded scores, without binary residue (60.0, never 60.00000000000002)."""
    return float(sum((Decimal(repr(float(score))) for score in scores), Decimal(0)))


def _holds(submission: Submission, exercise) -> bool:
    try:
        return submission.locate(exercise) is not None
    except Exception:
        return True  # graded as an error, with the message


def _pairs(submissions: list[Submission], exercises: list, count_missing: bool) -> tuple[list[tuple[Submission, object]], int]:
    """The (submission, exercise) pairs to grade: the exercises a submission holds, or every one of
    ``exercises`` with ``count_missing`` or where it holds none (each then missing, with why); and
    how many of them a judge grades (the others are missing or unreadable)."""
    pairs, judged = [], 0
    for submission in submissions:
        held = [exercise for exercise in exercises if _holds(submission, exercise)]
        pairs += [(submission, exercise) for exercise in (exercises if count_missing or not held else held)]
        judged += len(held) if submission.error is None else 0
    return pairs, judged


def _expected_cost(pair: tuple[Submission, object]) -> int:
    """Orders the jobs, longest first, so that no long one starts last while the other judges idle:
    a PyTorch exercise takes seconds where a NumPy one takes well under one."""
    return 1 if pair[1].library == "torch" else 0


def grade(submissions: list[Submission], exercises: list, jobs: int, figures_dir: Path | None = None,
          count_missing: bool = False, on_result=None, judges=JudgeServer) -> list[dict]:
    """Results in the order of ``submissions``, each with its exercises in manifest order.

    Only the exercises a submission holds count, unless ``count_missing`` (see _pairs). With
    ``figures_dir``, the tests' pictures of a submission go to its folder there
    (reports.feedback_name). ``on_result(submission, exercise result)`` is called as each exercise
    is graded. A KeyboardInterrupt stops the server and raises GradingInterrupted with the
    exercises graded so far. ``judges(count)`` gives what runs the jobs: by default a local judge
    server running ``count`` at once; grader/distributed gives the judges of a Dask cluster.
    """
    pairs, judged = _pairs(submissions, exercises, count_missing)
    results: dict[int, dict] = {}
    judging = judges(min(jobs, judged))
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    interrupted = False
    try:
        longest_first = sorted(range(len(pairs)), key=lambda i: _expected_cost(pairs[i]), reverse=True)
        pending = {pool.submit(grade_exercise, judging, pairs[i][0], pairs[i][1],
                               figures_dir / feedback_name(pairs[i][0].id) if figures_dir else None): i
                   for i in longest_first}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                results[index] = future.result()
                if on_result is not None:
                    on_result(pairs[index][0], results[index])
    except KeyboardInterrupt:
        interrupted = True
        judging.kill()  # the judges and their sandboxes die with their server
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        judging.close()
    graded = []
    for submission in submissions:
        mine = [results[i] for i, (s, _) in enumerate(pairs) if s is submission and i in results]
        graded.append({"id": submission.id,
                       "student": submission.student.as_dict() if submission.student else None,
                       "score": total(r["score"] for r in mine), "max_score": total(r["max_score"] for r in mine),
                       **({"error": submission.error} if submission.error else {}), "exercises": mine})
    if interrupted:
        raise GradingInterrupted(graded, len(results), len(pairs))
    return graded
