"""Points from verdicts: the manifest says what each test is worth; nothing else counts.

Every message that goes into a result passes through ``capped``: at most MESSAGE_LIMIT characters,
valid Unicode, and free of what differs between two runs of the same code (object addresses).
"""
from __future__ import annotations

import re

from grader.judge.plugin import Verdict

MESSAGE_LIMIT = 2000
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")  # `<object at 0x7f3a...>`: differs from run to run


def capped(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` as it may go into a result: valid Unicode, no object addresses, at most ``limit`` characters."""
    text = ADDRESS.sub("0x…", str(text).encode("utf-8", "replace").decode("utf-8"))
    if len(text) <= limit:
        return text
    return f"{text[:limit - 40]}… ({len(text) - limit + 40} more characters)"


def message_with_hint(verdict: Verdict, mistakes: dict) -> str:
    if verdict.mistake is None:
        return capped(verdict.message)
    hint = mistakes.get(verdict.mistake, verdict.mistake)
    return f"{capped(verdict.message, max(200, MESSAGE_LIMIT - len(hint) - 100))}. Likely mistake: {hint}"


def score_tests(exercise, verdicts: list[Verdict], reason_if_not_run: str) -> list[dict]:
    """One entry per manifest test: its points times the share of its instances that passed, and
    for a failed one the catalogued mistake it recognised (id and hint; null when none was)."""
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
        mistake = failed.mistake if failed is not None else None
        results.append({"name": test.name, "score": round(score, 4), "max_score": test.points,
                        "passed": bool(instances) and failed is None, "message": capped(message),
                        "mistake": mistake, "hint": exercise.mistakes.get(mistake)})
    return results


def exercise_result(exercise, status: str, tests: list[dict], notes: list[str], figures: list[str] = ()) -> dict:
    """The exercise's entry of SPEC.md's JSON; ``figures``: its pictures' file names, for the feedback."""
    return {"id": exercise.id, "score": round(sum(t["score"] for t in tests), 4),
            "max_score": exercise.max_score, "status": status, "message": capped("; ".join(notes)),
            "tests": tests, "figures": list(figures)}


def not_graded(exercise, status: str, message: str, notes: list[str] = ()) -> dict:
    """The result of an exercise whose tests did not run: every test 0, with ``message``."""
    return exercise_result(exercise, status, score_tests(exercise, [], message), [*notes, message])
