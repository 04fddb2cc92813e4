"""Grades (submission, exercise) pairs, each in a fresh trusted judge process.

    python -m grader.judge.worker      # one JSON job per line on stdin, one JSON result per line out

job: {"manifest": path, "source": the student's code as text, "notes": [...], "timeout": seconds,
"figures_dir": where the tests' pictures go, or null for none}.
This process imports pytest, NumPy and torch once, then forks a fresh judge for each job: the
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


def run_job(job: dict) -> dict:
    """Fork a fresh judge for ``job`` and return its result.

    The judge's temporary files (its sandboxes' folders among them) go to a folder of the job's,
    removed when the judge is done, however it ended.
    """
    exercise = load_manifest(Path(job["manifest"]))
    warm.prepare(exercise.library, exercise.forbidden)  # once per server: every judge forked after has it
    job_tmp = tempfile.mkdtemp(prefix="nnex-job-")
    read_fd, write_fd = os.pipe()
    server = os.getpid()
    # the judge's collections (pytest ends with two) then leave torch's and pytest's objects alone:
    # a sixth of a NumPy exercise's time otherwise
    gc.freeze()
    pid = os.fork()
    if pid == 0:  # the judge
        try:
            os.close(read_fd)
            die_with_parent(server)
            harden_judge_process()
            _limit_judge_memory()
            tempfile.tempdir = job_tmp
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
    chunks, deadline = [], time.monotonic() + job["timeout"]
    while (left := deadline - time.monotonic()) > 0 and select.select([read_fd], [], [], left)[0]:
        chunk = os.read(read_fd, 2**20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    timed_out = time.monotonic() >= deadline
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    kill_descendants()
    shutil.rmtree(job_tmp, ignore_errors=True)
    if timed_out:
        return not_graded(exercise, "timeout", "grading did not finish within the exercise's time budget",
                          job["notes"])
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return not_graded(exercise, "error", "internal grader error: the judge stopped without a result",
                          job["notes"])


def serve() -> None:
    import torch  # the references' library: imported once, inherited by every judge

    torch.set_num_threads(1)  # judges run side by side, one per core, like their sandboxed children

    results = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what pytest prints must not mix with the results
    harden_judge_process()  # the orphans of a killed judge come back here to be swept
    isolation()  # probed once here, inherited by every judge (not once per job)
    for line in sys.stdin:
        results.write(json.dumps(run_job(json.loads(line))) + "\n")
        results.flush()
    warm.close_all()
    os._exit(0)  # every result is written: the interpreter's teardown of torch (half a second) is skipped


if __name__ == "__main__":
    serve()
