"""The figures: computed from the results alone (SPEC.md's JSON), the same results giving the same figures."""
from __future__ import annotations

import statistics
from collections import Counter


def _histogram(scores: list[float], max_score: float) -> list[dict]:
    """Counts of scores in one-point bins [0, 1), [1, 2), ..., the last closed: [max - 1, max]."""
    bins = max(1, int(max_score))
    counts = Counter(min(int(score * bins / max_score), bins - 1) if max_score else 0 for score in scores)
    return [{"from": i * max_score / bins, "to": (i + 1) * max_score / bins, "count": counts.get(i, 0)}
            for i in range(bins)]


def cohort_statistics(results: list[dict], manifests: dict) -> dict:
    """{"submissions": n, "exercises": [...], "mistakes": [...]} for SPEC.md's submissions.

    An exercise counts the submissions graded for it (an exercise a submission did not hold is not
    a score of 0 here); a test's pass rate is over those; a mistake counts each submission once,
    however many of its tests recognised it, and the list is ranked by that count.
    """
    by_exercise: dict[str, list[dict]] = {}
    for submission in results:
        for result in submission["exercises"]:
            if result["status"] != "missing":
                by_exercise.setdefault(result["id"], []).append({**result, "submission": submission["id"]})
    exercises, mistakes = [], {}
    for exercise_id in [i for i in manifests if i in by_exercise]:
        graded = by_exercise[exercise_id]
        scores = [r["score"] for r in graded]
        max_score = manifests[exercise_id].max_score
        tests = []
        for test in manifests[exercise_id].tests:
            outcomes = [t["passed"] for r in graded for t in r["tests"] if t["name"] == test.name]
            tests.append({"name": test.name, "points": test.points, "submissions": len(outcomes),
                          "pass_rate": sum(outcomes) / len(outcomes) if outcomes else 0.0})
        exercises.append({"id": exercise_id, "title": manifests[exercise_id].title, "submissions": len(graded),
                          "max_score": max_score, "mean": statistics.fmean(scores), "median": statistics.median(scores),
                          "min": min(scores), "max": max(scores), "full_marks": sum(s == max_score for s in scores),
                          "histogram": _histogram(scores, max_score), "tests": tests})
        for result in graded:
            for test in result["tests"]:
                if not test["passed"] and test.get("mistake"):
                    entry = mistakes.setdefault((exercise_id, test["mistake"]), {
                        "exercise": exercise_id, "mistake": test["mistake"], "hint": test.get("hint") or "",
                        "submissions": [], "tests": []})
                    if result["submission"] not in entry["submissions"]:
                        entry["submissions"].append(result["submission"])
                    if test["name"] not in entry["tests"]:
                        entry["tests"].append(test["name"])
    ranked = sorted(mistakes.values(), key=lambda m: (-len(m["submissions"]), m["exercise"], m["mistake"]))
    return {"submissions": len(results), "exercises": exercises, "mistakes": ranked}
