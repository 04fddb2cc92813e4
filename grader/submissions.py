"""Submissions: a folder, a .zip of one, or single student files (.py or .ipynb), and the downloads
of learning management systems, whose names say whose each file is (lms.py).

Finding an exercise's file and turning a notebook into code happen here, in the trusted parent,
without running anything. A problem with one submission is recorded on it, never raised; a file of
a download that cannot be used costs only itself.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath

import jupytext
import nbformat

from grader import lms

MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_BYTES = 200 * 2**20
MAX_DEPTH = 16  # folders below the submission's top where its files are looked for
MAX_FILES = 20_000  # entries looked at in a submission's folder
MAX_SOURCE_BYTES = 2 * 2**20  # a .py file, or the code of a notebook
MAX_NOTEBOOK_BYTES = 64 * 2**20  # a notebook file, outputs (plots) included
MAX_NOTES = 20  # notes (a line not run, a zip entry refused) reported one by one; the rest counted
MAX_ANSWER_CHARACTERS = 20_000  # of a written answer, as the reports show it
IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}
EXERCISE_FOLDER = re.compile(r"^[0-9]{2}_[a-z][a-z0-9_]*$")  # as in schema.yaml: never a student's name
ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"  # a written answer's cell in the stub (generate.py)


class SubmissionError(Exception):
    """The submission as a whole cannot be read."""


@dataclass
class Submission:
    id: str
    path: Path
    roots: list[Path] = field(default_factory=list)  # folders searched for student files
    files: dict[str, Path] = field(default_factory=dict)  # student file name -> the file given for it
    student: lms.Student | None = None  # who it is from, where a download's names say so
    upload_order: int = 0  # of two uploads of one file by one student, the larger is the later
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    _extracted: list[tempfile.TemporaryDirectory] = field(default_factory=list)

    def locate(self, exercise) -> Path | None:
        """The file that answers ``exercise``: its .py, else its notebook; None when absent.

        A file given by itself comes first; then the folders are searched. Raises SubmissionError
        when two candidates there are equally good.
        """
        if self.error is not None:
            return None
        names = (exercise.student_file, f"{exercise.module}.ipynb")
        given = [self.files[name] for name in names if name in self.files]
        if given:
            return given[0]
        candidates = [(root, p) for root in self.roots for p in _files(root) if p.name in names]
        if not candidates:
            return None

        def preference(candidate):
            root, p = candidate
            return p.parent.name != exercise.folder, p.suffix != ".py", len(p.relative_to(root).parts)

        candidates.sort(key=preference)
        if len(candidates) > 1 and preference(candidates[0]) == preference(candidates[1]):
            found = ", ".join(str(p.relative_to(root)) for root, p in candidates[:3])
            raise SubmissionError(f"more than one candidate for {exercise.student_file}: {found}")
        return candidates[0][1]

    def close(self) -> None:
        for folder in self._extracted:
            folder.cleanup()


def _files(root: Path) -> list[Path]:
    """The regular files up to MAX_DEPTH folders down, without links, hidden or ignored folders.

    A loop over a stack, not recursion: a tree of any depth costs only what is looked at.
    """
    found, stack, seen = [], [(root, 0)], 0
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


def _names(student_files: set[str]) -> set[str]:
    """Every name an exercise's file may have: neuron.py and neuron.ipynb."""
    return set(student_files) | {f"{Path(f).stem}.ipynb" for f in student_files}


def _not_a_student_file(name: str, student_files: set[str]) -> str:
    return (f"{name} is not named like a student file "
            f"({', '.join(sorted(student_files))}, or a notebook of the same name)")


def _readable_id(name: str) -> str:
    return name.encode("utf-8", "replace").decode("utf-8")


def _single_file_id(path: Path) -> str:
    """A lone student file is named after its folder (alice/neuron.py is alice's), or the folder
    above where that is an exercise's (alice/01_neuron_gradient/neuron.py is alice's too)."""
    folder = path.absolute().parent
    if EXERCISE_FOLDER.match(folder.name) and folder.parent.name:
        folder = folder.parent
    return _readable_id(folder.name or path.name)


