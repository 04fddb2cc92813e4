"""Grades (submission, exercise) pairs, each in a fresh trusted judge process.

    python -m grader.judge.worker      # one JSON job per line on stdin, one JSON result per line out

job: {"id": the job's, "manifest": path, "source": the student's code as text, "notes": [...],
"timeout": seconds, "figures_dir": where the tests' pictures go, or null for none}; result:
{"id": the job's, "result": the exercise's result}, in the order the judges end.
This process imports pytest, NumPy and torch once, then forks a fresh judge for each job as it
arrives, beside the judges at work (the grading process sends as many at once as it runs): the
judge checks the source and runs the exercise's public and hidden tests with pytest, ``student``
being a proxy to a sandboxed child, and sends back the exercise's result (the JSON of SPEC.md).
A judge that outlives its job's timeout is killed, and everything below it with it.
"""
from __future__ import annotations

import gc
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.judge.figures import Figures
from grader.judge.plugin import JudgePlugin
from grader.judge.proxy import StudentProxy
from grader.judge.scoring import exercise_result, not_graded, score_tests
from grader.judge.static import source_problems
from grader.manifests import load_manifest
from grader.paths import EXERCISES, ROOT
from grader.sandbox import warm
from grader.sandbox.launcher import GPU_DEVICES, die_with_parent, harden_judge_process, isolation, kill_descendants

JUDGE_MEMORY_BYTES = 6 * 2**30  # the judge's own address space: torch, pytest and what the child sent


def grade(exercise, source: str, notes: list[str], figures_dir: Path | None) -> dict:
    problems = source_problems(source, exercise)
    if problems:
        return exercise_result(exercise, "error", score_tests(exercise, [], problems[0]), notes + problems)
    for path in (ROOT, EXERCISES, exercise.exercise_dir):  # reference/, nnex_check, support modules
        sys.path.insert(0, str(path))
    proxy = StudentProxy(exercise, source)
    figures = Figures(figures_dir, exercise.id)
    plugin = JudgePlugin(proxy, figures, secret=exercise.hidden_test_file.read_bytes())
    test_files = [str(p) for p in exercise.public_test_files] + [str(exercise.hidden_test_file)]
    with tempfile.TemporaryDirectory(prefix="nnex-judge-") as rootdir:
        pytest.main([*test_files, "--rootdir", rootdir, "-c", os.devnull, "--noconftest",
                     "--assert=plain", "-p", "no:cacheprovider", "-q", "--no-header"],
                    plugins=[plugin, plugin.session_fixtures()])
    proxy.close()
    if plugin.collection_errors:
        raise RuntimeError("; ".join(plugin.collection_errors))
    if proxy.start_error:  # the grader's fault, not the student's: never a silent 0
        return not_graded(exercise, "error", f"internal grader error: {proxy.start_error}", notes)
    status = "timeout" if proxy.timed_out else "error" if proxy.import_error else "graded"
    if proxy.import_error:
        notes = notes + [proxy.import_error]
    reason = proxy.import_error or "the test did not run"
    return exercise_result(exercise, status, score_tests(exercise, list(plugin.verdicts.values()), reason), notes,
                           figures.saved)


def _limit_judge_memory() -> None:
    """A judge that decodes what a child sent must not take the machine's memory with it."""
    # CUDA reserves far more address space than it uses, so with a GPU the limit is on data instead
    kind = resource.RLIMIT_DATA if GPU_DEVICES else resource.RLIMIT_AS
    _, hard = resource.getrlimit(kind)
    limit = JUDGE_MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(JUDGE_MEMORY_BYTES, hard)
    resource.setrlimit(kind, (limit, hard))


@dataclass
class Judging:
    """A judge at work on one job."""
    job: dict
    exercise: object
    pid: int
    result_fd: int  # the read end of the pipe the judge writes its result to
    deadline: float
    folder: str  # the judge's temporary files (its sandboxes' folders among them)
    chunks: list[bytes] = field(default_factory=list)


