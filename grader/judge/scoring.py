"""Points from verdicts: the manifest says what each test is worth; nothing else counts."""
from __future__ import annotations

from grader.judge.plugin import Verdict


def message_with_hint(verdict: Verdict, mistakes: dict) -> str:
    if verdict.mistake is None:
        return verdict.message
    hint = mistakes.get(verdict.mistake, verdict.mistake)
    return f"{verdict.message}. Likely mistake: {hint}"


def score_tests(exercise, verdicts: list[Verdict], reason_if_not_run: str) -> list[dict]:
    """One entry per manifest test: its points times the share of its instances that passed."""
    by_test: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        by_test.setdefault(verdict.test, []).append(verdict)
    results = []
    for test in exercise.tests:
        instances = by_test.get(test.name, [])
        passed = sum(v.passed for v in instances)
        failed = next((v for v in instances if not v.passed), None)
        if not instances:
            message = reason_if_not_run
        elif failed is not None:
            message = message_with_hint(failed, exercise.mistakes)
            if len(instances) > 1:
                message = f"{passed} of {len(instances)} cases passed; {message}"
        else:
            message = ""
        score = test.points * passed / len(instances) if instances else 0.0
        results.append({"name": test.name, "score": round(score, 4), "max_score": test.points,
                        "passed": bool(instances) and failed is None, "message": message})
    return results


def exercise_result(exercise, status: str, tests: list[dict], notes: list[str], figures: list[str] = ()) -> dict:
    """The exercise's entry of SPEC.md's JSON; ``figures``: its pictures' file names, for the feedback."""
    return {"id": exercise.id, "score": round(sum(t["score"] for t in tests), 4),
            "max_score": exercise.max_score, "status": status, "message": "; ".join(notes),
            "tests": tests, "figures": list(figures)}


def not_graded(exercise, status: str, message: str, notes: list[str] = ()) -> dict:
    """The result of an exercise whose tests did not run: every test 0, with ``message``."""
    return exercise_result(exercise, status, score_tests(exercise, [], message), [*notes, message])