def open_submission(path: Path, student_files: set[str]) -> Submission:
    """A Submission for ``path`` (a folder, a zip or a student file, whatever its name); its
    ``error`` says why it cannot be read, if it cannot. Never raises."""
    submission = Submission(id=_readable_id(path.stem if path.suffix == ".zip" else path.name), path=path)
    try:
        if path.is_dir():
            submission.roots.append(path)
        elif path.suffix == ".zip":
            submission.roots.append(_extracted(submission, path, _names(student_files).__contains__))
        elif path.suffix in (".py", ".ipynb"):
            if path.stem not in {Path(f).stem for f in student_files}:
                raise SubmissionError(_not_a_student_file(path.name, student_files))
            submission.id = _single_file_id(path)
            if not path.is_file():  # a pipe would block the batch, a device never end
                raise SubmissionError(f"{path.name} is not a regular file")
            submission.files[path.name] = path
        else:
            raise SubmissionError(f"{path.name} is neither a folder, a .zip, a .py nor an .ipynb file")
    except SubmissionError as error:
        submission.error = str(error)
    except Exception as error:  # whatever else goes wrong with one submission costs only that one
        submission.error = f"{submission.id} cannot be read: {type(error).__name__}: {error}"
    if submission.error is not None:
        submission.close()
        submission.roots, submission.files = [], {}
    return submission


def _extracted(submission: Submission, archive: Path, wanted) -> Path:
    """The folder where the entries of ``archive`` that ``wanted`` (a test on an entry's file name)
    were extracted; it goes with the submission."""
    folder = tempfile.TemporaryDirectory(prefix="nnex-zip-")
    submission._extracted.append(folder)
    submission.notes += extract_zip(archive, Path(folder.name), wanted)
    return Path(folder.name)


def open_submissions(paths: list[Path], student_files: set[str]) -> list[Submission]:
    """The submissions that ``paths`` hold, in their order: a download of Canvas, Moodle or
    Gradescope gives one per student, named after the student; the files of one student (or, given
    by themselves, of one folder) make one submission. Never raises."""
    pieces: list[Submission] = []
    for path in paths:
        try:
            pieces += _download(path, student_files) or [_piece(path, student_files)]
        except Exception as error:  # the download as a whole cannot be read: it costs only itself
            pieces.append(Submission(id=_readable_id(path.stem if path.suffix == ".zip" else path.name), path=path,
                                     error=f"{path.name} cannot be read: {type(error).__name__}: {error}"))
    return _by_student(pieces)


def _piece(path: Path, student_files: set[str], in_download: bool = False) -> Submission:
    """One entry of the command line or of a download: an LMS upload, a Moodle student's folder or
    Gradescope submission folder, or a plain folder, zip or student file."""
    upload = lms.upload(path.name, student_files)
    if upload is not None:
        piece = _upload(path, upload, student_files)
    elif path.is_dir() and lms.moodle_folder(path.name):
        piece = open_submission(path, student_files)
        piece.student = lms.moodle_folder(path.name)
        for archive in sorted(path.glob("*.zip")):  # a student's own zip inside their folder
            piece.roots.append(_extracted(piece, archive, _names(student_files).__contains__))
    elif in_download and not path.is_dir():
        piece = Submission(id=_readable_id(path.name), path=path,
                           error=f"{path.name} is not named as Canvas or Moodle name a student's file, "
                                 "so whose it is is unknown")
    else:
        piece = open_submission(path, student_files)
    if piece.student is not None:
        piece.id = _readable_id(piece.student.name)
    return piece


def _upload(path: Path, upload: lms.Upload, student_files: set[str]) -> Submission:
    piece = Submission(id=upload.student.name, path=path, student=upload.student)
    try:
        if upload.original.endswith(".zip"):
            piece.roots.append(_extracted(piece, path, _names(student_files).__contains__))
        elif upload.original not in _names(student_files):
            piece.error = f"{path.name}: {_not_a_student_file(upload.original, student_files)}"
        elif not path.is_file():
            piece.error = f"{path.name} is not a regular file"
        else:
            piece.files[upload.original] = path
    except SubmissionError as error:
        piece.error = f"{path.name}: {error}"
    piece.upload_order = upload.order
    return piece


