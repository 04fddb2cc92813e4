"""Feedback pages a student wants to read: grouped by the manifest's titles with points per group,
passed tests folded into one line, each hint once, the pictures embedded, written answers listed
for hand grading, one paragraph for a submission that could not be read.

The page of a catalogued mutant is graded for real (its HTML is checked here; a screenshot of it in
headless Chromium was looked at by hand); the rest is made from results written here."""
import base64
import html
import re
import subprocess
import sys

import pytest
import yaml

from grader.manifests import load_manifests
from grader.paths import ROOT
from grader.reports.feedback import feedback_page, readable_test_name

MANIFESTS = load_manifests()
NEURON = MANIFESTS["neuron_gradient"]
DRAWING = MANIFESTS["numpy_mlp"]
MUTANT = "dlogits_without_1_over_n"  # tests/catalogue/numpy_mlp: four tests recognise it; training still works


def text_of(page: str) -> str:
    page = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def result(exercise, failed: dict[str, tuple[str, str | None]] = {}, status="graded", message="", **extra) -> dict:
    """An exercise's result in which the tests of ``failed`` (name -> (message, mistake)) failed."""
    tests = []
    for test in exercise.tests:
        text, mistake = failed.get(test.name, ("", None))
        hint = exercise.mistakes.get(mistake)
        tests.append({"name": test.name, "score": 0.0 if test.name in failed else test.points,
                      "max_score": test.points, "passed": test.name not in failed,
                      "message": f"{text}. Likely mistake: {hint}" if hint else text, "mistake": mistake, "hint": hint})
    return {"id": exercise.id, "score": sum(t["score"] for t in tests), "max_score": exercise.max_score,
            "status": status, "message": message, "tests": tests, "figures": [], **extra}


def submission(*exercises, **extra) -> dict:
    return {"id": "alice", "student": None, "score": sum(e["score"] for e in exercises),
            "max_score": sum(e["max_score"] for e in exercises), "exercises": list(exercises), **extra}


def test_groups_show_their_titles_and_points_and_passed_tests_fold_into_one_line():
    wrong = {"test_sigmoid_extreme_inputs": ("sigmoid(1e4) is nan", "sigmoid_overflow")}
    text = text_of(feedback_page(submission(result(NEURON, wrong)), MANIFESTS, None))
    for group in NEURON.groups:
        points = sum(t["points"] for t in group["tests"])
        earned = points - (0.75 if group["name"] == "sigmoid" else 0)
        assert f"{group['title']} {earned:g} / {points:g}" in text
    assert "✓ 4 of 5 tests passed." in text and text.count("✓ All") == len(NEURON.groups) - 1
    assert "sigmoid extreme inputs" in text and "sigmoid(1e4) is nan." in text
    passed = [readable_test_name(t.name) for t in NEURON.tests if t.name != "test_sigmoid_extreme_inputs"]
    assert [name for name in passed if name in text] == []


def test_a_hint_is_shown_once_and_later_tests_refer_to_it():
    hint = NEURON.mistakes["sigmoid_overflow"]
    wrong = {name: (f"{name} failed", "sigmoid_overflow")
             for name in ("test_sigmoid_known_values", "test_sigmoid_extreme_inputs", "test_sigmoid_prime_matches_reference")}
    page = feedback_page(submission(result(NEURON, wrong)), MANIFESTS, None)
    assert text_of(page).count(hint) == 1
    assert text_of(page).count("Likely mistake: Sigmoid overflow (explained above).") == 2
    assert "A public test: run it yourself with pytest -k test_sigmoid_known_values." in text_of(page)


def test_a_submission_that_could_not_be_read_gets_one_paragraph():
    message = "dave.zip cannot be read as a zip: File is not a zip file"
    broken = submission(result(NEURON, {t.name: (message, None) for t in NEURON.tests}, "error", message),
                        error=message)
    text = text_of(feedback_page(broken, MANIFESTS, None))
    assert text.count(message) == 1 and "could not be read, so nothing in it was graded" in text
    assert NEURON.title not in text


def test_a_missing_exercise_is_one_line_and_a_failed_import_is_said_once():
    missing = result(NEURON, {t.name: ("no neuron.py or neuron.ipynb in the submission", None) for t in NEURON.tests},
                     "missing", "no neuron.py or neuron.ipynb in the submission")
    why = "importing mlp.py failed: SyntaxError: invalid syntax (mlp.py, line 3)"
    crashed = result(DRAWING, {t.name: (why, None) for t in DRAWING.tests}, "error", why)
    text = text_of(feedback_page(submission(missing, crashed), MANIFESTS, None))
    assert text.count("no neuron.py or neuron.ipynb in the submission") == 1 and "Not submitted" in text
    assert text.count(why) == 1 and f"Your mlp.py could not be graded: {why}" in text
    assert "could not run, for the reason above" in text


def test_written_answers_are_listed_to_be_graded_by_hand_in_both_formats():
    answers = [{"name": "derivation", "text": "dL/dw = x.T @ delta <and> more", "status": "to be graded by hand"}]
    graded = submission(result(NEURON, written_answers=answers))
    page = feedback_page(graded, MANIFESTS, None)
    assert "To be graded by hand" in text_of(page) and "x.T @ delta <and> more" in text_of(page)
    assert "&lt;and&gt;" in page  # the student's text is escaped, never markup
    markdown = feedback_page(graded, MANIFESTS, None, "md")
    assert "### To be graded by hand" in markdown and "dL/dw = x.T @ delta <and> more" in markdown
    assert f"## {NEURON.title}: 10 / 10" in markdown


@pytest.fixture(scope="module")
def mutant_page(tmp_path_factory):
    """The feedback page of a catalogued mutant of numpy_mlp, graded by the command line."""
    root = tmp_path_factory.mktemp("feedback")
    mutant = next(m for m in yaml.safe_load((ROOT / "tests" / "catalogue" / DRAWING.id / "mutants.yaml").read_text())
                  if m["name"] == MUTANT)
    text = DRAWING.solution_file.read_text()
    for edit in mutant["replace"]:
        text = text.replace(edit["old"], edit["new"])
    (root / "dana" / DRAWING.folder).mkdir(parents=True)
    (root / "dana" / DRAWING.folder / DRAWING.student_file).write_text(text)
    run = subprocess.run([sys.executable, "-m", "grader", "grade", str(root / "dana"), "--feedback", str(root / "out"),
                          "-q"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout == ""  # -q: no table
    return (root / "out" / "dana.html").read_text(encoding="utf-8"), mutant["mistake"]


def test_the_mutants_page_shows_the_group_titles_the_hint_once_and_its_pictures(mutant_page):
    page, mistake = mutant_page
    text = text_of(page)
    assert [g["title"] for g in DRAWING.groups if g["title"] in text] == [g["title"] for g in DRAWING.groups]
    assert text.count(DRAWING.mistakes[mistake]) == 1 and "(explained above)" in text
    (image,) = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Moons: drawn by the grader from your results in “train reaches accuracy on held out points”" in text
    assert len(page) < 60_000  # the picture made compact: the judge's own PNG alone is about 55 kB
