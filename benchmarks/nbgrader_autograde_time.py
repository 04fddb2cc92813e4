"""Time of `nbgrader autograde` per submission: the sandboxed grader against stock nbgrader.

    .venv/bin/python benchmarks/nbgrader_autograde_time.py [--exercise neuron_gradient] [--copies 2] [--repeat 1]
                                                           [--notebooks N]

Two nbgrader courses in a temporary folder, both made by `nnex nbgrader init` for one exercise:

- ours: the nbgrader_config.py that init writes (SandboxedGrading in place of Execute);
- stock: nbgrader's own autograde, Execute running each notebook in a kernel. Its test cells run, in
  the kernel, the group's public tests and, between ### BEGIN HIDDEN TESTS and ### END HIDDEN TESTS,
  the group's hidden tests, with pytest: what a stock course with these tests does.

Both get the same honest notebooks: the worked solution, each correct alternative of the catalogue
(tests/catalogue/<id>/alt_*.py, in the first answer cell, without a __future__ import) and the
untouched stub (the first ``notebooks`` of these), ``copies`` times each. The script checks that every submission scores the same in both, then prints the wall time
of `nbgrader autograde` over all submissions and per submission, and the CPU time per submission
of nbgrader and everything it starts (kernels, judges, sandboxes) (medians of ``repeat`` runs),
and how many lines of hidden test source `nbgrader generate_feedback` shows in each course.
"""
from __future__ import annotations

import argparse
import html
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from grader.manifests import load_manifests
from grader.nbgrader.autograde import is_test_cell
from grader.nbgrader.course import assignment_name, init_course, solved_notebook
from grader.paths import EXERCISES, ROOT

STOCK_CONFIG = 'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "stock"\n'


def nbgrader(course: Path, env: dict, *args: str) -> tuple[float, float]:
    """Run an nbgrader command in ``course``; its wall time and the CPU time of it and all below it (s)."""
    began, used = time.perf_counter(), children_cpu()
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"nbgrader {' '.join(args)} failed in {course}:\n{run.stderr[-4000:]}")
    return time.perf_counter() - began, children_cpu() - used


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
    """Turn an init-made course into a stock one: Execute, and test cells that run the tests in the kernel."""
    (course / "nbgrader_config.py").write_text(STOCK_CONFIG)
    path = course / "source" / assignment_name(exercise) / f"{exercise.module}.ipynb"
    nb = nbformat.read(path, as_version=4)
    groups = {f"tests-{g['name']}": [t["test"] for t in g["tests"]] for g in exercise.groups}
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        hidden = [n for n in groups[cell.metadata["nbgrader"]["grade_id"]] if n not in public_names(exercise)]
        lines = cell.source.splitlines()
        header = [line for line in lines if line.startswith("#")]
        public_calls = [line for line in lines if not line.startswith(("#", "from nnex_notebook"))]
        cell.source = "\n".join([  # the hidden tests first, so that a failing one prints its source
            *header, "from nnex_notebook import run_public_tests", "### BEGIN HIDDEN TESTS",
            f"run_public_tests(globals(), {str(exercise.hidden_test_file)!r}, {hidden!r})",
            "### END HIDDEN TESTS", *public_calls])
    nbformat.write(nb, path)


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


def hidden_lines_shown(course: Path, exercise) -> list[str]:
    """Lines of hidden test code that the feedback pages show: of the hidden regions of the source
    notebook's test cells, and of the hidden test file (in no public file)."""
    public = {line.strip() for p in [exercise.solution_file, *EXERCISES.rglob("*.py")] for line in p.read_text().splitlines()}
    hidden = {line.strip() for line in exercise.hidden_test_file.read_text().splitlines()
              if len(line.strip()) > 30 and not line.strip().startswith(("#", '"')) and line.strip() not in public}
    source = nbformat.read(course / "source" / assignment_name(exercise) / f"{exercise.module}.ipynb", as_version=4)
    for cell in source.cells:
        regions = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
        hidden.update(line.strip() for region in regions for line in region.splitlines() if line.strip())
    pages = "\n".join(p.read_text() for p in (course / "feedback").rglob("*.html"))
    pages = html.unescape(re.sub(r"<[^>]+>", "", pages))
    return sorted(line for line in hidden if line in pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", default="neuron_gradient")
    parser.add_argument("--copies", type=int, default=2, help="how many times each honest notebook is submitted")
    parser.add_argument("--repeat", type=int, default=1, help="autograde runs per course (the median is shown)")
    parser.add_argument("--notebooks", type=int, help="only the first N honest notebooks (the solution first)")
    args = parser.parse_args()
    exercise = load_manifests()[args.exercise]
    assignment = assignment_name(exercise)
    with tempfile.TemporaryDirectory(prefix="nnex-nbgrader-bench-") as tmp:
        env = nbgrader_environment(Path(tmp))
        courses = {"ours": Path(tmp) / "ours", "stock": Path(tmp) / "stock"}
        for kind, course in courses.items():
            init_course(course, [exercise], course_id=kind)
            if kind == "stock":
                make_stock(course, exercise)
            nbgrader(course, env, "generate_assignment", assignment)
        notebooks = dict(list(honest_notebooks(courses["ours"], exercise).items())[:args.notebooks])
        for course in courses.values():
            for name, nb in notebooks.items():
                for copy in range(args.copies):
                    folder = course / "submitted" / f"{name}-{copy + 1}" / assignment
                    folder.mkdir(parents=True)
                    nbformat.write(nb, folder / f"{exercise.module}.ipynb")
        count = len(notebooks) * args.copies
        runs = {kind: [nbgrader(course, env, "autograde", assignment, "--force") for _ in range(args.repeat)]
                for kind, course in courses.items()}
        times = {kind: [statistics.median(t[i] for t in runs[kind]) for i in (0, 1)] for kind in courses}
        graded = {kind: scores(course, exercise) for kind, course in courses.items()}
        for course in courses.values():
            nbgrader(course, env, "generate_feedback", assignment)
        leaks = {kind: hidden_lines_shown(course, exercise) for kind, course in courses.items()}

    print(f"exercise {exercise.id}: {count} submissions ({', '.join(notebooks)}; {args.copies} of each), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for student in sorted(graded["ours"]):
        print(f"  {student:28s} ours {graded['ours'][student]:5g}   stock {graded['stock'][student]:5g}")
    for kind in ("ours", "stock"):
        wall, cpu = times[kind]
        print(f"nbgrader autograde, {kind:5s}: {wall:6.1f} s wall for {count}, {wall / count:5.2f} s per submission "
              f"(CPU {cpu / count:5.2f} s); hidden test lines in the feedback: {len(leaks[kind])}")
    if leaks["stock"]:
        print(f"  for example, stock shows: {leaks['stock'][0]}")
    differ = [s for s in graded["ours"] if graded["ours"][s] != graded["stock"][s]]
    if differ:
        sys.exit(f"the courses score these submissions differently, so the times do not compare: {', '.join(differ)}")


if __name__ == "__main__":
    main()
