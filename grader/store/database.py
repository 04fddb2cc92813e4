"""The SQLite file behind the store: its migrations, and one transaction per write.

The file is in WAL mode, so a grader killed at any moment leaves it whole: each result is
committed on its own as it arrives, and a result that was not committed is simply not there.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

# Each entry takes the file from one version to the next (PRAGMA user_version counts those applied).
# Append new ones; never edit one that has shipped.
MIGRATIONS = (
    """
    -- results, keyed by what decides them: the student's file, the exercise, the grader's version
    CREATE TABLE results (
        code_hash      TEXT NOT NULL,
        exercise       TEXT NOT NULL,
        grader_version TEXT NOT NULL,
        result         TEXT NOT NULL,     -- the exercise's entry of SPEC.md's JSON
        with_pictures  INTEGER NOT NULL,  -- 1 when the judge drew the feedback's pictures
        gradings       INTEGER NOT NULL,  -- how many times a judge's result was written for this key
        PRIMARY KEY (code_hash, exercise, grader_version)
    );
    CREATE TABLE pictures (
        code_hash      TEXT NOT NULL,
        exercise       TEXT NOT NULL,
        grader_version TEXT NOT NULL,
        name           TEXT NOT NULL,     -- the file name the result lists under "figures"
        png            BLOB NOT NULL,
        PRIMARY KEY (code_hash, exercise, grader_version, name)
    );
    -- the last batch graded: its submissions in order, and what each was graded for
    CREATE TABLE batch (
        name  TEXT PRIMARY KEY,           -- exercises, isolation, interrupted, seconds
        value TEXT NOT NULL               -- JSON
    );
    CREATE TABLE batch_submissions (
        position INTEGER PRIMARY KEY,
        id       TEXT NOT NULL,
        student  TEXT,                    -- JSON: who it is from, where a download said so
        error    TEXT                     -- why it could not be read
    );
    CREATE TABLE batch_results (
        submission     INTEGER NOT NULL REFERENCES batch_submissions (position),
        position       INTEGER NOT NULL,
        exercise       TEXT NOT NULL,
        code_hash      TEXT,              -- the stored result's key, where a judge graded it
        grader_version TEXT,
        result         TEXT,              -- otherwise the result itself (missing, unreadable)
        PRIMARY KEY (submission, position)
    );
    """,
)


class StoreError(Exception):
    """A results store that cannot be used; the message names the file."""


def connect(path: Path | None) -> sqlite3.Connection:
    """The store at ``path`` (None: one in memory, for a run that keeps nothing), brought up to date."""
    try:
        connection = sqlite3.connect(":memory:" if path is None else path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # WAL: a commit survives a killed process
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as error:
        raise StoreError(f"{path}: cannot be opened as a results store: {error}") from None
    if version > len(MIGRATIONS):
        raise StoreError(f"{path}: written by a newer nnex (store version {version}, this one knows "
                         f"{len(MIGRATIONS)})")
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        # one transaction: a migration is applied whole, with its number, or not at all
        connection.executescript(f"BEGIN IMMEDIATE;\n{migration}\nPRAGMA user_version={number};\nCOMMIT;")
    return connection


class transaction:
    """``with transaction(connection):`` everything inside is committed together, or not at all."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def __enter__(self):
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind, value, traceback):
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
