"""What students receive: ``nnex release OUT_DIR``.

    OUT_DIR/README.md                    how to work, self-check with pytest and hand in
    OUT_DIR/exercises/conftest.py        the self-check's fixtures
    OUT_DIR/exercises/nnex_check.py      the checks the public tests use
    OUT_DIR/exercises/nnex_notebook.py   public tests run from inside a notebook
    OUT_DIR/exercises/<folder>/          per exercise: the stub, its notebook and its task text
                                         (README.md), as the generator makes them from solutions/,
                                         and the rest of exercises/<folder>: the public tests and
                                         the support modules

The layout is the repository's, so the exercises' READMEs hold as they are. Nothing comes from
solutions/ but the generated stubs; nothing from reference/, grader/ or tests/.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from grader.generate import render_exercise
from grader.paths import EXERCISES

SHARED_FILES = ("conftest.py", "nnex_check.py", "nnex_notebook.py")  # from exercises/
MARKER = ".nnex-release"  # says that a folder holds a release, which a new release may replace
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}


def _readme(exercises) -> str:
    rows = "\n".join(f"| `exercises/{e.folder}/` | {e.title} | `{e.student_file}` | "
                     f"{'PyTorch' if e.library == 'torch' else 'NumPy'} |" for e in exercises)
    first = exercises[0]
    notebook = f"{first.module}.ipynb"
    torch_note = (" and `torch` for the PyTorch exercises" if any(e.library == "torch" for e in exercises) else "")
    return f"""# Exercises on neural networks

| folder | exercise | your file | library |
| --- | --- | --- | --- |
{rows}

Each folder holds the file to complete (for example `{first.student_file}`), the same cells as a
notebook (`{notebook}`), the task text (`README.md`), the public tests (`test_*.py`) and any module
the exercise provides. Fill in every `# YOUR CODE HERE` (and every `YOUR ANSWER HERE` in the text)
in either the `.py` file or the notebook.

## Setup

Python 3.10 or newer, with NumPy, pytest, matplotlib and jupytext{torch_note}:

```bash
python -m pip install numpy pytest matplotlib jupytext
```

## Check your work

Run the public tests of an exercise from this folder:

```bash
pytest exercises/{first.folder}
```

They import your `.py` file. If you work in the notebook, either run its test cells (each runs the
public tests of one part on the functions the notebook defines), or export the notebook to the
`.py` file first (this overwrites it) and run pytest:

```bash
jupytext --to py:percent exercises/{first.folder}/{notebook}
```

The grader runs these public tests and hidden ones on fresh random inputs: passing the public tests
is necessary, not sufficient.

## Hand in

Your file at its path here (for example `{first.folder}/{first.student_file}`), or the notebook in
its place, as your course asks: a folder or a .zip of the exercise folders, or the single file.
"""


def release(out_dir: Path, exercises) -> list[Path]:
    """Write the students' files for ``exercises`` into ``out_dir``; return the files written.

    ``out_dir`` must be missing, empty, or an earlier release (which is replaced); else
    FileExistsError.
    """
    exercises = list(exercises)
    if not exercises:
        raise ValueError("no exercise to release")
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"{out_dir} exists and is not a folder")
        if any(out_dir.iterdir()):
            if not (out_dir / MARKER).is_file():
                raise FileExistsError(f"{out_dir} is not empty and holds no earlier release; "
                                      "give a new or an empty folder")
            shutil.rmtree(out_dir)
    written: dict[Path, str | Path] = {out_dir / "README.md": _readme(exercises), out_dir / MARKER: ""}
    for name in SHARED_FILES:
        written[out_dir / "exercises" / name] = EXERCISES / name
    for exercise in exercises:
        target = out_dir / "exercises" / exercise.folder
        for path in sorted(exercise.exercise_dir.rglob("*")):
            parts = path.relative_to(exercise.exercise_dir).parts
            if path.is_file() and not path.is_symlink() and not SKIPPED_PARTS & set(parts) \
                    and not any(p.startswith(".") for p in parts):
                written[target.joinpath(*parts)] = path
        for path, text in render_exercise(exercise).items():  # the stub, notebook and task text, fresh
            written[target / path.relative_to(exercise.exercise_dir)] = text
    for path, content in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, path)
        else:
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(content)
    return sorted(written)
