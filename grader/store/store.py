"""The results store: each judged (student file, exercise, grader version) once, and the last batch."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from grader.grading import total
from grader.reports import feedback_name
from grader.store.database import connect, dumps, transaction


@dataclass(frozen=True)
class Key:
    code_hash: str
    exercise: str
    grader_version: str

    def columns(self) -> tuple[str, str, str]:
        return self.code_hash, self.exercise, self.grader_version


@dataclass
class Batch:
    """The last batch as the reports need it: SPEC.md's submissions, in order, and how it was graded."""
    results: list[dict]
    exercise_ids: list[str]
    isolation: str
    interrupted: bool
    seconds: float


class ResultStore:
    def __init__(self, path: Path | None):
        self.path = path
        self.connection = connect(path)

    def close(self) -> None:
        self.connection.close()

    def stored(self, key: Key, with_pictures: bool) -> dict | None:
        """The result stored under ``key``; None when there is none, or when pictures are wanted and
        the judge that graded it drew none."""
        row = self.connection.execute(
            "SELECT result, with_pictures FROM results WHERE code_hash=? AND exercise=? AND grader_version=?",
            key.columns()).fetchone()
        if row is None or (with_pictures and not row[1]):
            return None
        return json.loads(row[0])

    def save(self, key: Key, result: dict, pictures: dict[str, bytes] | None) -> None:
        """Store a judge's result and its pictures (None: the judge was not asked for any), in one
        transaction; a result stored before under the same key is replaced."""
        with transaction(self.connection) as db:
            db.execute("""INSERT INTO results VALUES (?, ?, ?, ?, ?, 1)
                          ON CONFLICT DO UPDATE SET result=excluded.result, with_pictures=excluded.with_pictures,
                                                    gradings=gradings + 1""",
                       (*key.columns(), dumps(result), pictures is not None))
            db.execute("DELETE FROM pictures WHERE code_hash=? AND exercise=? AND grader_version=?", key.columns())
            db.executemany("INSERT INTO pictures VALUES (?, ?, ?, ?, ?)",
                           [(*key.columns(), name, png) for name, png in sorted((pictures or {}).items())])

    def gradings(self) -> dict[Key, int]:
        """How many times a judge's result was written for each key (1 where nothing was graded twice)."""
        return {Key(*row[:3]): row[3] for row in self.connection.execute(
            "SELECT code_hash, exercise, grader_version, gradings FROM results")}

    def save_batch(self, submissions: list[dict], keys: dict[tuple[int, int], Key], batch: dict) -> None:
        """Make ``submissions`` (SPEC.md's, in order) the last batch; ``keys[(submission, exercise
        position)]``: where an exercise's result is a stored one, referred to rather than copied.
        ``batch``: exercises, isolation, interrupted, seconds."""
        with transaction(self.connection) as db:
            for table in ("batch", "batch_results", "batch_submissions"):
                db.execute(f"DELETE FROM {table}")
            db.executemany("INSERT INTO batch VALUES (?, ?)", [(name, dumps(value)) for name, value in batch.items()])
            for position, submission in enumerate(submissions):
                db.execute("INSERT INTO batch_submissions VALUES (?, ?, ?, ?)",
                           (position, submission["id"], dumps(submission["student"]), submission.get("error")))
                for index, result in enumerate(submission["exercises"]):
                    key = keys.get((position, index))
                    db.execute("INSERT INTO batch_results VALUES (?, ?, ?, ?, ?, ?)",
                               (position, index, result["id"], *((key.code_hash, key.grader_version) if key else (None, None)),
                                None if key else dumps(result)))

    def batch(self) -> Batch | None:
        """The last batch, its results read from the store; None when nothing was graded into it."""
        meta = {name: json.loads(value) for name, value in self.connection.execute("SELECT name, value FROM batch")}
        if not meta:
            return None
        results = []
        for position, id_, student, error in self.connection.execute(
                "SELECT position, id, student, error FROM batch_submissions ORDER BY position").fetchall():
            exercises = [json.loads(row[0]) for row in self.connection.execute(
                """SELECT coalesce(b.result, r.result) FROM batch_results b
                   LEFT JOIN results r USING (code_hash, exercise, grader_version)
                   WHERE b.submission=? ORDER BY b.position""", (position,))]
            results.append({"id": id_, "student": json.loads(student), "score": total(e["score"] for e in exercises),
                            "max_score": total(e["max_score"] for e in exercises),
                            **({"error": error} if error is not None else {}), "exercises": exercises})
        return Batch(results, meta["exercises"], meta["isolation"], meta["interrupted"], meta["seconds"])

    def write_pictures(self, folder: Path) -> None:
        """The last batch's pictures where the reports look for them: <folder>/<feedback name>/<file>."""
        rows = self.connection.execute(
            """SELECT s.id, p.name, p.png FROM batch_results b
               JOIN batch_submissions s ON s.position = b.submission
               JOIN pictures p USING (code_hash, exercise, grader_version)""")
        for submission_id, name, png in rows:
            target = folder / feedback_name(submission_id) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(png)
