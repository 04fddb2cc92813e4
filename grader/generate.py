"""Generate what students get from the single source in solutions/.

For every exercise manifest (grader/manifests/<id>.yaml) the solution file
solutions/<folder>/<student_file> (jupytext percent format, nbgrader markers) gives:

- the stub exercises/<folder>/<student_file>: every ``### BEGIN SOLUTION`` ... ``### END SOLUTION``
  region becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` in a code cell, and
  ``# YOUR ANSWER HERE`` in a markdown cell; ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``
  regions are removed; everything else is kept verbatim;
- the student notebook exercises/<folder>/<stem>.ipynb, converted from the stub by jupytext, with no
  outputs and cell ids derived from the cell's position, so that regenerating is byte-identical;
- exercises/<folder>/README.md: the stub's markdown cells, then how to check one's work.

    python -m grader.generate                  # write the generated files of every exercise
    python -m grader.generate ID [ID ...]      # only these exercises
    python -m grader.generate --check          # write nothing; exit 1 listing the files that drifted
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.manifests import ManifestError, load_manifests
from grader.paths import ROOT

CODE_PLACEHOLDER = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_PLACEHOLDER = "# YOUR ANSWER HERE"

# A marker line: optional indentation, optionally commented once more (as in a markdown cell of a
# percent script), then nbgrader's marker and nothing else.
_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?:#[ \t]*)?### (?P<edge>BEGIN|END) (?P<kind>SOLUTION|HIDDEN TESTS)[ \t]*$")
_CELL = re.compile(r"^# %%(?P<rest>.*)$")
_MARKDOWN_CELL = re.compile(r"\[(markdown|md)\]")

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


@dataclass
class _Region:
    kind: str       # "SOLUTION" or "HIDDEN TESTS"
    line: int       # 1-based line of the BEGIN marker
    indent: str
    markdown: bool


def render_stub(source_text: str, filename: str = "<source>") -> str:
    """The student's stub made from a solution file's text.

    Raises ValueError naming ``filename`` and the line when a marker is unmatched, nested, or when a
    region runs across a cell boundary.
    """
    lines = source_text.splitlines()
    out: list[str] = []
    markdown = False          # the type of the cell we are in; text before the first "# %%" is code
    region: _Region | None = None

    def error(lineno: int, what: str) -> ValueError:
        return ValueError(f"{filename}:{lineno}: {what}")

    for lineno, line in enumerate(lines, start=1):
        cell = _CELL.match(line)
        if cell:
            if region is not None:
                raise error(region.line, f"### BEGIN {region.kind} is not closed before the next cell "
                                         f"(line {lineno})")
            markdown = bool(_MARKDOWN_CELL.search(cell.group("rest")))
            out.append(line)
            continue
        marker = _MARKER.match(line)
        if marker is None:
            if region is None:
                out.append(line)
            continue
        edge, kind, indent = marker.group("edge"), marker.group("kind"), marker.group("indent")
        if edge == "BEGIN":
            if region is not None:
                raise error(lineno, f"### BEGIN {kind} inside the ### BEGIN {region.kind} of line "
                                    f"{region.line} (markers cannot nest)")
            region = _Region(kind, lineno, indent, markdown)
            continue
        if region is None:
            raise error(lineno, f"### END {kind} without a ### BEGIN {kind}")
        if region.kind != kind:
            raise error(lineno, f"### END {kind} closes the ### BEGIN {region.kind} of line {region.line}")
        if kind == "SOLUTION":
            if region.markdown:
                out.append(region.indent + ANSWER_PLACEHOLDER)
            else:
                out.extend(region.indent + text for text in CODE_PLACEHOLDER)
        region = None
    if region is not None:
        raise error(region.line, f"### BEGIN {region.kind} is never closed")
    text = "\n".join(out)
    if source_text.endswith(("\n", "\r")) and out:
        text += "\n"
    return text


def _read_percent(stub_text: str):
    import jupytext

    return jupytext.reads(stub_text, fmt="py:percent")


def render_notebook(stub_text: str) -> str:
    """The student notebook (.ipynb JSON text) made from the stub: no outputs, stable cell ids."""
    import nbformat

    nb = _read_percent(stub_text)
    nb.metadata = nbformat.NotebookNode(
        kernelspec=dict(KERNELSPEC), language_info={"name": "python"})
    width = max(2, len(str(len(nb.cells))))
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:0{width}d}"
        if cell.cell_type == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nbformat.writes(nb, version=4) + "\n"


def render_readme(stub_text: str, exercise) -> str:
    """The exercise's README: the stub's markdown cells in order, then the self-check."""
    folder, student_file = exercise.folder, exercise.student_file
    notebook = Path(student_file).with_suffix(".ipynb").name
    nb = _read_percent(stub_text)
    parts = [cell.source.strip("\n") for cell in nb.cells
             if cell.cell_type == "markdown" and cell.source.strip()]
    parts = [_readme_answer_line(part, student_file, notebook) for part in parts]
    if not parts or not parts[0].lstrip().startswith("#"):
        parts.insert(0, f"# {exercise.title}")
    parts.append("\n".join([
        "## Self-check",
        "",
        f"Work either in `{student_file}` or in the notebook `{notebook}`: both hold the same cells, "
        "and the grader accepts either one.",
        "Run the public tests from the top of the repository:",
        "",
        "```bash",
        f"pytest exercises/{folder}",
        "```",
        "",
        f"They test `{student_file}`. If you work in the notebook, export it first "
        f"(this overwrites `{student_file}`):",
        "",
        "```bash",
        f"jupytext --to py:percent exercises/{folder}/{notebook}",
        "```",
        "",
        "The grader runs these tests and hidden ones; passing the public tests is necessary, "
        "not sufficient.",
    ]))
    return "\n\n".join(parts) + "\n"


def _readme_answer_line(markdown: str, student_file: str, notebook: str) -> str:
    placeholder = ANSWER_PLACEHOLDER[2:]
    note = f"> {placeholder} (in this cell of `{notebook}` or of `{student_file}`)"
    return "\n".join(note if line.strip() == placeholder else line for line in markdown.split("\n"))


# ----------------------------------------------------------------------------- files

def render_exercise(exercise) -> dict[Path, str]:
    """Path -> generated text, for one exercise (a manifest's Exercise)."""
    source = exercise.solution_file
    if not source.is_file():
        raise FileNotFoundError(f"{source}: the solution file (the single source) is missing")
    stub = render_stub(source.read_text(encoding="utf-8"), filename=str(source))
    target = exercise.exercise_dir
    return {
        target / exercise.student_file: stub,
        target / Path(exercise.student_file).with_suffix(".ipynb").name: render_notebook(stub),
        target / "README.md": render_readme(stub, exercise),
    }


def generate(check: bool = False, exercises=None) -> list[Path]:
    """Generate the files of ``exercises`` (default: every manifest's); return those that differed.

    With check=True nothing is written.
    """
    drifted = []
    for exercise in exercises if exercises is not None else load_manifests().values():
        for path, text in render_exercise(exercise).items():
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            if current == text:
                continue
            drifted.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "w", encoding="utf-8", newline="\n") as handle:
                    handle.write(text)
    return drifted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a generated file differs from what is on disk")
    parser.add_argument("ids", nargs="*", metavar="ID", help="only these exercises (default: all)")
    args = parser.parse_args(argv)
    try:
        manifests = load_manifests()
        unknown = [i for i in args.ids if i not in manifests]
        if unknown:
            raise ValueError(f"no manifest for {', '.join(unknown)}; known: {', '.join(manifests)}")
        drifted = generate(check=args.check, exercises=[manifests[i] for i in args.ids or manifests])
    except (OSError, ValueError, ManifestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in drifted:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{'drifted' if args.check else 'wrote'}: {shown}")
    if args.check and drifted:
        print(f"{len(drifted)} generated file(s) differ from solutions/: run python -m grader.generate",
              file=sys.stderr)
        return 1
    if not drifted:
        print("generated files are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
