"""Hostile submissions against the real grader: every attack in tests/hostile/ must score 0.

Each tests/hostile/<name>/ holds an attack.py: a docstring saying what it attacks, then the attack,
with a line ``BASE = "solution"`` (or "stub", or "none"), optionally ``SHARED = (...)`` and
``EXERCISE = "<id>"`` (default: neuron_gradient). The submission's student file is assembled
in a temporary folder: the text of the worked solution (resp. of the exercise's stub, resp.
nothing), then the texts of the named tests/hostile/_shared/*.py parts, then the attack's text; the other files of tests/hostile/<name>/ (conftest.py,
sitecustomize.py, ...) are copied beside it, links resolved (a file shipped in two places is one
file and links to it). An attack that relies on right answers has the worked solution as its
base, so its 0 shows the attack was defeated, not merely that the code was wrong.

One run of ``python -m grader grade`` grades all the assembled submissions together with
solutions/ (which must keep full marks in the same run). After the run: the report must not change
later (a daemon tries to rewrite it), no process of the run may survive, nothing may be written
into the submissions nor into tests/hostile nor beside the report, and nothing the child sent may
have been unpickled.

The run happens once per module (`make test` keeps a test file on one xdist worker).
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.judge.scoring import MESSAGE_LIMIT
from grader.manifests import load_manifest, load_manifests
from grader.paths import MANIFESTS, ROOT

HOSTILE = Path(__file__).resolve().parent / "hostile"
SHARED = HOSTILE / "_shared"  # parts that more than one attack uses
NAMES = sorted(p.name for p in HOSTILE.iterdir() if p.is_dir() and not p.name.startswith("_"))
ATTACK = "attack.py"
BASES = ("solution", "stub", "none")
DEFAULT_EXERCISE = "neuron_gradient"
RUN_TIMEOUT_S = 600
DAEMON_STRIKES_UNTIL_S = 10.0  # STRIKE_UNTIL_S in hostile/daemon_rewrites_report/attack.py: after its import
DAEMON_MARGIN_S = 3.0
UNPICKLED_MARKER = Path("/tmp/nnex-hostile-unpickled")  # MARKER in hostile/forged_frames/attack.py
# what hostile/fake_results leaves in the machine's /tmp when isolation is reduced (removed afterwards)
FAKE_FILES = [Path("/tmp/nnex-hostile-fake-report.json"), Path("/tmp/nnex-hostile-fake-grades.csv")]
READS_DISK = "read_solution_from_disk"
# (hang_in_function hangs on the first call of sigmoid, the public test's z of shape (2, 3))
EXPECTED_STATUS = {"exit_at_import": "error", "memory_hog": "error", "hang_at_import": "timeout",
                   "hang_in_function": "timeout"}


def _files(folder: Path) -> dict[str, str]:
    """Every file below ``folder``: relative path -> sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _declared(attack: Path) -> tuple[str, tuple[str, ...], str]:
    """The BASE, the SHARED parts and the EXERCISE that ``attack`` declares, checked."""
    tree = ast.parse(attack.read_text(), filename=str(attack))
    values = {target.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
              for target in node.targets if isinstance(target, ast.Name)
              and target.id in ("BASE", "SHARED", "EXERCISE")}
    base, shared = values.get("BASE"), tuple(values.get("SHARED", ()))
    exercise = values.get("EXERCISE", DEFAULT_EXERCISE)
    missing = [part for part in shared if not (SHARED / f"{part}.py").is_file()]
    if ast.get_docstring(tree) is None or base not in BASES or missing or not (MANIFESTS / f"{exercise}.yaml").is_file():
        raise ValueError(f"{attack}: wants a docstring, BASE = one of {BASES}, SHARED parts in {SHARED} "
                         f"(missing: {missing}) and EXERCISE = an exercise id ({exercise!r})")
    return base, shared, exercise


def _exercise_of(name: str):
    return load_manifest(MANIFESTS / f"{_declared(HOSTILE / name / ATTACK)[2]}.yaml")


def _assemble(name: str, into: Path) -> Path:
    """tests/hostile/``name`` as a submission in ``into``: its files but attack.py, and the student file built."""
    submission = into / name
    shutil.copytree(HOSTILE / name, submission, symlinks=False,  # a link is copied as the file it points to
                    ignore=shutil.ignore_patterns(ATTACK, "__pycache__"))
    base, shared, _ = _declared(HOSTILE / name / ATTACK)
    exercise = _exercise_of(name)
    base_file = {"solution": exercise.solution_file, "stub": exercise.exercise_dir / exercise.student_file}.get(base)
    texts = [base_file.read_text()] if base_file else []
    texts += [(SHARED / f"{part}.py").read_text() for part in shared]
    texts.append((HOSTILE / name / ATTACK).read_text())
    student_file = submission / exercise.folder / exercise.student_file
    student_file.parent.mkdir(parents=True, exist_ok=True)
    student_file.write_text("\n\n".join(texts))
    return submission


