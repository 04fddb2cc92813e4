"""The nnex command end to end: the worked solutions score full marks, the stubs 0, in every output."""
import base64
import csv
import dataclasses
import html
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import grading
from grader.manifests import load_manifests
from grader.paths import ROOT

MANIFESTS = load_manifests()


def nnex(*args, cwd=ROOT, timeout=600):
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    run = nnex("grade", "solutions", "exercises", "--json", out / "r.json", "--csv", out / "r.csv",
               "--feedback", out / "feedback", "--jobs", "2")
    return run, out, json.loads((out / "r.json").read_text())


def test_grading_the_solutions_and_the_stubs_exits_zero_and_prints_the_table(graded):
    run, _, report = graded
    assert run.returncode == 0, run.stderr
    for exercise_id in MANIFESTS:
        assert exercise_id in run.stdout
    assert "solutions" in run.stdout and "exercises" in run.stdout and "isolation:" in run.stdout


def test_the_solutions_score_full_marks_on_every_test(graded):
    solutions = graded[2]["submissions"][0]
    assert solutions["id"] == "solutions"
    assert [e["id"] for e in solutions["exercises"]] == list(MANIFESTS)
    for exercise in solutions["exercises"]:
        failed = [(t["name"], t["message"]) for t in exercise["tests"] if not t["passed"]]
        assert failed == [], exercise["id"]
        assert exercise["status"] == "graded"
        assert exercise["score"] == exercise["max_score"] == MANIFESTS[exercise["id"]].max_score
    assert solutions["score"] == solutions["max_score"] == sum(m.max_score for m in MANIFESTS.values())


def test_the_stubs_score_zero_and_every_test_says_why(graded):
    stubs = graded[2]["submissions"][1]
    assert stubs["id"] == "exercises" and stubs["score"] == 0
    for exercise in stubs["exercises"]:
        assert exercise["status"] == "graded"
        assert all(not t["passed"] and t["score"] == 0 and t["message"] for t in exercise["tests"])
        assert any("NotImplementedError" in t["message"] for t in exercise["tests"])


def test_the_json_follows_the_contract(graded):
    report = graded[2]
    for submission in report["submissions"]:
        assert set(submission) >= {"id", "score", "max_score", "exercises"}
        for exercise in submission["exercises"]:
            assert set(exercise) >= {"id", "score", "max_score", "status", "tests"}
            assert exercise["status"] in ("graded", "missing", "error", "timeout")
            for test in exercise["tests"]:
                assert set(test) >= {"name", "score", "max_score", "passed", "message", "mistake", "hint"}
                if test["passed"] or test["mistake"] is None:  # the stubs' NotImplementedError names none
                    assert test["mistake"] is None and test["hint"] is None
            assert exercise["score"] == pytest.approx(sum(t["score"] for t in exercise["tests"]))
            assert exercise["max_score"] == pytest.approx(sum(t["max_score"] for t in exercise["tests"]))


