"""What a stored result is keyed by: the content of the student's file, the exercise, and the
grader's version for that exercise (everything that decides its result other than the student)."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from grader import __version__
from grader.paths import EXERCISES, HIDDEN_TESTS, MANIFESTS, ROOT
from grader.submissions import read_student_file


def code_hash(path: Path, notes: list[str]) -> str:
    """The hash of the student's file as submitted (its code, and for a notebook its written
    answers too) and of the notes the submission carries into the result."""
    digest = hashlib.sha256(read_student_file(path))
    digest.update(json.dumps(notes).encode())
    return digest.hexdigest()


def _version_files(exercise) -> list[Path]:
    return [exercise.manifest_path, MANIFESTS / "common" / "mistakes.yaml", exercise.hidden_test_file,
            *sorted((HIDDEN_TESTS / "data").glob("*")), *exercise.public_test_files,
            *(exercise.exercise_dir / support for support in exercise.support_files),
            ROOT / "reference" / f"{exercise.id}.py", EXERCISES / "nnex_check.py"]


@lru_cache(maxsize=None)
def _grader_version(manifest_path: Path, files: tuple[Path, ...], isolation: str) -> str:
    digest = hashlib.sha256(f"nnex {__version__}\n{isolation}\n".encode())
    for path in files:
        digest.update(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}\n".encode())
        digest.update(path.read_bytes() if path.is_file() else b"(absent)")
    return digest.hexdigest()


def grader_version(exercise, isolation: str) -> str:
    """The hash of the exercise's manifest, hidden and public tests, their data, the reference, the
    grader's version and the sandbox's isolation: a change to any of them grades the exercise again."""
    return _grader_version(exercise.manifest_path, tuple(_version_files(exercise)), isolation)
