"""The cohort benchmark: stock nbgrader, nbgrader with our preprocessor and `nnex grade`, on the same notebooks.

    .venv/bin/python benchmarks/cohort.py --students 20 [--exercise ID]... [--jobs N]

Builds ``--students`` notebook submissions per exercise (all six unless --exercise is given): student k
hands in, for every exercise, the k-th of its rotation (the worked solution, each correct alternative of
the catalogue tests/catalogue/<id>/alt_*.py, each mutant of tests/catalogue/<id>/mutants.yaml that is
not ``extended``, the untouched stub, then again from the start). Each notebook is the course's
released notebook with the answers filled in, as a student hands it in. The same notebooks are graded

(a) stock: `nbgrader autograde` with nbgrader's own Execute, in a course whose test cells run, in the
    student's kernel, the group's hidden tests (imported from grader/hidden/) and public tests with
    pytest, as a course without nn-exercises' grader would (make_stock and stock_course/kernel_tests.py; a cell
    may run for 300 s instead of nbgrader's 30, which a training exercise needs on a loaded machine);
(b) ours in nbgrader: `nbgrader autograde` in the course that `nnex nbgrader init` writes, our
    SandboxedGrading in place of Execute;
(c) `nnex grade --jobs N` over the students' folders (each notebook with its test cells blanked, which
    is what (b) hands the grader).

nbgrader autograde runs once per assignment (exercise), over every student. The script checks that
every honest submission (the solution, the alternatives) gets the same score under all three, else
exits with status 1, and prints, per grader, the wall time and the CPU time of the command and all it
started (resource.getrusage(RUSAGE_CHILDREN)), and how many times (a) took those of (b) and (c).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import yaml
from nbgrader.api import Gradebook

from grader.manifests import load_manifests
from grader.nbgrader.autograde import is_test_cell, student_notebook
from grader.nbgrader.course import assignment_name, init_course, solved_notebook
from grader.paths import ROOT

CATALOGUE = ROOT / "tests" / "catalogue"
KERNEL_TESTS = Path(__file__).resolve().parent / "stock_course" / "kernel_tests.py"
STOCK_CELL_TIMEOUT_S = 300
GRADERS = ("stock", "ours", "nnex")
LABELS = {"stock": "stock nbgrader autograde", "ours": "nbgrader autograde, our preprocessor",
          "nnex": "nnex grade"}
STOCK_CONFIG = 'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "stock"\n'


def nbgrader(course: Path, env: dict, *args: str) -> tuple[float, float]:
    """Run an nbgrader command in ``course``; its wall time and the CPU time of it and all below it (s)."""
    return timed([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env)


def nbgrader_environment(folder: Path) -> dict:
    """nbgrader's environment: this venv's alembic on the PATH, Jupyter's and IPython's folders in
    ``folder``, and reference/ importable (the stock kernel imports it for the hidden tests)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=str(ROOT))
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(folder / "jupyter" / name.lower())
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every descendant that was waited for
    return usage.ru_utime + usage.ru_stime


def public_names(exercise) -> set[str]:
    return {n for p in exercise.public_test_files for n in re.findall(r"^def (test_\w+)", p.read_text(), re.M)}


def make_stock(course: Path, exercise) -> None:
    """Turn an init-made course into a stock one: Execute, and test cells that run the tests in the
    kernel: the group's hidden tests with pytest (stock_course/kernel_tests.py), then its public ones."""
    (course / "nbgrader_config.py").write_text(STOCK_CONFIG)
    folder = course / "source" / assignment_name(exercise)
    shutil.copy(KERNEL_TESTS, folder / KERNEL_TESTS.name)
    nb = nbformat.read(folder / f"{exercise.module}.ipynb", as_version=4)
    groups = {f"tests-{g['name']}": [t["test"] for t in g["tests"]] for g in exercise.groups}
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        hidden = [n for n in groups[cell.metadata["nbgrader"]["grade_id"]] if n not in public_names(exercise)]
        lines = cell.source.splitlines()
        header = [line for line in lines if line.startswith("#")]
        public_calls = [line for line in lines if not line.startswith("#")]
        hidden_calls = [f"from {KERNEL_TESTS.stem} import run_hidden_tests",
                        f"run_hidden_tests(globals(), {str(exercise.hidden_test_file)!r}, {hidden!r})"]
        # the hidden tests first, so that a failing one prints its source
        cell.source = "\n".join([*header, "### BEGIN HIDDEN TESTS", *hidden_calls, "### END HIDDEN TESTS",
                                 *public_calls] if hidden else lines)
    nbformat.write(nb, folder / f"{exercise.module}.ipynb")