def _download(path: Path, student_files: set[str]) -> list[Submission] | None:
    """The submissions of an LMS download (a folder or a zip of one), or None when ``path`` is not one."""
    if lms.upload(path.name, student_files) or lms.moodle_folder(path.name):
        return None  # one student's upload or folder, not a whole download
    if path.suffix == ".zip" and path.is_file():
        entries = _download_zip_entries(path, student_files)
        if entries is None:
            return None
        holder, wanted = Submission(id=path.stem, path=path), _download_entry(student_files)
        folder = _extracted(holder, path, wanted)
        pieces = _download(folder, student_files) or []
        # the uploads left in the zip (no student file, never read) are each reported by their name
        pieces += [_piece(folder / name, student_files) for name in entries
                   if lms.upload(PurePosixPath(name).name, student_files) and not wanted(PurePosixPath(name).name)]
        pieces.sort(key=lambda piece: piece.path.name)
        for piece in pieces:  # the extracted files live as long as the first submission made of them
            piece.path = path / piece.path.relative_to(folder)
        if pieces:
            pieces[0]._extracted += holder._extracted
            pieces[0].notes += holder.notes
        else:
            holder.close()
        return pieces or None
    if not path.is_dir():
        return None
    top = _download_top(path)
    if top is None:
        return None
    metadata = top / lms.GRADESCOPE_METADATA
    if metadata.is_file():
        return _gradescope_export(top, metadata, student_files)
    return [_piece(entry, student_files, in_download=True)
            for entry in sorted(top.iterdir(), key=lambda p: p.name)
            if not entry.name.startswith(".") and entry.name not in IGNORED_PARTS]


def _download_top(folder: Path) -> Path | None:
    """The folder whose entries are a download's (``folder``, or the one folder in it), or None."""
    entries = [e for e in folder.iterdir() if not e.name.startswith(".") and e.name not in IGNORED_PARTS]
    if len(entries) == 1 and entries[0].is_dir() and not lms.moodle_folder(entries[0].name):
        folder, entries = entries[0], [e for e in entries[0].iterdir() if not e.name.startswith(".")]
    names = {e.name for e in entries}
    if lms.GRADESCOPE_METADATA in names or any(
            lms.upload(e.name, set()) or (e.is_dir() and lms.moodle_folder(e.name)) for e in entries):
        return folder
    return None