def page_text(path) -> str:
    """What a feedback page says, without its markup, pictures and style."""
    page = re.sub(r"<(style|script)\b.*?</\1>", "", path.read_text(encoding="utf-8"), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_csv_and_feedback_agree_with_the_json(graded):
    _, out, report = graded
    rows = list(csv.DictReader((out / "r.csv").open()))
    assert [r["id"] for r in rows] == ["solutions", "exercises"]
    for row, submission in zip(rows, report["submissions"]):
        assert float(row["score"]) == submission["score"]
        for exercise in submission["exercises"]:
            assert float(row[exercise["id"]]) == exercise["score"]
    feedback = page_text(out / "feedback" / "exercises.html")
    first = report["submissions"][1]["exercises"][0]
    assert first["tests"][0]["message"] in feedback
    assert first["tests"][0]["name"].removeprefix("test_").replace("_", " ") in feedback


def test_hidden_test_source_never_reaches_the_feedback(graded):
    _, out, _ = graded
    feedback = "".join(page_text(p) for p in (out / "feedback").glob("*.html"))
    for exercise in MANIFESTS.values():
        hidden_lines = [line.strip() for line in exercise.hidden_test_file.read_text().splitlines()
                        if len(line.strip()) > 30 and not line.strip().startswith(("#", '"'))]
        leaked = [line for line in hidden_lines if line in feedback]
        assert leaked == []


def test_pictures_are_drawn_for_the_feedback_and_embedded_in_it(graded):
    _, out, report = graded
    pictures = [(e["id"], name) for e in report["submissions"][0]["exercises"] for name in e["figures"]]
    drawing = [i for i, m in MANIFESTS.items() if "figures.add(" in m.hidden_test_file.read_text()]
    assert sorted({exercise_id for exercise_id, _ in pictures}) == sorted(drawing)
    assert all(name.startswith(f"{exercise_id}-") for exercise_id, name in pictures)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', (out / "feedback" / "solutions.html").read_text())
    assert len(images) == len(pictures)
    assert all(base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["exercises.html", "solutions.html"]


def test_gradescope_results_hold_one_entry_per_test(tmp_path):
    exercise = next(iter(MANIFESTS.values()))
    solution = ROOT / "solutions" / exercise.folder / exercise.student_file
    run = nnex("grade", solution, "--gradescope", tmp_path / "results.json")
    assert run.returncode == 0, run.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == exercise.max_score
    assert [t["name"] for t in results["tests"]] == [f"{exercise.id}: {t.name}" for t in exercise.tests]
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in results["tests"])
    visibility = {t["name"].split(": ")[1]: t["visibility"] for t in results["tests"]}
    assert {name for name, seen in visibility.items() if seen == "visible"} == exercise.public_tests
    assert {seen for name, seen in visibility.items() if name not in exercise.public_tests} == {"after_published"}


def test_a_missing_exercise_scores_zero_with_a_message(tmp_path):
    (tmp_path / "empty").mkdir()
    run = nnex("grade", tmp_path / "empty", "--json", tmp_path / "r.json")
    assert run.returncode == 0
    for exercise in json.loads((tmp_path / "r.json").read_text())["submissions"][0]["exercises"]:
        assert exercise["status"] == "missing" and exercise["score"] == 0
        assert all("no " in t["message"] for t in exercise["tests"])


def test_an_unreadable_submission_costs_only_itself(tmp_path):
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    exercise = next(iter(MANIFESTS.values()))
    run = nnex("grade", tmp_path / "broken.zip", "solutions", "--exercise", exercise.id,
               "--json", tmp_path / "r.json")
    assert run.returncode == 1
    broken, solutions = json.loads((tmp_path / "r.json").read_text())["submissions"]
    assert broken["score"] == 0 and broken["exercises"][0]["status"] == "error"
    assert "broken.zip cannot be read as a zip" in broken["exercises"][0]["message"]
    assert solutions["score"] == solutions["max_score"] == exercise.max_score


@pytest.mark.parametrize("args, expected", [
    (["grade", "solutions", "--exercise", "no_such_exercise"], "unknown exercise 'no_such_exercise'"),
    (["grade", "no/such/folder"], "no such submission: no/such/folder"),
    (["grade"], "the following arguments are required"),
    (["grade", "solutions", "exercises", "--gradescope", "x.json"], "give exactly one"),
])
def test_usage_errors_exit_2_with_a_message(args, expected):
    run = nnex(*args)
    assert run.returncode == 2
    assert expected in run.stdout + run.stderr


def test_a_wrong_manifest_names_the_file_and_the_key(tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    exercise = next(iter(MANIFESTS.values()))
    text = exercise.manifest_path.read_text().replace("memory_mb:", "memory_mb: -5 #", 1)
    (manifests / exercise.manifest_path.name).write_text(text)
    run = nnex("grade", "solutions", "--manifests", manifests)
    assert run.returncode == 2
    assert f"{manifests / exercise.manifest_path.name}: at limits/memory_mb" in run.stderr


def test_python_dash_m_grader_and_the_nnex_script_are_the_same_command():
    script = Path(sys.executable).parent / "nnex"
    run = subprocess.run([str(script), "grade", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0 and "--gradescope" in run.stdout
    assert run.stdout == nnex("grade", "--help").stdout


def test_without_bubblewrap_grading_still_works_and_says_isolation_is_reduced(tmp_path):
    exercise = next(iter(MANIFESTS.values()))
    run = subprocess.run([sys.executable, "-m", "grader", "grade", "solutions", "exercises", "--exercise", exercise.id,
                          "--json", str(tmp_path / "r.json")], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env=dict(os.environ, NNEX_ISOLATION="reduced"))
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["isolation"].startswith("reduced")
    solutions, stubs = report["submissions"]
    assert solutions["score"] == solutions["max_score"] == exercise.max_score
    assert stubs["score"] == 0


def test_the_same_batch_graded_twice_gives_the_same_bytes(tmp_path):
    """Messages that would differ from run to run (object addresses, the order of a set of strings,
    which depends on the hash seed of each process) come out the same."""
    folder = tmp_path / "unstable" / "01_neuron_gradient"
    folder.mkdir(parents=True)
    (folder / "neuron.py").write_text(
        "def sigmoid(z):\n"
        "    raise ValueError(f'{object()} {sorted(vars())} {set(\"alpha beta gamma delta\".split())}')\n\n\n"
        "def sigmoid_prime(z):\n"
        "    return {'alpha', 'beta', 'gamma', 'delta'}\n")
    batch = ["solutions", "exercises", *sorted((ROOT / "examples" / "submissions").iterdir()), tmp_path / "unstable",
             "--exercise", "neuron_gradient", "--exercise", "dropout"]  # the NumPy ones: fast
    reports = []
    for run in range(2):
        report = tmp_path / f"report-{run}.json"
        assert nnex("grade", *batch, "--json", report, "--jobs", "2").returncode == 0
        reports.append(report.read_bytes())
    assert reports[0] == reports[1]
    assert b"object at 0x\\u2026" in reports[0]  # the address elided, the rest of the message kept


def test_version():
    run = nnex("--version")
    assert run.returncode == 0 and re.fullmatch(r"nnex \d+\.\d+\.\d+\n", run.stdout)


@pytest.fixture
def carol(tmp_path):
    """A folder that holds exercise 01 only."""
    exercise = MANIFESTS["neuron_gradient"]
    folder = tmp_path / "carol" / exercise.folder
    folder.mkdir(parents=True)
    (folder / exercise.student_file).write_text(exercise.solution_file.read_text())
    return folder.parent


def test_only_the_exercises_a_submission_holds_count_and_the_json_can_go_to_standard_output(carol):
    exercise = MANIFESTS["neuron_gradient"]
    run = nnex("grade", carol, ROOT / "solutions" / exercise.folder / exercise.student_file, "-q", "--json", "-",
               "--jobs", "1")
    assert run.returncode == 0, run.stderr
    submissions = json.loads(run.stdout)["submissions"]  # -q: nothing but the JSON
    assert [(s["id"], s["max_score"]) for s in submissions] == [("carol", 10.0), ("solutions", 10.0)]
    assert [[e["id"] for e in s["exercises"]] for s in submissions] == [[exercise.id], [exercise.id]]


def test_count_missing_counts_every_exercise_asked_for_and_verbose_reports_each_as_graded(carol):
    exercise, other = MANIFESTS["neuron_gradient"], MANIFESTS["dropout"]
    run = nnex("grade", carol, "--exercise", exercise.id, "--exercise", other.id, "--count-missing",
               "-v", "--csv", "-", "--jobs", "1")
    assert run.returncode == 0, run.stderr
    (row,) = csv.DictReader(run.stdout.splitlines())  # the table went to standard error
    assert (row["score"], row["max_score"], row[exercise.id], row[other.id]) == ("10.0", "20.0", "10.0", "0.0")
    assert f"carol: {exercise.id} 10/10 graded" in run.stderr and f"carol: {other.id} 0/10 missing" in run.stderr
    assert "nn-exercises scores" in run.stderr


def test_scores_are_rounded_to_the_manifests_resolution():
    exercise = MANIFESTS["neuron_gradient"]
    assert exercise.score_resolution == 0.01
    assert exercise.round_score(1.25 * 2 / 3) == 0.83 and exercise.round_score(0.125) == 0.13
    assert exercise.round_score(0.1 + 0.2) == 0.3 and exercise.max_score == 10.0
    assert grading.total([0.1, 0.2, 59.7]) == 60.0 and grading.total([8.6, 0.1]) == 8.7
    coarse = dataclasses.replace(exercise, score_resolution=0.25)
    assert coarse.round_score(0.83) == 0.75 and coarse.round_score(0.9) == 1.0
