"""Grading a batch through the store: what is stored is reused, the rest is graded and stored as
each result arrives, and the batch's reports are read back from the store."""
from __future__ import annotations

import time
from pathlib import Path

from grader import grading
from grader.reports import feedback_name
from grader.store.keys import code_hash, grader_version
from grader.store.store import Batch, Key, ResultStore


class _Remaining:
    """A submission as grading sees it: its exercises already in the store look absent."""

    def __init__(self, submission, stored: set[str]):
        self.submission, self.stored = submission, stored

    def __getattr__(self, name):
        return getattr(self.submission, name)

    def locate(self, exercise):
        return None if exercise.id in self.stored else self.submission.locate(exercise)


def _key(submission, exercise, isolation: str) -> Key | None:
    """The key of the submission's file for ``exercise``; None where no judge will grade it (no file,
    an unreadable one: grading says why, and such a result is not kept)."""
    try:
        path = submission.locate(exercise)
        return None if path is None else Key(code_hash(path, submission.notes), exercise.id,
                                             grader_version(exercise, isolation))
    except Exception:
        return None


def _grader_fault(result: dict) -> bool:
    """A result that says the grader failed (a sandbox that could not start) is graded again next time."""
    return result["status"] == "error" and result["message"].startswith("internal grader error")


def _pictures(result: dict, folder: Path | None) -> dict[str, bytes] | None:
    if folder is None:
        return None
    return {name: (folder / name).read_bytes() for name in result.get("figures", []) if (folder / name).is_file()}


def grade_batch(store: ResultStore, submissions: list, exercises: list, jobs: int, pictures_dir: Path | None,
                count_missing: bool, isolation: str, regrade: bool = False, progress=None, **grading_options) -> Batch:
    """``grading.grade`` of the submissions, reusing what ``store`` holds (``regrade``: nothing) and
    storing each judged result as it arrives; the batch, as read back from the store.

    ``progress`` (grader/progress) is told how many exercises are graded now, and each as it is.
    A KeyboardInterrupt raises GradingInterrupted with the batch of what was graded, stored and
    reused. ``grading_options`` go to ``grading.grade`` as they are.
    """
    started = time.monotonic()
    keys = {(i, e.id): _key(s, e, isolation) for i, s in enumerate(submissions) for e in exercises}
    reused = {pair: store.stored(key, pictures_dir is not None) for pair, key in keys.items()
              if key is not None and not regrade}
    reused = {pair: result for pair, result in reused.items() if result is not None}
    first_of, copies = {}, {}  # the same file twice in a batch (an untouched stub, a copy) is graded once
    for pair, key in keys.items():
        if key is not None and pair not in reused and first_of.setdefault(key, pair) != pair:
            copies[pair] = first_of[key]
    remaining = [_Remaining(s, {e for (i, e) in [*reused, *copies] if i == position})
                 for position, s in enumerate(submissions)]
    position_of = {id(r): position for position, r in enumerate(remaining)}

    pairs, _ = grading._pairs(submissions, exercises, count_missing)  # which exercises count, as grade() decides
    if progress is not None:
        to_grade = [e.id for position, s in enumerate(submissions) for t, e in pairs
                    if t is s and (position, e.id) not in reused and (position, e.id) not in copies]
        progress.begin({e.id: to_grade.count(e.id) for e in exercises if e.id in to_grade},
                       len(pairs) - len(to_grade))

    def handed_over(submission, result: dict) -> None:
        if result["id"] in submission.stored:
            return  # stands in for the stored result (grading saw no file): not a result
        key = keys[(position_of[id(submission)], result["id"])]
        if key is not None and not _grader_fault(result):
            folder = pictures_dir / feedback_name(submission.id) if pictures_dir else None
            store.save(key, result, _pictures(result, folder))
        if progress is not None:
            progress.advance(submission.submission, result)

    interrupted = None
    try:
        graded = grading.grade(remaining, exercises, jobs, pictures_dir, count_missing, on_result=handed_over,
                               **grading_options)
    except grading.GradingInterrupted as stop:
        graded, interrupted = stop.results, stop
    merged, references, result_of = [], {}, {}
    for position, (submission, fresh) in enumerate(zip(submissions, graded)):
        fresh_by_id = {result["id"]: result for result in fresh["exercises"]}
        mine = []
        for exercise in [e for s, e in pairs if s is submission]:
            pair = (position, exercise.id)
            result = result_of[pair] = reused.get(pair) or result_of.get(copies.get(pair)) \
                or fresh_by_id.get(exercise.id)
            if result is None:
                continue  # interrupted before it was graded
            key = keys[pair]
            if key is not None and not _grader_fault(result):
                references[(position, len(mine))] = key
            mine.append(result)
        merged.append({**fresh, "exercises": mine})
    store.save_batch(merged, references, {"exercises": [e.id for e in exercises], "isolation": isolation,
                                          "interrupted": interrupted is not None,
                                          "seconds": round(time.monotonic() - started, 3)})
    batch = store.batch()
    if interrupted is not None:
        raise grading.GradingInterrupted(batch.results, sum(len(s["exercises"]) for s in merged), len(pairs))
    return batch
