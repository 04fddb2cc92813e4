"""Gradescope: `nnex gradescope build` writes an autograder as Gradescope's specification asks, and
its run_autograder, run in a folder laid out as /autograder is, writes a results.json with the
documented fields, hidden tests not visible before the grades are published."""
import base64
import dataclasses
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import jsonschema
import pytest
import yaml
from PIL import Image

from grader.manifests import load_manifests
from grader.paths import ROOT
from grader.reports.gradescope import gradescope_results

MANIFESTS = load_manifests()
EXERCISE = MANIFESTS["neuron_gradient"]
MUTANT = "sigmoid_naive_exp"  # tests/catalogue/neuron_gradient: loses the sigmoid group's points
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
# the fields of results.json that Gradescope's autograder specification documents
RESULTS_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["tests"],
    "properties": {
        "score": {"type": "number"}, "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"}, "output_format": FORMAT, "test_output_format": FORMAT,
        "test_name_format": FORMAT, "visibility": VISIBILITY, "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"}, "leaderboard": {"type": "array"},
        "tests": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["name", "score", "max_score", "status"],
            "properties": {
                "score": {"type": "number"}, "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]}, "name": {"type": "string"}, "name_format": FORMAT,
                "number": {"type": "string"}, "output": {"type": "string"}, "output_format": FORMAT,
                "tags": {"type": "array", "items": {"type": "string"}}, "visibility": VISIBILITY,
                "extra_data": {"type": "object"}}}}}}


