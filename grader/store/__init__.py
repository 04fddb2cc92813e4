"""The results store (SQLite): every judged (submission, exercise) is kept as it finishes, keyed by
the student's file, the exercise and the grader's version, so that a rerun grades only what is new
or changed, a killed run resumes, and every report is made from it.

    store = ResultStore(path)        # None: in memory, for a run that keeps nothing
    batch = grade_batch(store, submissions, exercises, jobs, pictures_dir, count_missing, isolation)
    store.batch()                    # the last batch again, without grading (nnex report)
"""
from grader.store.batch import grade_batch
from grader.store.database import StoreError
from grader.store.store import Batch, Key, ResultStore

__all__ = ["Batch", "Key", "ResultStore", "StoreError", "grade_batch"]
