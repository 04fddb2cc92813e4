"""Feedback for students: one page per submission, HTML (self-contained, its pictures embedded) or
Markdown (its pictures in a folder beside it).

Both come from one view of the results (``feedback_view``): per exercise its test groups with the
manifest's titles and their points; the passed tests of a group in one line; each failed test with
what went wrong, and the likely mistake's hint once (a later test with the same mistake refers to
it); the pictures under the group whose test drew them; the written answers to be graded by hand.
A submission that could not be read gets one paragraph, and an exercise that was not submitted
one line.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from functools import lru_cache
from pathlib import Path

import jinja2

from grader.reports import pictures
from grader.reports.table import points

TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("html", "md")
HEADLINE_LIMIT = 80  # a hint's headline (the words before its first colon) is at most this long


def feedback_name(submission_id: str) -> str:
    """The submission's feedback file is <name>.html (or .md, with its pictures in the folder <name>/).

    Letters of any script are kept (José and Josè stay apart); a name that had to change gets a
    short hash of the id, so that two ids never share a file.
    """
    name = re.sub(r"[^\w.-]", "_", unicodedata.normalize("NFC", submission_id)).lstrip(".")[:100]
    if name and name == submission_id:
        return name
    digest = hashlib.sha256(submission_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{name or 'submission'}-{digest}"


def readable_test_name(name: str) -> str:
    """test_sigmoid_extreme_inputs is "sigmoid extreme inputs"."""
    return name.removeprefix("test_").replace("_", " ")


def _headline(hint: str, mistake: str) -> str:
    head = hint.split(":", 1)[0]
    return head if ":" in hint and len(head) <= HEADLINE_LIMIT else mistake.replace("_", " ")


def _without_hint(message: str, hint: str | None) -> str:
    """The test's message without the hint that scoring.py appends: the page shows the hint once."""
    if hint and message.endswith(f"Likely mistake: {hint}"):
        message = message[: -len(f"Likely mistake: {hint}")].rstrip(" .") + "."
    return message


def _exercise_view(result: dict, exercise, pictures_of, hints_shown: set[str]) -> dict:
    """One exercise of the page; ``pictures_of(filename)`` gives a picture's src."""
    view = {"id": result["id"], "title": exercise.title, "file": exercise.student_file, "status": result["status"],
            "score": points(result["score"]), "max_score": points(result["max_score"]),
            "note": result.get("message") or "", "groups": [], "pictures": [],
            "written_answers": result.get("written_answers", [])}
    if result["status"] == "missing":
        view["note"] = f"Not submitted: {result['message'] or 'the file was not found'}."
        return view
    if result["message"]:
        view["note"] = {"error": f"Your {exercise.student_file} could not be graded: ",
                        "timeout": "Grading stopped at the exercise's time limit: "}.get(
            result["status"], "Note: ") + result["message"]
    tests = {t["name"]: t for t in result["tests"]}
    group_pictures: dict[str, list[dict]] = {}
    group_of = {t.name: t.group for t in exercise.tests}
    for filename in result.get("figures", []):
        test = pictures.drawn_by(exercise, filename)
        picture = {"caption": pictures.caption(exercise.id, filename), "src": pictures_of(filename),
                   "test": readable_test_name(test) if test else None}
        group_pictures.setdefault(group_of.get(test), []).append(picture)
    view["pictures"] = group_pictures.pop(None, [])
    for group in exercise.groups:
        mine = [tests[t["test"]] for t in group["tests"] if t["test"] in tests]
        passed = [t for t in mine if t["passed"]]
        failed, not_run = [], 0
        for test in mine:
            if test["passed"]:
                continue
            if result["message"] and test["message"] and test["message"] in result["message"]:
                not_run += 1  # the exercise's note says why: said once, above
                continue
            hint, mistake = test.get("hint"), test.get("mistake")
            entry = {"name": readable_test_name(test["name"]), "score": points(test["score"]),
                     "max_score": points(test["max_score"]),
                     "public": test["name"] if test["name"] in exercise.public_tests else None,
                     "message": _without_hint(test["message"], hint), "hint": None, "hint_again": None}
            if hint and mistake in hints_shown:
                entry["hint_again"] = _headline(hint, mistake)
            elif hint:
                entry["hint"] = hint
                hints_shown.add(mistake)
            failed.append(entry)
        view["groups"].append({
            "title": group["title"] or group["name"],
            "score": points(sum(t["score"] for t in mine)) if mine else "0",
            "max_score": points(sum(t["max_score"] for t in mine)) if mine else "0",
            "passed": len(passed), "count": len(mine), "failed": failed, "not_run": not_run,
            "pictures": group_pictures.get(group["name"], [])})
    return view


def feedback_view(submission: dict, exercises: dict, pictures_of) -> dict:
    """What a submission's feedback page shows, for the templates.

    ``exercises``: the manifests' exercises by id; ``pictures_of(exercise id, filename)``: the
    src of one of the submission's pictures (a data URI, or a path beside the page).
    """
    student = submission.get("student")
    view = {"title": student["name"] if student else submission["id"], "student": student,
            "score": points(submission["score"]), "max_score": points(submission["max_score"]),
            "unreadable": submission.get("error"), "exercises": []}
    if view["unreadable"]:
        return view
    hints_shown: set[str] = set()
    for result in submission["exercises"]:
        exercise = exercises[result["id"]]
        view["exercises"].append(_exercise_view(result, exercise, lambda f, e=exercise.id: pictures_of(e, f),
                                                hints_shown))
    return view


@lru_cache(maxsize=None)  # one compiled template per run, not one per page
def _environment(kind: str) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=kind == "html",
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def feedback_page(submission: dict, exercises: dict, pictures_dir: Path | None, kind: str = "html") -> str:
    """The text of a submission's feedback page; ``pictures_dir``: where grading put its pictures."""
    folder = pictures_dir / feedback_name(submission["id"]) if pictures_dir else None

    def pictures_of(exercise_id: str, filename: str) -> str:
        if kind == "html":
            return pictures.data_uri(folder / filename)
        return f"{feedback_name(submission['id'])}/{filename}"

    view = feedback_view(submission, exercises, pictures_of)
    return _environment(kind).get_template(f"feedback.{kind}.j2").render(page=view)


def write_feedback(results: list[dict], directory: Path, exercises: dict, pictures_dir: Path | None,
                   kind: str = "html") -> None:
    """One feedback file per submission in ``directory``; for Markdown, its pictures in a folder beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    for submission in results:
        name = feedback_name(submission["id"])
        if kind == "md" and pictures_dir and (pictures_dir / name).is_dir():
            shutil.copytree(pictures_dir / name, directory / name, dirs_exist_ok=True)
        (directory / f"{name}.{kind}").write_text(feedback_page(submission, exercises, pictures_dir, kind),
                                                  encoding="utf-8")