def _processes_naming(*texts: str) -> list[str]:
    """Command lines of the processes (other than this one) whose command line contains one of ``texts``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(text in command for text in texts):
            found.append(f"{entry}: {command[:200]}")
    return found


def _grade_everything(tmp_path_factory) -> dict:
    """Assemble the hostile submissions, run the CLI once over them and solutions/; what the checks need, as JSON.

    The run gets its own TMPDIR, so that its sandboxes (``run_tmp/nnex-child-*``, named on the
    command lines of their bwrap or child processes) can be told from those of other runs.
    """
    out, run_tmp = tmp_path_factory.mktemp("hostile"), tmp_path_factory.mktemp("hostile-tmp")
    submissions = tmp_path_factory.mktemp("hostile-submissions")
    hostile_before = _files(HOSTILE)
    paths = [_assemble(name, submissions) for name in NAMES]
    exercise_options = [option for exercise_id in sorted({_exercise_of(name).id for name in NAMES})
                        for option in ("--exercise", exercise_id)]
    files_before = _files(submissions)
    UNPICKLED_MARKER.unlink(missing_ok=True)
    report = out / "report.json"
    command = [sys.executable, "-m", "grader", "grade", *[str(p) for p in paths],
               str(ROOT / "solutions"), *exercise_options, "--json", str(report), "--jobs", "2"]
    started = time.monotonic()
    run = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                         env=dict(os.environ, TMPDIR=str(run_tmp)))
    elapsed = time.monotonic() - started
    right_after = report.read_bytes() if report.exists() else b""
    # the daemon strikes until DAEMON_STRIKES_UNTIL_S after its child's import (early in the run, as
    # the submissions go in name order); a daemon that survived would also show among the processes
    time.sleep(max(DAEMON_MARGIN_S, DAEMON_STRIKES_UNTIL_S + DAEMON_MARGIN_S - elapsed))
    later = report.read_bytes() if report.exists() else b""
    survivors = _processes_naming(str(run_tmp) + os.sep, str(submissions) + os.sep, str(HOSTILE) + os.sep)
    for path in FAKE_FILES:
        path.unlink(missing_ok=True)
    return {
        "returncode": run.returncode, "stdout": run.stdout[-4000:], "stderr": run.stderr[-4000:],
        "elapsed_s": elapsed, "report": json.loads(right_after) if right_after else None,
        "report_changed_later": right_after != later, "survivors": survivors,
        "files_before": files_before, "files_after": _files(submissions),
        "hostile_before": hostile_before, "hostile_after": _files(HOSTILE),
        "beside_the_report": sorted(p.name for p in out.iterdir()),
        "left_in_tmp": sorted(p.name for p in run_tmp.iterdir()),
        "unpickled": UNPICKLED_MARKER.exists(),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    return _grade_everything(tmp_path_factory)


def _submission(graded: dict, name: str) -> dict:
    assert graded["report"] is not None, f"no report was written:\n{graded['stdout']}\n{graded['stderr']}"
    by_id = {s["id"]: s for s in graded["report"]["submissions"]}
    assert name in by_id, f"{name} is missing from the report"
    return by_id[name]


def _exercise(submission: dict, exercise_id: str) -> dict:
    (exercise,) = [e for e in submission["exercises"] if e["id"] == exercise_id]
    return exercise


def test_the_run_exits_zero_and_reports_every_submission(graded):
    assert graded["returncode"] == 0, graded["stdout"] + graded["stderr"]
    ids = [s["id"] for s in graded["report"]["submissions"]]
    assert ids == [*NAMES, "solutions"]
    assert graded["report"]["isolation"]


@pytest.mark.parametrize("name", NAMES)
def test_the_hostile_submission_scores_zero(graded, name):
    if name == READS_DISK and graded["report"]["isolation"].startswith("reduced"):
        pytest.skip("isolation is reduced (no usable bubblewrap): the child can read the solution from disk")
    submission = _submission(graded, name)
    exercise = _exercise(submission, _exercise_of(name).id)
    passed = [(t["name"], t["score"]) for t in exercise["tests"] if t["score"] or t["passed"]]
    assert exercise["score"] == 0 and submission["score"] == 0 and passed == [], \
        f"{name} scored {exercise['score']}/{exercise['max_score']} ({exercise['status']}): {passed}"
    assert exercise["max_score"] > 0
    # refused before it ran (the static check) would not show that the attack was defeated
    assert "is not allowed in this exercise" not in exercise["message"], exercise["message"]
    assert exercise["status"] == EXPECTED_STATUS.get(name, "graded"), (exercise["status"], exercise["message"])
    empty = [t["name"] for t in exercise["tests"] if not t["message"].strip()]
    assert empty == [], f"{name}: tests without a message: {empty}"


def test_the_solutions_keep_full_marks_in_the_same_run(graded):
    solutions = _submission(graded, "solutions")
    for exercise in solutions["exercises"]:
        failed = [(t["name"], t["message"]) for t in exercise["tests"] if not t["passed"]]
        assert failed == []
        assert exercise["status"] == "graded"
        assert exercise["score"] == exercise["max_score"] > 0
    assert solutions["score"] == solutions["max_score"] > 0


def test_every_message_is_short(graded):
    """About 2 KB a message, the hint of a recognised mistake included, whatever the child sent."""
    limit = MESSAGE_LIMIT + max(len(h) for m in load_manifests().values() for h in m.mistakes.values()) + 100
    long = [(s["id"], e["id"], t["name"], len(t["message"])) for s in graded["report"]["submissions"]
            for e in s["exercises"] for t in e["tests"] if len(t["message"]) > limit]
    long += [(s["id"], e["id"], len(e["message"])) for s in graded["report"]["submissions"]
             for e in s["exercises"] if len(e["message"]) > MESSAGE_LIMIT]
    assert long == []


def test_the_report_is_not_rewritten_after_the_run(graded):
    assert not graded["report_changed_later"]
    assert graded["beside_the_report"] == ["grades.sqlite", "report.json"]  # the report and the results store


def test_no_process_of_the_run_survives(graded):
    assert graded["survivors"] == []


def test_nothing_is_written_into_the_submissions_nor_left_in_tmp(graded):
    assert graded["files_after"] == graded["files_before"]  # the assembled copies that were graded
    assert graded["hostile_after"] == graded["hostile_before"]  # tests/hostile itself
    assert graded["left_in_tmp"] == []


def test_nothing_the_child_sent_was_unpickled(graded):
    assert not graded["unpickled"]
