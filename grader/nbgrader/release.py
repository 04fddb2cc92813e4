"""What students receive: ``nnex release OUT_DIR``.

    OUT_DIR/README.md                    how to set up, work, self-check and hand in
    OUT_DIR/requirements.txt             the one setup command's packages (the CPU build of PyTorch)
    OUT_DIR/pytest.ini                   makes OUT_DIR pytest's root, so that the self-check's
                                         plugin (exercises/conftest.py) loads wherever pytest starts
    OUT_DIR/exercises/conftest.py        the self-check: a pytest plugin (fixtures, short reports)
    OUT_DIR/exercises/nnex_check.py      the checks the public tests use
    OUT_DIR/exercises/nnex_selfcheck.py  what a self-check shows: short failures with their hints
    OUT_DIR/exercises/nnex_notebook.py   public tests run from inside a notebook: check("task")
    OUT_DIR/exercises/<folder>/          per exercise: the stub, its notebook, its task text
                                         (README.md) and self_check.json, as the generator makes
                                         them from solutions/ and the manifest, and the rest of
                                         exercises/<folder>: the public tests and support modules

The layout is the repository's, so the exercises' READMEs hold as they are. Nothing comes from
solutions/ but the generated stubs; nothing from reference/, grader/ or tests/.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from grader.generate import render_exercise
from grader.paths import EXERCISES

SHARED_FILES = ("conftest.py", "nnex_check.py", "nnex_selfcheck.py", "nnex_notebook.py")  # from exercises/
MARKER = ".nnex-release"  # says that a folder holds a release, which a new release may replace
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
TORCH = "torch==2.13.0"  # the version the grader runs; the CPU index gives its CPU build
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

PYTEST_INI = """\
# The bundle's root is pytest's root: the self-check's plugin, exercises/conftest.py, loads whether
# pytest starts here, in an exercise's folder or on a notebook.
[pytest]
addopts = -p no:cacheprovider
"""


def _requirements(exercises) -> str:
    torch = any(e.library == "torch" for e in exercises)
    lines = ["# python -m pip install -r requirements.txt: what the exercises, their self-check and",
             "# notebooks need."]
    if torch:
        lines += ["# PyTorch's CPU build (about 200 MB): the index below has it; PyPI's Linux build",
                  "# brings several GB of CUDA. For a CUDA build, see README.md.",
                  f"--extra-index-url {TORCH_CPU_INDEX}", TORCH]
    lines += ["numpy>=1.24,<3", "pytest>=8", "matplotlib>=3.7", "jupyter", "ipython>=8"]
    return "\n".join(lines) + "\n"


def _readme(exercises) -> str:
    rows = "\n".join(f"| `exercises/{e.folder}/` | {e.title} | `{e.student_file}` | "
                     f"{'PyTorch' if e.library == 'torch' else 'NumPy'} |" for e in exercises)
    first = exercises[0]
    notebook = f"{first.module}.ipynb"
    torch = any(e.library == "torch" for e in exercises)
    cuda = (f"""
That installs PyTorch's CPU build, which is all the exercises need. To use an NVIDIA GPU instead,
install the CUDA build of the same version first, then the rest (pick the CUDA version your driver
supports on https://pytorch.org/get-started/locally/):

```bash
python -m pip install {TORCH} --index-url https://download.pytorch.org/whl/cu128
python -m pip install -r requirements.txt
```
""" if torch else "")
    return f"""# Exercises on neural networks

| folder | exercise | your file | library |
| --- | --- | --- | --- |
{rows}

Each folder holds the file to complete (for example `{first.student_file}`), the same cells as a
notebook (`{notebook}`), the task text (`README.md`), the public tests (`test_*.py`) and any module
the exercise provides. Fill in every `# YOUR CODE HERE` (and every `YOUR ANSWER HERE` in the text)
in either the `.py` file or the notebook.

## Setup

Python 3.10 or newer. In this folder, in a virtual environment (`python -m venv .venv`, then
`source .venv/bin/activate`, or `.venv\\Scripts\\activate` on Windows), one command installs
everything (NumPy{', PyTorch' if torch else ''}, pytest, matplotlib and Jupyter):

```bash
python -m pip install -r requirements.txt
```
{cuda}
## Check your work

In a notebook (`jupyter lab`, then open `{first.folder}/{notebook}`), run the `check("...")` cell after
each task: it runs that task's public tests on the functions you defined and prints `passed`, or
the first check that failed, in a line or two, with the likely mistake. `check_all()` at the end
does every task.

For the `.py` file, run pytest in the exercise's folder (or `pytest exercises/{first.folder}` here,
or just `pytest` here for every exercise); a failing test says what was wrong and the likely mistake:

```bash
cd exercises/{first.folder}
pytest                  # tests {first.student_file}
pytest {notebook:<16} # tests the notebook's code instead
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
    written: dict[Path, str | Path] = {out_dir / "README.md": _readme(exercises), out_dir / MARKER: "",
                                       out_dir / "requirements.txt": _requirements(exercises),
                                       out_dir / "pytest.ini": PYTEST_INI}
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