def _download_zip_entries(archive: Path, student_files: set[str]) -> list[str] | None:
    """The entries of ``archive`` at its top or one folder down, where it is an LMS download; else None."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = [name.replace("\\", "/") for name in zipped.namelist()[:MAX_ZIP_ENTRIES]]
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError):
        return None  # read as a plain zip, which says what is wrong with it
    top = [name for name in names if len(PurePosixPath(name).parts) <= 2]
    for name in names:
        parts = PurePosixPath(name).parts
        if any(part == lms.GRADESCOPE_METADATA or lms.moodle_folder(part) for part in parts[:2]) \
                or (len(parts) <= 2 and lms.upload(parts[-1], student_files)):
            return top
    return None


def _download_entry(student_files: set[str]):
    """Which entries of a download's zip are extracted: the student files, however an LMS named
    them, the students' own zips and Gradescope's metadata."""
    names = _names(student_files)

    def wanted(name: str) -> bool:
        upload = lms.upload(name, student_files)
        original = upload.original if upload else name
        return original in names or original.endswith(".zip") or name == lms.GRADESCOPE_METADATA

    return wanted


def _gradescope_export(top: Path, metadata: Path, student_files: set[str]) -> list[Submission]:
    try:
        students, problem = lms.gradescope_students(metadata.read_text(encoding="utf-8")), None
    except (ValueError, OSError, UnicodeDecodeError) as error:
        students, problem = {}, str(error)
    pieces = []
    for folder in sorted(top.iterdir(), key=lambda p: p.name):
        if not (folder.is_dir() and lms.is_gradescope_folder(folder.name)):
            continue
        piece = open_submission(folder, student_files)
        piece.student = students.get(folder.name)
        if piece.student is not None:
            piece.id = _readable_id(piece.student.name)
        else:
            piece.notes.append(problem or f"{lms.GRADESCOPE_METADATA} names no submitter of {folder.name}")
        pieces.append(piece)
    return pieces


def _by_student(pieces: list[Submission]) -> list[Submission]:
    """One submission per student, at the place of their first piece: the uploads of one LMS
    student, and the student files given by themselves from one folder. Of two uploads of one
    file, the later is graded; a piece that could not be used costs only itself when its student
    has others."""
    groups: dict[object, list[Submission]] = {}
    for number, piece in enumerate(pieces):
        if piece.student is not None:
            key = (piece.student.lms, piece.student.lms_id)
        elif piece.files and not piece.roots and piece.error is None:
            key = ("folder", next(iter(piece.files.values())).absolute().parent)
        else:
            key = number
        groups.setdefault(key, []).append(piece)
    return [_merged(group) for group in groups.values()]


def _merged(group: list[Submission]) -> Submission:
    if len(group) == 1:
        return group[0]
    usable = [piece for piece in group if piece.error is None]
    first = (usable or group)[0]
    merged = Submission(id=first.id, path=first.path, student=first.student)
    if not usable:
        merged.error = "; ".join(piece.error for piece in group)
    for piece in sorted(usable, key=lambda p: p.upload_order):
        for name, path in piece.files.items():
            if name in merged.files:
                merged.notes.append(f"{merged.files[name].name} and {path.name} are both {name}: "
                                    f"the later upload, {path.name}, is graded")
            merged.files[name] = path
        merged.roots += piece.roots
    for piece in group:
        merged.notes += piece.notes
        merged._extracted += piece._extracted
        if piece.error is not None and usable:
            merged.notes.append(piece.error)
    return merged


def extract_zip(archive: Path, destination: Path, wanted) -> list[str]:
    """Extract the entries of ``archive`` whose file name ``wanted`` (a test) accepts, those named
    like a student file: nothing else of a submission is ever used. Entries that would land outside, and links, are refused; an entry that
    cannot be written costs only itself. Returns notes on what was left out."""
    notes, deep, seen = [], 0, set()
    try:
        with zipfile.ZipFile(archive) as zipped:
            entries = zipped.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise SubmissionError(f"{archive.name} holds {len(entries)} entries, over {MAX_ZIP_ENTRIES}")
            kept = [e for e in entries if wanted(PurePosixPath(e.filename.replace("\\", "/")).name)]
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
                elif entry.is_dir() or not wanted(name.name):
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


def student_code(path: Path) -> tuple[str, list[str], dict[int, tuple[int, int]]]:
    """The code to run for a student file, notes on what was left out or changed, and for a notebook
    where each line of the code comes from: {line: (cell number, line in the cell)} ({} for a .py).

    A .py file is UTF-8 text (a byte-order mark is dropped). A notebook gives its code cells in
    order; outputs and metadata are ignored (so a notebook may be large with plots: the limit is
    on its code), its IPython syntax translated by IPython, and magics and shell escapes reported and
    never run (see _notebook_code). Characters that are not valid Unicode (a lone surrogate) become
    U+FFFD, with a note.
    """
    data = read_student_file(path)
    if path.suffix == ".py":
        try:
            return data.decode("utf-8-sig"), [], {}
        except UnicodeDecodeError as error:
            raise SubmissionError(f"{path.name} is not UTF-8 text: {error}") from None
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # nbformat raises many kinds for a broken file
        raise SubmissionError(f"{path.name} is not a readable notebook: {str(error)[:300]}") from None
    code, notes, origins = _notebook_code(notebook, path.name)
    if len(code.encode("utf-8")) > MAX_SOURCE_BYTES:
        raise SubmissionError(f"the code cells of {path.name} hold over {MAX_SOURCE_BYTES // 2**20} MiB of code")
    return code, notes, origins


def read_student_file(path: Path) -> bytes:
    """The bytes of a student file, within the limit of its kind (a .py, a notebook)."""
    return _read_regular_file(path, MAX_SOURCE_BYTES if path.suffix == ".py" else MAX_NOTEBOOK_BYTES)


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


CHECK_TAG = "nnex-check"  # the released notebooks' check cells (grader/generate.py): a self-check, not code
# Defined before a notebook's code when it uses IPython: get_ipython() and display() as Jupyter has
# them, where every magic and shell escape does nothing and gives an empty list.
NOT_IPYTHON = """\
class _NotRun:  # the notebook's magics and shell escapes: never run when graded
    def __getattr__(self, name):
        return lambda *args, **kwargs: []