def honest_notebooks(course: Path, exercise) -> dict[str, nbformat.NotebookNode]:
    folder = assignment_name(exercise)
    released = nbformat.read(course / "release" / folder / f"{exercise.module}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / folder / f"{exercise.module}.ipynb", as_version=4)
    notebooks = {"solution": solved_notebook(released, source), "stub": released}
    for alternative in sorted((ROOT / "tests" / "catalogue" / exercise.id).glob("alt_*.py")):
        nb = nbformat.from_dict(released)
        answers = [c for c in nb.cells if c.cell_type == "code" and c.metadata["nbgrader"].get("solution")]
        # the whole alternative where the first answer goes; without its __future__ import, which a
        # module (what the grader makes of a notebook) allows only at its top
        answers[0].source = re.sub(r"^from __future__ import .*\n", "", alternative.read_text(), flags=re.M)
        for cell in answers[1:]:
            cell.source = "pass"
        notebooks[alternative.stem] = nb
    return notebooks


def scores(course: Path, exercise) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.id: sum(g.auto_score or 0 for g in gb.find_submission_notebook(
                    exercise.module, assignment_name(exercise), s.id).grades if g.name.startswith("tests-"))
                for s in gb.students}


def mutant_notebook(released, source, mutant: dict) -> nbformat.NotebookNode | None:
    """The solved notebook with the mutant's edits in its answer cells; None when an edit's text is
    not inside one answer cell (a mutant of a locked cell, or across nbgrader's markers)."""
    applied = {edit["old"]: 0 for edit in mutant["replace"]}

    def edit(code: str) -> str:
        for change in mutant["replace"]:
            if change["old"] in code:
                applied[change["old"]] += code.count(change["old"])
                code = code.replace(change["old"], change["new"])
        return code

    notebook = solved_notebook(released, source, edit)
    return notebook if all(count == 1 for count in applied.values()) else None


