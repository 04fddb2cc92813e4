"""Every exercise knows its common mistakes: each mutant of the solution loses points and the
grader names its mistake; correct solutions written differently keep full marks.

tests/catalogue/<exercise id>/mutants.yaml   [{name, mistake, replace: [{old, new}], extended?}]
tests/catalogue/<exercise id>/alt_*.py       complete correct solutions written differently
All of them are graded in one run of the real command line. Mutants marked ``extended: true``
(further variants of mistakes the others already cover) are graded only with
NNEX_FULL_CATALOGUE=1, which keeps the suite within its time budget.
"""
import json
import os
import subprocess
import sys

import pytest
import yaml

from grader.manifests import load_manifests
from grader.paths import ROOT

CATALOGUE = ROOT / "tests" / "catalogue"
MANIFESTS = {i: m for i, m in load_manifests().items() if (CATALOGUE / i).is_dir()}
MIN_MUTANTS, MIN_ALTERNATIVES = 6, 2
FULL = os.environ.get("NNEX_FULL_CATALOGUE") == "1"


def mutants(exercise_id):
    """The mutants graded in this run."""
    every = yaml.safe_load((CATALOGUE / exercise_id / "mutants.yaml").read_text())
    return [m for m in every if FULL or not m.get("extended")]


def alternatives(exercise_id):
    return sorted((CATALOGUE / exercise_id).glob("alt_*.py"))


def mutate(text: str, mutant: dict) -> str:
    for edit in mutant["replace"]:
        count = text.count(edit["old"])
        assert count == 1, f"mutant {mutant['name']}: {edit['old']!r} occurs {count} times in the solution"
        text = text.replace(edit["old"], edit["new"])
    return text


CASES = [(i, "mutant", m["name"]) for i in MANIFESTS for m in mutants(i)] + \
        [(i, "alternative", p.stem) for i in MANIFESTS for p in alternatives(i)]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{(exercise id, submission name): the exercise's result}, from one run over every case."""
    root = tmp_path_factory.mktemp("catalogue")
    folders = []
    for exercise_id, kind, name in CASES:
        exercise = MANIFESTS[exercise_id]
        if kind == "mutant":
            mutant = next(m for m in mutants(exercise_id) if m["name"] == name)
            text = mutate(exercise.solution_file.read_text(), mutant)
        else:
            text = (CATALOGUE / exercise_id / f"{name}.py").read_text()
        folder = root / f"{exercise_id}--{name}"
        (folder / exercise.folder).mkdir(parents=True)
        (folder / exercise.folder / exercise.student_file).write_text(text)
        folders.append(folder)
    report = root / "report.json"
    run = subprocess.run([sys.executable, "-m", "grader", "grade", *map(str, folders), "--json", str(report),
                          "--jobs", "2"], capture_output=True, text=True, cwd=ROOT, timeout=1200)
    assert run.returncode == 0, run.stderr
    results = {}
    for submission in json.loads(report.read_text())["submissions"]:
        exercise_id, name = submission["id"].split("--", 1)
        results[exercise_id, name] = next(e for e in submission["exercises"] if e["id"] == exercise_id)
    return results


@pytest.mark.parametrize("exercise_id", list(MANIFESTS))
def test_the_catalogue_is_large_enough_and_names_known_mistakes(exercise_id):
    catalogue = mutants(exercise_id)
    assert len(catalogue) >= MIN_MUTANTS and len(alternatives(exercise_id)) >= MIN_ALTERNATIVES
    unknown = [m["name"] for m in catalogue if m["mistake"] not in MANIFESTS[exercise_id].mistakes]
    assert unknown == [], "these mutants name mistakes the manifest has no hint for"


@pytest.mark.parametrize("exercise_id, name", [(i, n) for i, k, n in CASES if k == "mutant"])
def test_a_mutant_loses_points_and_its_mistake_is_named(graded, exercise_id, name):
    result = graded[exercise_id, name]
    mistake = next(m for m in mutants(exercise_id) if m["name"] == name)["mistake"]
    hint = MANIFESTS[exercise_id].mistakes[mistake]
    assert result["status"] == "graded"
    assert result["score"] < result["max_score"]
    failed = [t for t in result["tests"] if not t["passed"]]
    named = [t for t in failed if t["mistake"] == mistake]
    assert named, f"no failing test names the mistake {mistake!r}; the messages were: {[t['message'] for t in failed]}"
    assert all(t["hint"] == hint and hint in t["message"] for t in named)


@pytest.mark.parametrize("exercise_id, name", [(i, n) for i, k, n in CASES if k == "alternative"])
def test_a_correct_solution_written_differently_keeps_full_marks(graded, exercise_id, name):
    result = graded[exercise_id, name]
    failed = {t["name"]: t["message"] for t in result["tests"] if not t["passed"]}
    assert failed == {}
    assert result["score"] == result["max_score"]
