"""``nnex validate``: how good an exercise's tests are, measured on mutants of its worked solution.

    validate(exercises, sample=None, jobs=2) -> [per-exercise report]

The single-point mutants of the solution (mutants.py), the catalogue's correct alternatives and
the solution itself (twice) are graded in one run of ``nnex grade``: the normal sandboxed path,
with NNEX_CALL_LOG set so that the judge keeps a digest of every answer. For each exercise:

- caught: a mutant that loses points (one that cannot even be imported is *stillborn*: caught,
  but left out of the named share, as no test can name its mistake);
- named: a caught mutant for which some failed test names a catalogued mistake;
- equivalent (the documented rules): a mutant with full marks whose answers to every call the tests
  made are, byte for byte, those of the solution ("same answers"). It behaves exactly like the
  solution wherever the tests looked, so no test could catch it; it is listed, never dropped. The
  rule holds only where the solution's own two runs answered alike (``reproducible``). Or a mutant
  with full marks in a statement marked ``# free choice: <why>`` in the solution ("free choice"): a
  value the task lets the student pick, such as a trainer's settings judged by their outcome;
- mutation score = caught / (mutants - equivalent); named share = named / (caught - stillborn);
  the caught mutants left unnamed are listed with the first message a student would read.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.paths import ROOT
from grader.validate.mutants import Mutant, free_choice_lines, mutants

CATALOGUE = ROOT / "tests" / "catalogue"
GRADING_TIMEOUT_S = 6 * 3600
CONTROL = "\n# the solution graded a second time: do its answers repeat?\n"  # a text of its own, a log of its own


def _sampled(found: list[Mutant], sample: int | None) -> list[Mutant]:
    """``sample`` mutants spread evenly over the file (all of them without a sample)."""
    if sample is None or sample >= len(found):
        return found
    return [found[round(i * (len(found) - 1) / max(1, sample - 1))] for i in range(sample)] if sample > 1 else found[:1]


def _write(folder: Path, exercise, text: str) -> Path:
    (folder / exercise.folder).mkdir(parents=True)
    (folder / exercise.folder / exercise.student_file).write_text(text, encoding="utf-8")
    return folder


def _log(logs: Path, exercise, text: str) -> list[str]:
    path = logs / f"{exercise.id}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.log"
    return path.read_text().splitlines() if path.exists() else []


def validate(exercises: list, sample: int | None = None, jobs: int = 2) -> list[dict]:
    """One report per exercise (see the module's docstring)."""
    with tempfile.TemporaryDirectory(prefix="nnex-validate-") as work:
        work, plan = Path(work), []
        logs = work / "logs"
        logs.mkdir()
        for exercise in exercises:
            solution = exercise.solution_file.read_text()
            cases = [("solution", "solution", solution), ("control", "control", solution + CONTROL)]
            cases += [("alternative", path.stem, path.read_text()) for path in
                      sorted((CATALOGUE / exercise.id).glob("alt_*.py"))]
            cases += [("mutant", str(number), mutant.source) for number, mutant in
                      enumerate(_sampled(mutants(solution), sample))]
            for kind, name, text in cases:
                folder = _write(work / "submissions" / f"{exercise.id}--{kind}--{name}", exercise, text)
                plan.append((exercise, kind, name, text, folder))
        report = work / "report.json"
        options = [option for exercise in exercises for option in ("--exercise", exercise.id)]
        subprocess.run([sys.executable, "-m", "grader", "grade", *(str(p[4]) for p in plan), *options,
                        "--json", str(report), "--jobs", str(jobs)], cwd=ROOT, check=False, capture_output=True,
                       timeout=GRADING_TIMEOUT_S, env=dict(os.environ, NNEX_CALL_LOG=str(logs)))
        results = {s["id"]: s["exercises"] for s in json.loads(report.read_text())["submissions"]}
        return [_summary(exercise, [p for p in plan if p[0] is exercise], results, logs, sample)
                for exercise in exercises]


def _summary(exercise, plan: list, results: dict, logs: Path, sample: int | None) -> dict:
    solution_text = next(text for _, kind, _, text, _ in plan if kind == "solution")
    found = _sampled(mutants(solution_text), sample)
    reference_log = _log(logs, exercise, solution_text)
    free_choices = free_choice_lines(solution_text)
    summary = {"id": exercise.id, "mutants": 0, "caught": 0, "stillborn": 0, "named": 0, "equivalent": 0,
               "survivors": [], "unnamed": [], "alternatives": {}, "solution": None}
    for _, kind, name, text, folder in plan:
        (result,) = [e for e in results[folder.name] if e["id"] == exercise.id]
        if kind == "solution":
            summary["solution"] = result["score"]
        elif kind == "alternative":
            summary["alternatives"][name] = result["score"]
        elif kind == "mutant":
            mutant = found[int(name)]
            summary["mutants"] += 1
            if result["score"] < result["max_score"]:
                summary["caught"] += 1
                failed = [t for t in result["tests"] if not t["passed"]]
                if result["status"] == "error" and result["message"].startswith("importing"):
                    summary["stillborn"] += 1
                elif any(t["mistake"] for t in failed):
                    summary["named"] += 1
                else:  # what a student would read: the first failure, for the author to name its class
                    summary["unnamed"].append({"diff": mutant.diff, "operator": mutant.operator,
                                               "test": failed[0]["name"], "message": failed[0]["message"][:300]})
                continue
            rule = "free choice" if mutant.line in free_choices else "same answers" \
                if reference_log and _log(logs, exercise, text) == reference_log else None
            summary["survivors"].append({"diff": mutant.diff, "operator": mutant.operator, "equivalent": rule})
    # the rule stands only where the solution answers alike twice: the control is its second run
    control = _log(logs, exercise, solution_text + CONTROL)
    summary["reproducible"] = bool(reference_log) and control == reference_log
    if not summary["reproducible"]:
        for survivor in summary["survivors"]:
            if survivor["equivalent"] == "same answers":
                survivor["equivalent"] = None
    summary["equivalent"] = sum(survivor["equivalent"] is not None for survivor in summary["survivors"])
    counted = summary["mutants"] - summary["equivalent"]
    summary["mutation_score"] = round(summary["caught"] / counted, 4) if counted else 1.0
    namable = summary["caught"] - summary["stillborn"]
    summary["named_share"] = round(summary["named"] / namable, 4) if namable else 1.0
    return summary


def print_report(reports: list[dict], console) -> None:
    """A table of the figures per exercise, then every survivor with its diff."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="nnex validate: the hidden tests against single-point mutants of the solution")
    for column in ("exercise", "mutants", "caught", "equivalent", "survivors", "mutation score", "named",
                   "alternatives"):
        table.add_column(column, justify="left" if column == "exercise" else "right")
    for report in reports:
        survivors = len(report["survivors"]) - report["equivalent"]
        alternatives = ", ".join(f"{score:g}" for score in report["alternatives"].values()) or "-"
        table.add_row(report["id"], str(report["mutants"]), str(report["caught"]), str(report["equivalent"]),
                      str(survivors), f"{report['mutation_score']:.1%}", f"{report['named_share']:.1%}", alternatives)
    console.print(table)
    for report in reports:
        if not report["reproducible"]:
            console.print(f"{report['id']}: the solution's answers differ between two runs, so no survivor "
                          "is called equivalent")
        for survivor in report["survivors"]:
            kind = f"equivalent, {survivor['equivalent']}" if survivor["equivalent"] else "survivor"
            console.print(f"{report['id']} {kind} ({survivor['operator']}): {escape(survivor['diff'])}")