get_ipython = _NotRun
def display(*objects, **kwargs):
    pass
"""
_IPYTHON_LINE = re.compile(r"^\s*(\w+\s*=\s*)?[%!]")  # a line magic or shell escape, maybe assigned
_IPYTHON_PASSES = 400  # IPython's TransformerManager gives up after 500 passes over a cell
# IPython re-reads the whole cell for each line it translates: above this many (lines x IPython
# lines) a cell is translated one IPython line at a time, so that a cell costs the grader well
# under a second whatever its shape
_IPYTHON_WHOLE_CELL_WORK = 50_000
MAX_IPYTHON_LINES = 10_000  # magics and shell escapes in one notebook: no course needs more
# cell magics whose body is the notebook's Python, run in its namespace (Jupyter defines what they time)
_PYTHON_BODY_CELL_MAGICS = ("%%time", "%%capture")
_IPYTHON_CALL = re.compile(r"\bget_ipython\(\)\.(system|getoutput|run_line_magic|run_cell_magic)\(")


def _notebook_code(notebook, name: str) -> tuple[str, list[str], dict[int, tuple[int, int]]]:
    """The code of a notebook's cells, its IPython syntax translated by IPython itself (``x = !ls``
    becomes ``x = get_ipython().getoutput('ls')``), notes on what will not run, and where each line
    of the code comes from: {line: (cell number, line in the cell)}. Cell magics are left out whole
    (their body may be another language), but for %%time and %%capture, whose body is Python run in
    the notebook's namespace; a syntax error names the cell."""
    from IPython.core.inputtransformer2 import TransformerManager

    translate = TransformerManager().transform_cell
    code_cells = [(number, str(cell.get("source", ""))) for number, cell in enumerate(notebook.cells, start=1)
                  if cell.get("cell_type") == "code" and CHECK_TAG not in cell.get("metadata", {}).get("tags", [])]
    # bounds checked before IPython sees anything: its translation runs here, in the grader
    if sum(len(source) for _, source in code_cells) > MAX_SOURCE_BYTES:
        raise SubmissionError(f"the code cells of {name} hold over {MAX_SOURCE_BYTES // 2**20} MiB of code")
    ipython_lines = sum(1 for _, source in code_cells for line in source.splitlines() if _IPYTHON_LINE.match(line))
    if ipython_lines > MAX_IPYTHON_LINES:
        raise SubmissionError(f"{name} holds {ipython_lines} magics and shell escapes, over {MAX_IPYTHON_LINES}")
    cells, notes, futures, origins = [], [], [], []
    for number, written in code_cells:
        # a lone surrogate (JSON allows one) can be neither compiled nor sent to the child
        source = written.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        if source != written:
            notes.append(f"{name}: cell {number}: characters that are not valid Unicode were replaced by \ufffd")
        lines = source.splitlines()
        first = next((index for index, line in enumerate(lines) if line.strip()), None)
        if first is not None and lines[first].lstrip().startswith("%%"):
            magic = lines[first].strip()
            if magic.split()[0] not in _PYTHON_BODY_CELL_MAGICS:
                notes.append(f"{name}: cell {number}: cell magic {magic[:60]!r} was not run")
                continue
            notes.append(f"{name}: cell {number}: cell magic {magic[:60]!r} was not run, its Python was")
            lines[:first + 1] = ["pass"] * (first + 1)  # the body keeps its lines (IPython drops blank ones ahead)
            source = "\n".join(lines) + "\n"
        magics = sum(1 for line in lines if _IPYTHON_LINE.match(line))
        if magics < _IPYTHON_PASSES and magics * len(lines) <= _IPYTHON_WHOLE_CELL_WORK:
            code = translate(source)
        else:  # more than IPython can translate (or quickly) in one piece: those lines one at a time
            code = "".join(line[:len(line) - len(line.lstrip())] + translate(line.lstrip() + "\n")
                           if _IPYTHON_LINE.match(line) else line + "\n" for line in lines)
        kept = []
        for line_number, line in enumerate(code.splitlines()):
            if _IPYTHON_CALL.search(line):
                original = lines[line_number].strip() if line_number < len(lines) else line.strip()
                notes.append(f"{name}: cell {number}: {original[:60]!r} was not run")
            if line.startswith("from __future__ import"):  # fine at the top of a cell, so it goes first
                futures.append(line)
                line = "pass"
            kept.append(line)
        code = "\n".join(kept)
        try:
            compile(code, f"In [{number}]", "exec", dont_inherit=True)
        except SyntaxError as error:
            line = f", line {error.lineno}" if error.lineno else ""
            raise SubmissionError(f"{name}: In [{number}]{line}: {error.msg}") from None
        except ValueError as error:  # a NUL byte
            raise SubmissionError(f"{name}: In [{number}]: {error}") from None
        cells.append(code)
        origins += [(number, line) for line in range(1, max(len(kept), 1) + 1)]  # IPython keeps the lines
    body = "\n".join(cells)
    uses_ipython = "get_ipython" in body or re.search(r"\bdisplay\(", body)
    code = "\n".join(futures + ([NOT_IPYTHON] if uses_ipython else []) + [body]) + "\n"
    before = code.count("\n", 0, len(code) - len(body) - 1)  # the lines put ahead of the cells
    return code, _at_most(notes, "lines that were not run"), \
        {before + index: origin for index, origin in enumerate(origins, start=1)}


