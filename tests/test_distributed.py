"""nnex grade --scheduler: the jobs go to a Dask cluster (here a LocalCluster of two worker
processes) and give the same reports as the local pool; a worker killed mid-job loses no result:
the job is graded again on a worker that lives, and stored once."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from distributed import LocalCluster

from grader.manifests import load_manifests
from grader.paths import ROOT
from test_stopping import _processes_naming

EXERCISE = load_manifests()["neuron_gradient"]
BATCH = ["solutions", "exercises", "examples/submissions/alice", "examples/submissions/bob"]


@pytest.fixture(scope="module")
def scheduler():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _grade(submissions, out: Path, *options) -> list[str]:
    return [sys.executable, "-m", "grader", "grade", *map(str, submissions), "--exercise", EXERCISE.id, "-q",
            "--db", str(out / "grades.sqlite"), "--json", str(out / "report.json"), *map(str, options)]


def _gradings(out: Path) -> list[int]:
    with sqlite3.connect(out / "grades.sqlite") as db:
        return [row[0] for row in db.execute("SELECT gradings FROM results")]


def test_the_cluster_gives_the_local_pools_reports(scheduler, tmp_path):
    for where, options in (("local", ["--jobs", "2"]), ("cluster", ["--scheduler", scheduler])):
        (tmp_path / where).mkdir()
        run = subprocess.run(_grade(BATCH, tmp_path / where, *options), cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
    local, cluster = ((tmp_path / w / "report.json").read_bytes() for w in ("local", "cluster"))
    assert [s["score"] for s in json.loads(cluster)["submissions"]] == [10, 0, 5, 6.75]
    assert cluster == local
    assert _gradings(tmp_path / "cluster") == [1, 1, 1, 1]


def _ancestor_below(pid: int, parent: int) -> int | None:
    """The ancestor of ``pid`` (or itself) whose parent is ``parent``."""
    while pid > 1:
        above = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        if above == parent:
            return pid
        pid = above
    return None


def test_a_worker_killed_mid_job_loses_no_result(scheduler, tmp_path):
    marker = f"2.{int(time.time() * 1000) % 10**6:06d}"
    slow = tmp_path / "slow" / EXERCISE.folder
    slow.mkdir(parents=True)
    (slow / EXERCISE.student_file).write_text(  # the solution, after a sleep findable in /proc
        f"import subprocess\nsubprocess.run(['/bin/sleep', '{marker}'])\n" + EXERCISE.solution_file.read_text())
    out = tmp_path / "out"
    out.mkdir()
    grading = subprocess.Popen(_grade([slow.parent, "solutions"], out, "--scheduler", scheduler), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (sleeping := _processes_naming(marker)):
        assert grading.poll() is None and time.monotonic() < deadline, grading.stderr.read()
        time.sleep(0.05)
    worker = _ancestor_below(int(sleeping[0].split(":")[0]), os.getpid())  # LocalCluster's workers: our children
    assert worker is not None
    os.kill(worker, signal.SIGKILL)
    _, stderr = grading.communicate(timeout=300)
    assert grading.returncode == 0, stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert [s["score"] for s in report["submissions"]] == [EXERCISE.max_score] * 2, stderr[-3000:]
    assert _gradings(out) == [1, 1]
    time.sleep(1)
    assert _processes_naming(marker) == []
