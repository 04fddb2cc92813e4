"""The results store: a rerun of an unchanged batch grades nothing and writes the same bytes, a
changed file alone is graded again, `nnex report` remakes the reports without grading, and a
`kill -9` at any moment followed by the same command gives the reports of an uninterrupted run,
each (submission, exercise) graded exactly once."""
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from grader.manifests import load_manifests
from grader.paths import ROOT
from test_stopping import _processes_naming

EXERCISE = load_manifests()["neuron_gradient"]
CATALOGUE = ROOT / "tests" / "catalogue" / EXERCISE.id
REPORTS = ("report.json", "report.csv", "feedback")


def _texts() -> dict[str, str]:
    """Ten different neuron.py: the solution, the stub, the catalogue's alternatives and mutants."""
    solution = EXERCISE.solution_file.read_text()
    texts = {"solution": solution, "stub": (EXERCISE.exercise_dir / EXERCISE.student_file).read_text()}
    texts.update({path.stem: path.read_text() for path in sorted(CATALOGUE.glob("alt_*.py"))})
    for mutant in yaml.safe_load((CATALOGUE / "mutants.yaml").read_text()):
        if len(texts) == 10:
            break
        text = solution
        for edit in mutant["replace"]:
            text = text.replace(edit["old"], edit["new"])
        texts[mutant["name"]] = text
    return texts


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("batch")
    folders = []
    for name, text in _texts().items():
        (root / name / EXERCISE.folder).mkdir(parents=True)
        (root / name / EXERCISE.folder / EXERCISE.student_file).write_text(text)
        folders.append(root / name)
    assert len(folders) == 10
    return folders


def _grade(batch, out: Path, *options) -> list:
    return [sys.executable, "-m", "grader", "grade", *map(str, batch), "--exercise", EXERCISE.id, "--jobs", "2",
            "-q", "--db", str(out / "grades.sqlite"), "--json", str(out / "report.json"),
            "--csv", str(out / "report.csv"), "--feedback", str(out / "feedback"), *map(str, options)]


def _timed(command: list, **options) -> float:
    started = time.monotonic()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, **options)
    assert run.returncode == 0, run.stderr[-3000:]
    return time.monotonic() - started


def _reports(out: Path) -> dict[str, bytes]:
    files = [out / "report.json", out / "report.csv", *sorted((out / "feedback").iterdir())]
    return {str(path.relative_to(out)): path.read_bytes() for path in files}


def _gradings(out: Path) -> list[int]:
    """How many times a judge's result was written, per stored key."""
    with sqlite3.connect(out / "grades.sqlite") as db:
        return [row[0] for row in db.execute("SELECT gradings FROM results ORDER BY code_hash")]


@pytest.fixture(scope="module")
def uninterrupted(batch, tmp_path_factory) -> tuple[Path, float]:
    """The batch graded once, without a stop; and how long that took beyond the command's start."""
    out = tmp_path_factory.mktemp("uninterrupted")
    start = _timed([sys.executable, "-m", "grader", "--version"])
    return out, _timed(_grade(batch, out)) - start


def test_a_rerun_of_an_unchanged_batch_grades_nothing_and_writes_the_same_bytes(batch, uninterrupted, tmp_path):
    out, first = uninterrupted
    before = _reports(out)
    assert _gradings(out) == [1] * 10
    assert json.loads(before["report.json"])["submissions"][0]["score"] == EXERCISE.max_score
    # the least of three, as the machine's other work comes and goes: the interpreter and its imports,
    # then the rerun
    start = min(_timed([sys.executable, "-m", "grader", "--version"]) for _ in range(3))
    again = min(_timed(_grade(batch, out)) for _ in range(3)) - start
    assert _gradings(out) == [1] * 10  # no judge ran
    assert _reports(out) == before
    assert again < 0.05 * first, f"the rerun took {again:.2f} s beyond the start, the first run {first:.2f} s"

    # the reports again from the store alone, elsewhere
    _timed([sys.executable, "-m", "grader", "report", "--db", out / "grades.sqlite", "-q", "--json",
            tmp_path / "report.json", "--csv", tmp_path / "report.csv", "--feedback", tmp_path / "feedback"])
    assert _reports(tmp_path) == before


def test_a_changed_file_alone_is_graded_again_and_regrade_grades_all(batch, tmp_path):
    copies = []
    for folder in batch[:3]:
        copy = tmp_path / "batch" / folder.name
        (copy / EXERCISE.folder).mkdir(parents=True)
        (copy / EXERCISE.folder / EXERCISE.student_file).write_bytes(
            (folder / EXERCISE.folder / EXERCISE.student_file).read_bytes())
        copies.append(copy)
    _timed(_grade(copies, tmp_path))
    assert _gradings(tmp_path) == [1, 1, 1]
    changed = copies[1] / EXERCISE.folder / EXERCISE.student_file
    changed.write_text(changed.read_text() + "\n# one more line\n")
    _timed(_grade(copies, tmp_path))
    assert sorted(_gradings(tmp_path)) == [1, 1, 1, 1]  # one new key; nothing else graded
    _timed(_grade(copies, tmp_path, "--regrade"))
    assert sorted(_gradings(tmp_path)) == [1, 2, 2, 2]  # the three files of the batch, once more each


def test_kill_9_at_a_random_moment_then_the_same_command_gives_the_uninterrupted_reports(batch, uninterrupted,
                                                                                         tmp_path):
    reference, first = uninterrupted
    seed = random.randrange(10**6)
    moment = random.Random(seed).uniform(0.5, first * 0.9 + 1.5)  # the command's start is not counted in first
    run_tmp = tmp_path / "tmp"
    run_tmp.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    grading = subprocess.Popen(_grade(batch, out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env=dict(os.environ, TMPDIR=str(run_tmp)))
    time.sleep(moment)
    os.kill(grading.pid, signal.SIGKILL)
    grading.wait()
    deadline = time.monotonic() + 5
    while _processes_naming(str(run_tmp)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_naming(str(run_tmp)) == [], f"left behind after kill -9 at {moment:.2f} s (seed {seed})"
    stored = len(_gradings(out)) if (out / "grades.sqlite").exists() else 0
    _timed(_grade(batch, out), env=dict(os.environ, TMPDIR=str(run_tmp)))
    assert _gradings(out) == [1] * 10, f"killed at {moment:.2f} s with {stored} stored (seed {seed})"
    assert _reports(out) == _reports(reference)


def test_a_store_that_is_not_one_is_named(tmp_path):
    store = tmp_path / "grades.sqlite"
    store.write_text("not a database")
    run = subprocess.run([sys.executable, "-m", "grader", "report", "--db", str(store), "--json", "-"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and str(store) in run.stderr and "Traceback" not in run.stderr
