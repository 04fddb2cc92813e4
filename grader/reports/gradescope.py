"""Gradescope's results.json for one submission, as its autograder specification documents it.

One test entry per manifest test, named ``<exercise id>: <test>``, with ``status``, Markdown
``output`` (what failed and the likely mistake's hint; the pictures the test drew, as images in the
Markdown), ``visibility`` (public tests visible, hidden ones as the manifest says,
``after_published`` unless it says otherwise) and ``extra_data`` (the exercise, the group, the
mistake's id and hint). An exercise that was missing, or could not be read, is one entry that
says why. Nothing in the top-level output shows a score, since that would show what hidden tests
gave before they are.
"""
from __future__ import annotations

import json
from pathlib import Path

from grader.reports import pictures
from grader.reports.feedback import feedback_name, readable_test_name

FORMAT = "md"  # Gradescope's name for its Markdown output format


def _test_entry(test: dict, exercise, group: dict, picture_files: list[Path]) -> dict:
    lines = [test["message"]] if test["message"] else []
    lines += [f"![{pictures.caption(exercise.id, p.name)}]({pictures.data_uri(p)})" for p in picture_files]
    public = test["name"] in exercise.public_tests
    return {"name": f"{exercise.id}: {test['name']}", "score": test["score"], "max_score": test["max_score"],
            "status": "passed" if test["passed"] else "failed", "output": "\n\n".join(lines),
            "output_format": FORMAT, "visibility": "visible" if public else exercise.hidden_tests_visibility,
            "extra_data": {"exercise": exercise.id, "group": group["title"] or group["name"],
                           "test": readable_test_name(test["name"]), "public": public,
                           "mistake": test.get("mistake"), "hint": test.get("hint")}}


def gradescope_results(submission: dict, exercises: dict, pictures_dir: Path | None, isolation: str,
                       execution_time: float) -> dict:
    """results.json of ``submission`` (one of grade()'s results); ``pictures_dir``: where grading
    put the pictures; ``execution_time``: seconds the whole run took."""
    folder = pictures_dir / feedback_name(submission["id"]) if pictures_dir else None
    tests, notes = [], []
    for result in submission["exercises"]:
        exercise = exercises[result["id"]]
        if result["status"] in ("missing", "error") and not any(t["score"] for t in result["tests"]):
            tests.append({"name": exercise.id, "score": 0.0, "max_score": result["max_score"], "status": "failed",
                          "output": f"{exercise.title}: {result['status']}. {result['message']}",
                          "output_format": FORMAT, "visibility": "visible",
                          "extra_data": {"exercise": exercise.id, "status": result["status"]}})
            continue
        if result["message"]:
            notes.append(f"**{exercise.title}**: {result['message']}")
        for answer in result.get("written_answers", []):
            notes.append(f"**{exercise.title}**, written answer *{answer['name']}*: {answer['status']}."
                         + (f"\n\n```\n{answer['text']}\n```" if answer["text"] else ""))
        drawn: dict[str, list[Path]] = {}
        for filename in result.get("figures", []):
            if folder is not None and (folder / filename).is_file():
                drawn.setdefault(pictures.drawn_by(exercise, filename), []).append(folder / filename)
        by_name = {t["name"]: t for t in result["tests"]}
        for group in exercise.groups:
            for listed in group["tests"]:
                test = by_name[listed["test"]]
                tests.append(_test_entry(test, exercise, group, drawn.get(test["name"], [])))
    return {"score": submission["score"], "execution_time": round(execution_time),
            "output": "\n\n".join(notes), "output_format": FORMAT, "stdout_visibility": "hidden",
            "extra_data": {"submission": submission["id"], "isolation": isolation}, "tests": tests}


def write_gradescope(submission: dict, exercises: dict, pictures_dir: Path | None, isolation: str,
                     execution_time: float, path: Path) -> None:
    results = gradescope_results(submission, exercises, pictures_dir, isolation, execution_time)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
