"""The scores as data: SPEC.md's JSON and one CSV row per submission; ``-`` is standard output."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

STDOUT = Path("-")


def _write(path: Path, text: str) -> None:
    if path == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        path.write_text(text, encoding="utf-8")


def write_json(results: list[dict], isolation: str, path: Path, interrupted: bool = False) -> None:
    """SPEC's JSON; ``interrupted``: grading stopped early and only the exercises graded are listed."""
    report = {"submissions": results, "isolation": isolation, **({"interrupted": True} if interrupted else {})}
    _write(path, json.dumps(report, indent=2) + "\n")


def write_csv(results: list[dict], exercise_ids: list[str], path: Path) -> None:
    """One row per submission: its id, the student's name and LMS id where a download gave them,
    the total and each exercise's score (empty for an exercise the submission was not graded for)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["id", "name", "lms", "lms_id", "score", "max_score", *exercise_ids])
    for submission in results:
        student = submission.get("student") or {}
        by_id = {e["id"]: e["score"] for e in submission["exercises"]}
        writer.writerow([submission["id"], student.get("name", ""), student.get("lms", ""), student.get("lms_id", ""),
                         submission["score"], submission["max_score"], *(by_id.get(i, "") for i in exercise_ids)])
    _write(path, text.getvalue())
