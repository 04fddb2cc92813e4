"""Generate what students get from the single source in solutions/.

For every exercise manifest (grader/manifests/<id>.yaml) the solution file
solutions/<folder>/<student_file> (jupytext percent format, nbgrader markers) gives:

- the stub exercises/<folder>/<student_file>: every ``### BEGIN SOLUTION`` ... ``### END SOLUTION``
  region becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` in a code cell, and
  ``# YOUR ANSWER HERE`` in a markdown cell; ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``
  regions are removed; everything else is kept verbatim;
- the student notebook exercises/<folder>/<stem>.ipynb, converted from the stub by jupytext, with no
  outputs and cell ids derived from the cell's position, so that regenerating is byte-identical;
- exercises/<folder>/README.md: the stub's markdown cells, then how to check one's work;
- exercises/<folder>/self_check.json: what the self-check needs from the manifest: each task (test
  group) with its public tests, and the hint of every mistake the checks may name.

The notebook has, after the cell that completes each task, a check cell (tagged ``nnex-check``)
that runs the task's public tests on the notebook's functions, and ``check_all()`` at its end.

    python -m grader.generate                  # write the generated files of every exercise
    python -m grader.generate ID [ID ...]      # only these exercises
    python -m grader.generate --check          # write nothing; exit 1 listing the files that drifted
"""
from __future__ import annotations

import argparse
import ast
import json
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
CHECK_TAG = "nnex-check"  # exercises/nnex_selfcheck.py: the grader leaves these cells out
SELF_CHECK_FILE = "self_check.json"


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


def render_notebook(stub_text: str, exercise=None) -> str:
    """The student notebook (.ipynb JSON text) made from the stub: no outputs, stable cell ids, and
    for ``exercise`` (a manifest's Exercise) a check cell after each task and one at the end."""
    import nbformat

    nb = _read_percent(stub_text)
    nb.metadata = nbformat.NotebookNode(
        kernelspec=dict(KERNELSPEC), language_info={"name": "python"})
    if exercise is not None:
        nb.cells = _with_check_cells(nb.cells, exercise)
    width = max(2, len(str(len(nb.cells))))
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:0{width}d}"
        if cell.cell_type == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nbformat.writes(nb, version=4) + "\n"


_IMPORT_CHECK = "import sys; sys.path.insert(0, \"..\")  # nnex_notebook.py is in the folder above\nfrom nnex_notebook import "


def _check_cell(source: str):
    import nbformat

    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [CHECK_TAG]
    return cell


def _with_check_cells(cells: list, exercise) -> list:
    """``cells`` with ``check("task")`` after the cell that defines the last function a task's public
    tests call, and ``check_all()`` at the end."""
    defined_in = {}
    for index, cell in enumerate(cells):
        if cell.cell_type == "code":
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            defined_in.update({node.name: index for node in tree.body
                               if isinstance(node, (ast.FunctionDef, ast.ClassDef))})
    tasks = public_tasks(exercise)
    if not tasks:
        return cells
    uses = _public_test_uses(exercise)
    after: dict[int, list] = {}
    for task, tests in tasks.items():
        places = [defined_in[name] for test in tests for name in uses[test] if name in defined_in]
        after.setdefault(max(places, default=len(cells) - 1), []).append(_check_cell(
            f"# Check this task with its public tests (the grader runs hidden ones too)\n{_IMPORT_CHECK}check\n\n"
            f"check({task!r})"))
    out = []
    for index, cell in enumerate(cells):
        out += [cell, *after.get(index, [])]
    return out + [_check_cell(f"# Check every task again\n{_IMPORT_CHECK}check_all\n\ncheck_all()")]


def _public_test_uses(exercise) -> dict[str, set[str]]:
    """Public test name -> the ``student.X`` functions it calls."""
    uses = {}
    for path in exercise.public_test_files:
        for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                uses[node.name] = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
                                   and isinstance(n.value, ast.Name) and n.value.id == "student"}
    return uses


def public_tasks(exercise) -> dict[str, list[str]]:
    """Task (the manifest's test group) -> its public tests, in the manifest's order; tasks without
    public tests are left out."""
    tasks = {group["name"]: [t["test"] for t in group["tests"] if t["test"] in exercise.public_tests]
             for group in exercise.groups}
    return {task: tests for task, tests in tasks.items() if tests}


def render_self_check(exercise) -> str:
    """exercises/<folder>/self_check.json: the tasks' public tests and the mistakes' hints."""
    data = {"student_file": exercise.student_file, "tasks": public_tasks(exercise),
            "hints": {mistake: " ".join(hint.split()) for mistake, hint in sorted(exercise.mistakes.items())}}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


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
        f"In the notebook, run the `check(...)` cell after each task: it runs that task's public tests on "
        "the functions you defined and says whether they pass, or what is wrong and the likely mistake. "
        "Outside it, run the public tests in this folder:",
        "",
        "```bash",
        f"pytest                   # tests {student_file}",
        f"pytest {notebook:<17} # tests the notebook instead",
        "```",
        "",
        f"(or `pytest exercises/{folder}` from the top of the bundle).",
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
        target / Path(exercise.student_file).with_suffix(".ipynb").name: render_notebook(stub, exercise),
        target / "README.md": render_readme(stub, exercise),
        target / SELF_CHECK_FILE: render_self_check(exercise),
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