def rotation(course: Path, exercise) -> list[tuple[str, nbformat.NotebookNode]]:
    """(kind, notebook) of every submission in the exercise's rotation, the honest ones first."""
    folder = assignment_name(exercise)
    released = nbformat.read(course / "release" / folder / f"{exercise.module}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / folder / f"{exercise.module}.ipynb", as_version=4)
    honest = honest_notebooks(course, exercise)  # solution, stub, alternatives
    stub = honest.pop("stub")
    notebooks = [(name, nb) for name, nb in honest.items()]
    for mutant in yaml.safe_load((CATALOGUE / exercise.id / "mutants.yaml").read_text()):
        if not mutant.get("extended"):
            notebook = mutant_notebook(released, source, mutant)
            if notebook is not None:
                notebooks.append((f"mutant {mutant['name']}", notebook))
    return [*notebooks, ("stub", stub)]


def is_honest(kind: str) -> bool:
    return kind == "solution" or kind.startswith("alt_")


def timed(command: list[str], **kwargs) -> tuple[float, float]:
    """Run ``command``; its wall time and the CPU time of it and all below it (s)."""
    began, used = time.perf_counter(), children_cpu()
    run = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)} failed (status {run.returncode}):\n{run.stderr[-4000:]}")
    return time.perf_counter() - began, children_cpu() - used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20, help="notebook submissions per exercise")
    parser.add_argument("--exercise", action="append", metavar="ID", help="only this exercise (repeatable)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="nnex grade --jobs (default: the CPUs)")
    args = parser.parse_args()
    manifests = load_manifests()
    unknown = sorted(set(args.exercise or ()) - set(manifests))
    if unknown or args.students < 1:
        sys.exit(f"cohort.py: unknown exercise {', '.join(unknown)}" if unknown else "cohort.py: --students must be at least 1")
    exercises = [manifests[i] for i in (args.exercise or manifests)]
    students = [f"student-{k + 1:02d}" for k in range(args.students)]

    with tempfile.TemporaryDirectory(prefix="nnex-cohort-") as tmp:
        env = nbgrader_environment(Path(tmp))
        courses = {"ours": Path(tmp) / "ours", "stock": Path(tmp) / "stock"}
        for kind, course in courses.items():
            init_course(course, exercises, course_id=kind)
            if kind == "stock":
                for exercise in exercises:
                    make_stock(course, exercise)
                (course / "nbgrader_config.py").write_text(
                    STOCK_CONFIG + f"c.Execute.timeout = {STOCK_CELL_TIMEOUT_S}\n")
            for exercise in exercises:
                nbgrader(course, env, "generate_assignment", assignment_name(exercise))

        kinds: dict[tuple[str, str], str] = {}  # (exercise id, student) -> what the student handed in
        cohort = Path(tmp) / "cohort"
        for exercise in exercises:
            submissions = rotation(courses["ours"], exercise)
            for k, student in enumerate(students):
                kind, notebook = submissions[k % len(submissions)]
                kinds[exercise.id, student] = kind
                for course in courses.values():
                    folder = course / "submitted" / student / assignment_name(exercise)
                    folder.mkdir(parents=True)
                    nbformat.write(notebook, folder / f"{exercise.module}.ipynb")
                folder = cohort / student / exercise.folder
                folder.mkdir(parents=True)
                nbformat.write(student_notebook(notebook), folder / f"{exercise.module}.ipynb")

        times = {grader: [0.0, 0.0] for grader in GRADERS}
        graded: dict[str, dict[tuple[str, str], float]] = {grader: {} for grader in GRADERS}
        for exercise in exercises:
            for kind in ("stock", "ours"):
                wall, cpu = nbgrader(courses[kind], env, "autograde", assignment_name(exercise), "--force")
                times[kind][0] += wall
                times[kind][1] += cpu
                graded[kind].update({(exercise.id, s): score for s, score in scores(courses[kind], exercise).items()})
        report = Path(tmp) / "report.json"
        times["nnex"] = list(timed([sys.executable, "-m", "grader", "grade", *(str(cohort / s) for s in students),
                                    "--json", str(report), "--jobs", str(args.jobs), "-q"], cwd=ROOT, env=env))
        for submission in json.loads(report.read_text())["submissions"]:
            for result in submission["exercises"]:
                graded["nnex"][result["id"], submission["id"]] = result["score"]

    count = len(kinds)
    print(f"cohort: {args.students} students x {len(exercises)} exercises = {count} notebooks "
          f"({', '.join(e.id for e in exercises)}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    honest = [key for key in sorted(kinds) if is_honest(kinds[key])]
    differ = [key for key in sorted(kinds)
              if len({round(graded[g].get(key, -1.0), 4) for g in GRADERS}) > 1]
    for exercise in exercises:
        keys = [key for key in sorted(kinds) if key[0] == exercise.id]
        print(f"  {exercise.id:16s} {len(keys):3d} notebooks, {sum(is_honest(kinds[k]) for k in keys):3d} honest; "
              f"scores that differ: {sum(k in differ for k in keys)}")
    if differ:  # a stock test cell is worth all its points or none; ours gives each passed test its points
        print("  where they differ (stock gives a test cell all or nothing):")
    for key in differ:
        print(f"    {key[0]} {key[1]} ({kinds[key]}): "
              + ", ".join(f"{g} {graded[g][key]:g}" if key in graded[g] else f"{g} none" for g in GRADERS))
    for grader in GRADERS:
        wall, cpu = times[grader]
        jobs = f" --jobs {args.jobs}" if grader == "nnex" else ""
        print(f"{LABELS[grader] + jobs:38s}: {wall:7.1f} s wall, {cpu:7.1f} s CPU "
              f"({wall / count:5.2f} s and {cpu / count:5.2f} s per notebook)")
    for grader in ("ours", "nnex"):
        print(f"stock / {LABELS[grader]}: {times['stock'][0] / times[grader][0]:5.1f}x wall, "
              f"{times['stock'][1] / max(times[grader][1], 1e-9):5.1f}x CPU")
    unequal = [key for key in honest if key in differ]
    if unequal:
        sys.exit(f"honest submissions scored differently, so the times do not compare: "
                 f"{', '.join(f'{e} {s} ({kinds[e, s]})' for e, s in unequal)}")
    print(f"honest submissions (solution, alternatives): {len(honest)}, each the same score under all three")


if __name__ == "__main__":
    main()
