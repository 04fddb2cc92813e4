"""What the grader writes: the terminal table, JSON, CSV, Gradescope's results.json, feedback files."""
from __future__ import annotations

import csv
import hashlib
import json
import re
import unicodedata
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _points(value: float) -> str:
    return f"{value:g}"


def print_table(results: list[dict], exercise_ids: list[str], isolation: str, console: Console) -> None:
    table = Table(title="nn-exercises scores")
    table.add_column("submission")
    for exercise_id in exercise_ids:
        table.add_column(exercise_id, justify="right")
    table.add_column("total", justify="right", style="bold")
    for submission in results:
        by_id = {e["id"]: e for e in submission["exercises"]}
        cells = []
        for exercise_id in exercise_ids:
            exercise = by_id.get(exercise_id)
            if exercise is None:
                cells.append("-")
                continue
            cell = f"{_points(exercise['score'])}/{_points(exercise['max_score'])}"
            cells.append(cell if exercise["status"] == "graded" else f"{cell} {exercise['status']}")
        table.add_row(escape(submission["id"]), *cells,
                      f"{_points(submission['score'])}/{_points(submission['max_score'])}")
    console.print(table)
    console.print(f"isolation: {isolation}")


def write_json(results: list[dict], isolation: str, path: Path, interrupted: bool = False) -> None:
    """SPEC's JSON; ``interrupted``: grading stopped early and only the exercises graded are listed."""
    report = {"submissions": results, "isolation": isolation, **({"interrupted": True} if interrupted else {})}
    path.write_text(json.dumps(report, indent=2) + "\n")


def write_csv(results: list[dict], exercise_ids: list[str], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "score", "max_score", *exercise_ids])
        for submission in results:
            by_id = {e["id"]: e["score"] for e in submission["exercises"]}
            writer.writerow([submission["id"], submission["score"], submission["max_score"],
                             *(by_id.get(i, "") for i in exercise_ids)])


def write_gradescope(submission: dict, path: Path) -> None:
    """Gradescope's autograder results.json for one submission."""
    tests = [{"name": f"{exercise['id']}: {test['name']}", "score": test["score"],
              "max_score": test["max_score"], "output": test["message"], "visibility": "visible"}
             for exercise in submission["exercises"] for test in exercise["tests"]]
    notes = [f"{e['id']}: {e['status']}. {e['message']}".strip() for e in submission["exercises"]
             if e["status"] != "graded" or e["message"]]
    path.write_text(json.dumps({"score": submission["score"], "output": "\n".join(notes),
                                "tests": tests}, indent=2) + "\n")


def feedback_name(submission_id: str) -> str:
    """The submission's feedback file is <name>.md, and its pictures are in the folder <name>/.

    Letters of any script are kept (José and Josè stay apart); a name that had to change gets a
    short hash of the id, so that two ids never share a file.
    """
    name = re.sub(r"[^\w.-]", "_", unicodedata.normalize("NFC", submission_id)).lstrip(".")[:100]
    if name and name == submission_id:
        return name
    digest = hashlib.sha256(submission_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{name or 'submission'}-{digest}"


def feedback_text(submission: dict) -> str:
    lines = [f"# Feedback for {submission['id']}", "",
             f"Total: {_points(submission['score'])} / {_points(submission['max_score'])}", ""]
    for exercise in submission["exercises"]:
        lines += [f"## {exercise['id']}: {_points(exercise['score'])} / {_points(exercise['max_score'])}"
                  f" ({exercise['status']})", ""]
        if exercise["message"]:
            lines += [exercise["message"], ""]
        for test in exercise["tests"]:
            mark = "passed" if test["passed"] else "FAILED"
            lines.append(f"- {test['name']}: {_points(test['score'])}/{_points(test['max_score'])} {mark}")
            if test["message"]:
                lines.append(f"  {test['message']}")
        lines.append("")
        for filename in exercise.get("figures", []):
            lines += [f"![{filename.removesuffix('.png')}]({feedback_name(submission['id'])}/{filename})", ""]
    return "\n".join(lines)


def write_feedback(results: list[dict], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for submission in results:
        (directory / f"{feedback_name(submission['id'])}.md").write_text(feedback_text(submission), encoding="utf-8")