def nnex(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradescope")
    for name in ("a.zip", "b.zip"):
        run = nnex("gradescope", "build", out / name, "--exercise", EXERCISE.id)
        assert run.returncode == 0, run.stderr
    return out / "a.zip", out / "b.zip"


def test_the_autograder_zip_has_what_gradescope_needs_and_nothing_secret(autograder):
    first, second = autograder
    assert first.read_bytes() == second.read_bytes()  # the same grader gives the same bytes
    with zipfile.ZipFile(first) as zipped:
        entries = {entry.filename: entry for entry in zipped.infolist()}
        for script in ("setup.sh", "run_autograder"):
            assert stat.S_IMODE(entries[script].external_attr >> 16) == 0o755
        setup, run = zipped.read("setup.sh").decode(), zipped.read("run_autograder").decode()
        requirements = zipped.read("requirements.txt").decode().splitlines()
    assert {"grader/cli.py", f"grader/manifests/{EXERCISE.id}.yaml", f"grader/hidden/test_{EXERCISE.id}.py",
            f"reference/{EXERCISE.id}.py", f"exercises/{EXERCISE.folder}/{EXERCISE.student_file}"} <= set(entries)
    assert not [name for name in entries if name.startswith(("solutions/", "tests/")) or "__pycache__" in name]
    assert "apt-get install -y -qq bubblewrap" in setup and "-r \"$source_dir/requirements.txt\"" in setup
    assert "--no-deps --index-url \"https://download.pytorch.org/whl/cpu\" \"torch==" in setup
    assert f'--exercise {EXERCISE.id} --gradescope "$root/results/results.json"' in run
    assert all(line.count("==") == 1 for line in requirements)
    names = [line.split("==")[0] for line in requirements]
    assert {"numpy", "jinja2", "msgpack", "pytest", "sympy"} <= set(names) and "torch" not in names


@pytest.fixture(scope="module")
def results(autograder, tmp_path_factory):
    """run_autograder of the zip, in a fake /autograder, on a mutant of the catalogue: results.json."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(autograder[0]) as zipped:
        zipped.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope's image build does
    (root / "run_autograder").chmod(0o755)
    (root / "venv" / "bin").mkdir(parents=True)  # what setup.sh would install: this environment
    (root / "venv" / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (root / "venv" / "bin" / "python").chmod(0o755)
    mutant = next(m for m in yaml.safe_load((ROOT / "tests" / "catalogue" / EXERCISE.id / "mutants.yaml").read_text())
                  if m["name"] == MUTANT)
    code = EXERCISE.solution_file.read_text()
    for edit in mutant["replace"]:
        code = code.replace(edit["old"], edit["new"])
    (root / "submission").mkdir()
    (root / "submission" / EXERCISE.student_file).write_text(code)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the grader comes from source/
    run = subprocess.run([str(root / "run_autograder")], cwd=root, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text()), mutant["mistake"]


def test_results_json_has_the_documented_fields_and_adds_up(results):
    report, _ = results
    jsonschema.validate(report, RESULTS_SCHEMA)
    assert [t["name"] for t in report["tests"]] == [f"{EXERCISE.id}: {t.name}" for t in EXERCISE.tests]
    assert 0 < report["score"] < EXERCISE.max_score
    assert report["score"] == pytest.approx(sum(t["score"] for t in report["tests"]))
    assert all((t["status"] == "passed") == (t["score"] == t["max_score"]) for t in report["tests"])
    assert all(round(t["score"], 2) == t["score"] for t in report["tests"])  # the manifest's resolution, 0.01
    assert all(t["output_format"] == "md" for t in report["tests"]) and report["stdout_visibility"] == "hidden"
    assert report["extra_data"]["isolation"]


def test_hidden_tests_are_not_visible_before_the_grades_are_published(results):
    report, _ = results
    for test in report["tests"]:
        public = test["name"].split(": ")[1] in EXERCISE.public_tests
        assert test["visibility"] == ("visible" if public else "after_published"), test["name"]
        assert test["extra_data"]["public"] == public
    assert str(report["score"]) not in report["output"]  # the top level shows no score


def test_a_failed_test_says_what_went_wrong_and_carries_the_mistake(results):
    report, mistake = results
    failed = [t for t in report["tests"] if t["status"] == "failed"]
    assert failed and any(t["extra_data"]["mistake"] == mistake for t in failed)
    for test in failed:
        assert test["output"]
        if test["extra_data"]["mistake"]:
            assert test["extra_data"]["hint"] == EXERCISE.mistakes[test["extra_data"]["mistake"]]
            assert test["extra_data"]["hint"] in test["output"]


def test_pictures_go_to_the_test_that_drew_them_and_visibility_follows_the_manifest(tmp_path):
    exercise = dataclasses.replace(MANIFESTS["numpy_mlp"], hidden_tests_visibility="after_due_date")
    folder = tmp_path / "alice"
    folder.mkdir()
    Image.new("RGB", (8, 8), "white").save(folder / "numpy_mlp-moons.png")
    tests = [{"name": t.name, "score": t.points, "max_score": t.points, "passed": True, "message": "",
              "mistake": None, "hint": None} for t in exercise.tests]
    submission = {"id": "alice", "score": exercise.max_score, "max_score": exercise.max_score, "exercises": [
        {"id": exercise.id, "score": exercise.max_score, "max_score": exercise.max_score, "status": "graded",
         "message": "", "tests": tests, "figures": ["numpy_mlp-moons.png"]}]}
    report = gradescope_results(submission, {exercise.id: exercise}, tmp_path, "full", 12.3)
    jsonschema.validate(report, RESULTS_SCHEMA)
    drawn = [t for t in report["tests"] if "data:image/png;base64," in t["output"]]
    assert [t["name"] for t in drawn] == ["numpy_mlp: test_train_reaches_accuracy_on_held_out_points"]
    png = drawn[0]["output"].split("base64,")[1].rstrip(")")
    Image.open(io.BytesIO(base64.b64decode(png))).verify()
    assert {t["visibility"] for t in report["tests"] if not t["extra_data"]["public"]} == {"after_due_date"}
    assert report["execution_time"] == 12


def test_a_missing_exercise_is_one_entry_that_says_why(tmp_path):
    message = "no attention.py or attention.ipynb in the submission"
    exercise = MANIFESTS["attention"]
    tests = [{"name": t.name, "score": 0.0, "max_score": t.points, "passed": False, "message": message,
              "mistake": None, "hint": None} for t in exercise.tests]
    submission = {"id": "bob", "score": 0.0, "max_score": exercise.max_score, "exercises": [
        {"id": exercise.id, "score": 0.0, "max_score": exercise.max_score, "status": "missing", "message": message,
         "tests": tests, "figures": []}]}
    (entry,) = gradescope_results(submission, MANIFESTS, None, "full", 1.0)["tests"]
    assert (entry["name"], entry["status"], entry["max_score"]) == ("attention", "failed", exercise.max_score)
    assert message in entry["output"]
