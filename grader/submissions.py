"""Submissions: a folder, a .zip of one, or a single student file (.py or .ipynb).

Finding an exercise's file and turning a notebook into code happen here, in the trusted parent,
without running anything. A problem with one submission is recorded on it, never raised.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_BYTES = 200 * 2**20
MAX_DEPTH = 16  # folders below the submission's top where its files are looked for
MAX_FILES = 20_000  # entries looked at in a submission's folder
MAX_SOURCE_BYTES = 2 * 2**20  # a .py file, or the code of a notebook
MAX_NOTEBOOK_BYTES = 64 * 2**20  # a notebook file, outputs (plots) included
MAX_NOTES = 20  # notes (a line not run, a zip entry refused) reported one by one; the rest counted
IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}


class SubmissionError(Exception):
    """The submission as a whole cannot be read."""


@dataclass
class Submission:
    id: str
    path: Path
    root: Path | None = None  # the folder to search; None when unreadable
    only: str | None = None  # a single-file submission: the one student file it holds
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    _extracted: tempfile.TemporaryDirectory | None = None

    def locate(self, exercise) -> Path | None:
        """The file that answers ``exercise``: its .py, else its notebook; None when absent.

        Raises SubmissionError when two candidates are equally good.
        """
        if self.root is None:
            return None
        names = {exercise.student_file, f"{exercise.module}.ipynb"}
        if self.only is not None:
            return self.root / self.only if self.only in names else None
        candidates = [p for p in self._files() if p.name in names]
        if not candidates:
            return None

        def preference(p: Path):
            return (p.parent.name != exercise.folder, p.suffix != ".py", len(p.relative_to(self.root).parts))

        candidates.sort(key=preference)
        if len(candidates) > 1 and preference(candidates[0]) == preference(candidates[1]):
            found = ", ".join(str(p.relative_to(self.root)) for p in candidates[:3])
            raise SubmissionError(f"more than one candidate for {exercise.student_file}: {found}")
        return candidates[0]

    def _files(self) -> list[Path]:
        """The regular files up to MAX_DEPTH folders down, without links, hidden or ignored folders.

        A loop over a stack, not recursion: a tree of any depth costs only what is looked at.
        """
        found, stack, seen = [], [(self.root, 0)], 0
        while stack:
            folder, depth = stack.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    seen += 1
                    if seen > MAX_FILES:
                        raise SubmissionError(f"holds more than {MAX_FILES} files and folders")
                    if entry.name.startswith(".") or entry.name in IGNORED_PARTS or entry.is_symlink():
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if depth < MAX_DEPTH:
                            stack.append((Path(entry.path), depth + 1))
                    elif entry.is_file(follow_symlinks=False):
                        found.append(Path(entry.path))
        return found

    def close(self) -> None:
        if self._extracted is not None:
            self._extracted.cleanup()


def open_submission(path: Path, student_files: set[str]) -> Submission:
    """A Submission for ``path``; its ``error`` says why it cannot be read, if it cannot. Never raises."""
    name = path.stem if path.suffix == ".zip" else path.name
    submission = Submission(id=name.encode("utf-8", "replace").decode("utf-8"), path=path)
    try:
        if path.is_dir():
            submission.root = path
        elif path.suffix == ".zip":
            submission._extracted = tempfile.TemporaryDirectory(prefix="nnex-zip-")
            submission.root = Path(submission._extracted.name)
            wanted = set(student_files) | {f"{Path(f).stem}.ipynb" for f in student_files}
            submission.notes += extract_zip(path, submission.root, wanted)
        elif path.suffix in (".py", ".ipynb"):
            stem_names = {Path(f).stem for f in student_files}
            if path.stem not in stem_names:
                raise SubmissionError(f"{path.name} is not named like a student file "
                                      f"({', '.join(sorted(student_files))}, or a notebook of the same name)")
            if not path.is_file():  # a pipe would block the batch, a device never end
                raise SubmissionError(f"{path.name} is not a regular file")
            submission.root, submission.only = path.parent, path.name
        else:
            raise SubmissionError(f"{path.name} is neither a folder, a .zip, a .py nor an .ipynb file")
    except SubmissionError as error:
        submission.root, submission.error = None, str(error)
    except Exception as error:  # whatever else goes wrong with one submission costs only that one
        submission.close()
        submission.root, submission.error = None, f"{submission.id} cannot be read: {type(error).__name__}: {error}"
    return submission


def extract_zip(archive: Path, destination: Path, wanted: set[str]) -> list[str]:
    """Extract the entries of ``archive`` named like a student file (``wanted``): nothing else of a
    submission is ever used. Entries that would land outside, and links, are refused; an entry that
    cannot be written costs only itself. Returns notes on what was left out."""
    notes, deep, seen = [], 0, set()
    try:
        with zipfile.ZipFile(archive) as zipped:
            entries = zipped.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise SubmissionError(f"{archive.name} holds {len(entries)} entries, over {MAX_ZIP_ENTRIES}")
            kept = [e for e in entries if PurePosixPath(e.filename.replace("\\", "/")).name in wanted]
            if sum(e.file_size for e in kept) > MAX_ZIP_BYTES:
                raise SubmissionError(f"the student files in {archive.name} unpack to more than "
                                      f"{MAX_ZIP_BYTES // 2**20} MiB")
            for entry in entries:
                name = PurePosixPath(entry.filename.replace("\\", "/"))
                shown = repr(entry.filename[:200])
                if name.is_absolute() or ".." in name.parts or ":" in entry.filename:
                    notes.append(f"refused zip entry {shown}: it would land outside the submission")
                elif stat.S_ISLNK(entry.external_attr >> 16):
                    notes.append(f"refused zip entry {shown}: it is a symbolic link")
                elif entry.is_dir() or name.name not in wanted:
                    continue
                elif len(name.parts) > MAX_DEPTH + 1:
                    deep += 1
                elif name in seen:
                    notes.append(f"zip entry {shown} appears more than once; only its first copy is used")
                else:
                    seen.add(name)
                    target = destination.joinpath(*name.parts)
                    try:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with zipped.open(entry) as source, open(target, "wb") as sink:
                            shutil.copyfileobj(source, sink)
                    except OSError as error:
                        notes.append(f"zip entry {shown} could not be extracted: {error.strerror or error}")
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError) as error:
        raise SubmissionError(f"{archive.name} cannot be read as a zip: {error}") from None
    if deep:
        notes.insert(0, f"{archive.name}: {deep} student files more than {MAX_DEPTH} folders deep were left out")
    return _at_most(notes, "notes on zip entries")


def _at_most(notes: list[str], what: str) -> list[str]:
    return notes[:MAX_NOTES] + ([f"... and {len(notes) - MAX_NOTES} more {what}"] if len(notes) > MAX_NOTES else [])


def student_code(path: Path) -> tuple[str, list[str]]:
    """The code to run for a student file, and notes on what was left out or changed.

    A .py file is UTF-8 text (a byte-order mark is dropped). A notebook gives its code cells in
    order; outputs and metadata are ignored (so a notebook may be large with plots: the limit is
    on its code), and IPython magics and shell escapes are reported and replaced by ``pass``, never
    run. Characters that are not valid Unicode (a lone surrogate) become U+FFFD, with a note.
    """
    limit = MAX_SOURCE_BYTES if path.suffix == ".py" else MAX_NOTEBOOK_BYTES
    data = _read_regular_file(path, limit)
    if path.suffix == ".py":
        try:
            return data.decode("utf-8-sig"), []
        except UnicodeDecodeError as error:
            raise SubmissionError(f"{path.name} is not UTF-8 text: {error}") from None
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # nbformat raises many kinds for a broken file
        raise SubmissionError(f"{path.name} is not a readable notebook: {str(error)[:300]}") from None
    code, notes = _notebook_code(notebook, path.name)
    if len(code.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        raise SubmissionError(f"the code cells of {path.name} hold over {MAX_SOURCE_BYTES // 2**20} MiB of code")
    valid = code.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if valid != code:
        notes.append(f"{path.name}: characters that are not valid Unicode were replaced by \ufffd")
    return valid, notes


def _read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes: never a pipe that blocks, nor a device
    that never ends."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise SubmissionError(f"{path.name} cannot be opened: {error.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SubmissionError(f"{path.name} is not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SubmissionError(f"{path.name} is over {limit // 2**20} MiB")
    return data


def _notebook_code(notebook, name: str) -> tuple[str, list[str]]:
    cells, notes, futures = [], [], []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        lines = str(cell.get("source", "")).splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            notes.append(f"{name}: cell {number}: cell magic {lines[0].strip()[:60]!r} was not run")
            continue
        kept = []
        for line in lines:
            stripped = line.lstrip()
            if stripped.startswith(("%", "!")):
                notes.append(f"{name}: cell {number}: {stripped[:60]!r} was not run")
                line = line[: len(line) - len(stripped)] + "pass"
            elif line.startswith("from __future__ import"):  # fine at the top of a cell, so it goes first
                futures.append(line)
                line = "pass"
            kept.append(line)
        cells.append("\n".join(kept))
    return "\n".join(futures + ["\n".join(cells)]) + "\n", _at_most(notes, "lines that were not run")