def start_judge(job: dict, exercise, others: list[Judging]) -> Judging:
    """Fork a fresh judge for ``job`` (``exercise`` its manifest's); ``others`` are the judges at work
    beside it."""
    folder = tempfile.mkdtemp(prefix="nnex-job-")
    read_fd, write_fd = os.pipe()
    server = os.getpid()
    # the judge's collections (pytest ends with two) then leave torch's and pytest's objects alone:
    # a third of a NumPy exercise's job otherwise
    gc.freeze()
    pid = os.fork()
    if pid == 0:  # the judge
        try:
            os.close(read_fd)
            for other in others:  # another job's result is not this judge's to read
                os.close(other.result_fd)
            die_with_parent(server)
            harden_judge_process()
            _limit_judge_memory()
            tempfile.tempdir = folder
            try:
                figures_dir = Path(job["figures_dir"]) if job.get("figures_dir") else None
                result = grade(exercise, job["source"], job["notes"], figures_dir)
            except Exception as error:  # a fault of the grader's own: reported, never a silent 0
                result = not_graded(exercise, "error", f"internal grader error: {type(error).__name__}: {error}",
                                    job["notes"])
            kill_descendants()
            with os.fdopen(write_fd, "wb") as out:
                out.write(json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    return Judging(job, exercise, pid, read_fd, time.monotonic() + job["timeout"], folder)


def finish_judge(judging: Judging, timed_out: bool, others: list[Judging]) -> dict:
    """The result of a judge that wrote it, or ran out of time (it is killed); what it started is
    killed with it, and its folder removed. ``others`` are the judges still at work."""
    if timed_out:
        try:
            os.kill(judging.pid, signal.SIGKILL)
        except ProcessLookupError:  # reaped already: never a reason to lose the jobs beside it
            pass
    os.close(judging.result_fd)
    try:
        os.waitpid(judging.pid, 0)
    except ChildProcessError:  # reaped already
        pass
    kill_descendants(spare={other.pid for other in others})  # what the judge left (its orphans come here)
    shutil.rmtree(judging.folder, ignore_errors=True)
    exercise, notes = judging.exercise, judging.job["notes"]
    if timed_out:
        return not_graded(exercise, "timeout", "grading did not finish within the exercise's time budget", notes)
    try:
        return json.loads(b"".join(judging.chunks))
    except ValueError:
        return not_graded(exercise, "error", "internal grader error: the judge stopped without a result", notes)


def judges_ended(at_work: list[Judging], ready: list[int], now: float) -> list[tuple[Judging, bool]]:
    """The judges that are done, each with whether it ran out of time, after reading what the
    ``ready`` ones wrote. A judge past its deadline has what it wrote read to the end first: one that
    ended in time, seen late because the server was busy (starting a zygote), keeps its result."""
    ended = []
    for judging in at_work:
        late = now >= judging.deadline
        if judging.result_fd in ready or late:
            while select.select([judging.result_fd], [], [], 0)[0]:
                chunk = os.read(judging.result_fd, 2**20)
                judging.chunks.append(chunk)
                if not chunk:
                    ended.append((judging, False))
                    break
                if not late:
                    break  # the rest when it comes
            else:
                if late:
                    ended.append((judging, True))
    return ended


def serve() -> None:
    """Start a judge for each job read from stdin as soon as it arrives, beside those at work, and
    write each result, tagged with its job's "id", as soon as its judge is done."""
    import torch  # the references' library: imported once, inherited by every judge

    torch.set_num_threads(1)  # judges run side by side, one per core, like their sandboxed children

    results = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what pytest prints must not mix with the results
    harden_judge_process()  # the orphans of a killed judge come back here to be swept
    isolation()  # probed once here, inherited by every judge (not once per job)
    at_work: dict[int, Judging] = {}  # by result_fd
    unread, reading = b"", True
    while reading or at_work:
        first_deadline = min((j.deadline for j in at_work.values()), default=None)
        wait = None if first_deadline is None else max(0.0, first_deadline - time.monotonic())
        ready = select.select(([0] if reading else []) + list(at_work), [], [], wait)[0]
        for judging, timed_out in judges_ended(list(at_work.values()), ready, time.monotonic()):
            del at_work[judging.result_fd]
            result = finish_judge(judging, timed_out, list(at_work.values()))
            results.write(json.dumps({"id": judging.job["id"], "result": result}) + "\n")
            results.flush()
        if 0 in ready:
            data = os.read(0, 2**20)
            reading = bool(data)
            *lines, unread = (unread + data).split(b"\n")
            jobs = [json.loads(line) for line in lines]
            exercises = [load_manifest(Path(job["manifest"])) for job in jobs]
            # the zygotes these jobs need, started side by side (once per server: every judge forked after has them)
            warm.prepare([(exercise.library, exercise.forbidden) for exercise in exercises])
            for job, exercise in zip(jobs, exercises):
                judging = start_judge(job, exercise, list(at_work.values()))
                at_work[judging.result_fd] = judging
    warm.close_all()
    os._exit(0)  # every result is written: the interpreter's teardown of torch (half a second) is skipped


if __name__ == "__main__":
    serve()
