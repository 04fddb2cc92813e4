"""Grades one (submission, exercise) in a trusted process of its own.

    python -m grader.judge.worker < job.json > result.json

job: {"manifest": path, "source": the student's code as text, "notes": [...]}. The worker checks
the source, then runs the exercise's public and hidden tests with pytest, ``student`` being a proxy
to a sandboxed child. It writes the exercise's result (the JSON of SPEC.md) on stdout; everything
pytest prints goes to stderr.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

from grader.judge.plugin import JudgePlugin
from grader.judge.proxy import StudentProxy
from grader.judge.scoring import exercise_result, score_tests
from grader.judge.static import source_problems
from grader.manifests import load_manifest
from grader.paths import EXERCISES, ROOT
from grader.sandbox.launcher import harden_judge_process, kill_descendants


def grade(exercise, source: str, notes: list[str]) -> dict:
    problems = source_problems(source, exercise)
    if problems:
        return exercise_result(exercise, "error", score_tests(exercise, [], problems[0]), notes + problems)
    for path in (ROOT, EXERCISES, exercise.exercise_dir):  # reference/, nnex_check, support modules
        sys.path.insert(0, str(path))
    proxy = StudentProxy(exercise, source)
    plugin = JudgePlugin(proxy)
    test_files = [str(p) for p in exercise.public_test_files] + [str(exercise.hidden_test_file)]
    with tempfile.TemporaryDirectory(prefix="nnex-judge-") as rootdir:
        pytest.main([*test_files, "--rootdir", rootdir, "-c", os.devnull, "--noconftest",
                     "--assert=plain", "-p", "no:cacheprovider", "-q", "--no-header"], plugins=[plugin])
    proxy.close()
    if plugin.collection_errors:
        raise RuntimeError("; ".join(plugin.collection_errors))
    status = "timeout" if proxy.timed_out else "error" if proxy.import_error else "graded"
    if proxy.import_error:
        notes = notes + [proxy.import_error]
    reason = proxy.import_error or "the test did not run"
    return exercise_result(exercise, status, score_tests(exercise, list(plugin.verdicts.values()), reason), notes)


def main() -> None:
    job = json.load(sys.stdin)
    result_fd = os.dup(1)
    os.dup2(2, 1)  # pytest's output must not mix with the result
    harden_judge_process()
    try:
        result = grade(load_manifest(Path(job["manifest"])), job["source"], job["notes"])
    finally:
        kill_descendants()
    os.write(result_fd, json.dumps(result).encode())


if __name__ == "__main__":
    main()
