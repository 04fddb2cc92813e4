"""nnex stats: the cohort's score distribution, pass rates and mistakes ranked by how many
submissions made them, with their hints, on the terminal and as one self-contained HTML page."""
import json
import re
import shutil
import subprocess
import sys

from grader.manifests import load_manifests
from grader.paths import ROOT
from grader.stats import cohort_statistics

EXERCISE = load_manifests()["neuron_gradient"]


def _result(submission, scores_by_test, mistakes=None):
    mistakes = mistakes or {}
    tests = [{"name": t.name, "score": scores_by_test.get(t.name, t.points), "max_score": t.points,
              "passed": t.name not in scores_by_test, "message": "", "mistake": mistakes.get(t.name),
              "hint": f"hint of {mistakes[t.name]}" if t.name in mistakes else None} for t in EXERCISE.tests]
    exercise = {"id": EXERCISE.id, "score": sum(t["score"] for t in tests), "max_score": EXERCISE.max_score,
                "status": "graded", "message": "", "tests": tests, "figures": []}
    return {"id": submission, "student": None, "score": exercise["score"], "max_score": exercise["max_score"],
            "exercises": [exercise]}


def test_a_mistake_counts_once_per_submission_and_the_most_frequent_come_first():
    first, second = EXERCISE.tests[0].name, EXERCISE.tests[1].name
    results = [_result("a", {first: 0, second: 0}, {first: "sign", second: "sign"}),
               _result("b", {first: 0}, {first: "sign"}),
               _result("c", {second: 0}, {second: "factor"}),
               _result("d", {})]
    statistics = cohort_statistics(results, {EXERCISE.id: EXERCISE})
    assert [(m["mistake"], m["submissions"], m["hint"]) for m in statistics["mistakes"]] == [
        ("sign", ["a", "b"], "hint of sign"), ("factor", ["c"], "hint of factor")]
    exercise, = statistics["exercises"]
    assert exercise["submissions"] == 4 and exercise["full_marks"] == 1
    assert [t["pass_rate"] for t in exercise["tests"][:2]] == [0.5, 0.5]
    assert sum(b["count"] for b in exercise["histogram"]) == 4
    # 9.5, 9.75, 9.75 and 10: all in the last of ten bins, which is closed
    assert len(exercise["histogram"]) == 10 and exercise["histogram"][-1]["count"] == 4


def test_stats_of_the_example_submissions_rank_their_mistakes_with_hints(tmp_path):
    cohort = tmp_path / "cohort"
    shutil.copytree(ROOT / "examples" / "submissions", cohort)
    shutil.copytree(cohort / "alice", cohort / "carol")  # a second student with alice's mistakes
    store = tmp_path / "grades.sqlite"
    graded = subprocess.run([sys.executable, "-m", "grader", "grade", *sorted(map(str, cohort.iterdir())),
                             "--exercise", EXERCISE.id, "--db", str(store), "--json", str(tmp_path / "report.json"),
                             "-q", "--jobs", "2"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert graded.returncode == 0, graded.stderr
    pages = []
    for name in ("one.html", "two.html"):
        run = subprocess.run([sys.executable, "-m", "grader", "stats", "--db", str(store), "--html",
                              str(tmp_path / name)], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        pages.append((tmp_path / name).read_text())
    ranked = re.findall(r"│ +(\d+) │ +(\d+) │ neuron_gradient │ (\w+) +│", run.stdout)
    # what the report says each submission got wrong, counted once per submission: the most frequent
    # first, ties in the order of their ids; alice's mistakes are carol's too
    made = {}
    for submission in json.loads((tmp_path / "report.json").read_text())["submissions"]:
        for mistake in {t["mistake"] for e in submission["exercises"] for t in e["tests"] if t["mistake"]}:
            made[mistake] = made.get(mistake, 0) + 1
    expected = sorted(made.items(), key=lambda item: (-item[1], item[0]))
    assert ranked == [(str(rank), str(count), mistake) for rank, (mistake, count) in enumerate(expected, start=1)]
    assert ("1", "2", "forward_difference") in ranked and len(ranked) >= 4
    assert "Loss recorded after the update" in run.stdout  # the mistake's hint
    page = pages[0]
    assert pages[0] == pages[1]  # the same store gives the same bytes
    assert page.count('src="data:image/svg+xml;base64,') == 3  # histogram, pass rates, mistakes: all inside
    assert not re.search(r'(src|href)="(https?:|//|file:)', page)
    assert "alice, carol" in page and "Loss recorded after the update" in page