def in_notebook_cells(result, origins: dict[int, tuple[int, int]], student_file: str):
    """``result`` (a graded exercise's JSON) with each place "neuron.py, line 12" in its messages
    named as the notebook's cell and line, "In [7], line 2", by ``origins`` (student_code's): the
    student wrote cells, not that file."""
    place = re.compile(rf"\b{re.escape(student_file)}, line (\d+)")

    def in_cells(match):
        cell = origins.get(int(match.group(1)))
        return f"In [{cell[0]}], line {cell[1]}" if cell else match.group(0)

    def rewritten(value):
        if isinstance(value, str):
            return place.sub(in_cells, value)
        if isinstance(value, dict):
            return {key: rewritten(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rewritten(item) for item in value]
        return value

    return rewritten(result)


@lru_cache(maxsize=None)
def answer_cells(stub: Path) -> tuple[tuple[str, int], ...]:
    """The written answers an exercise asks for: (name, position) of each markdown cell of its stub
    that holds the answer placeholder, named by its first tag, else by its position."""
    notebook = jupytext.reads(stub.read_text(encoding="utf-8"), fmt="py:percent")
    return tuple((cell.metadata.get("tags", [f"{index:02d}"])[0], index)
                 for index, cell in enumerate(notebook.cells)
                 if cell.cell_type == "markdown" and cell.source.strip() == ANSWER_PLACEHOLDER)


def written_answers(path: Path, answers: tuple[tuple[str, int], ...]) -> list[dict]:
    """The student's text for each written answer of ``answers`` (see answer_cells), found in the
    student's file (a notebook, or a .py in jupytext's percent format) by the cell's tag, by
    nbgrader's grade_id, else at the same position: {"name", "text", "status"}, where status is
    "to be graded by hand", or "not answered" when the cell is missing or still the placeholder."""
    if not answers:
        return []
    text = read_student_file(path).decode("utf-8-sig", "replace")
    try:
        cells = (jupytext.reads(text, fmt="py:percent") if path.suffix == ".py"
                 else nbformat.reads(text, as_version=4)).cells
    except Exception:  # an unreadable notebook has been reported with its code
        cells = []
    found = []
    for name, position in answers:
        cell = next((c for c in cells if c.get("cell_type") == "markdown" and (
            name in c.get("metadata", {}).get("tags", ())
            or c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"answer-{name}")), None)
        if cell is None and position < len(cells) and cells[position].get("cell_type") == "markdown":
            cell = cells[position]
        answer = str(cell.get("source", "")).strip() if cell is not None else ""
        if len(answer) > MAX_ANSWER_CHARACTERS:
            answer = f"{answer[:MAX_ANSWER_CHARACTERS]}… ({len(answer) - MAX_ANSWER_CHARACTERS} more characters)"
        answered = answer not in ("", ANSWER_PLACEHOLDER)
        found.append({"name": name, "text": answer.encode("utf-8", "replace").decode("utf-8") if answered else "",
                      "status": "to be graded by hand" if answered else "not answered"})
    return found
