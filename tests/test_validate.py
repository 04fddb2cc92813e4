"""nnex validate: the mutants it makes, and the command on a small fixed sample (the full pass, over
every mutant of all six solutions, runs outside the suite: `nnex validate`, figures in the README)."""
import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

from grader.paths import ROOT
from grader.validate import _summary
from grader.validate.mutants import free_choice_lines, mutants

SOURCE = textwrap.dedent('''
    import numpy as np


    def untouched(x):
        return x + 1


    def task(x, w, t):
        ### BEGIN SOLUTION
        w = np.dot(x, w)
        z = np.sqrt(x @ w) / 2.0
        if t <= 0:
            return -z[t]
        return np.sum(z, axis=0) ** 2
        ### END SOLUTION
''')


def test_every_operator_mutates_the_solution_blocks_only():
    found = mutants(SOURCE)
    diffs = {m.diff for m in found}
    assert {m.operator for m in found} == {"comparison", "arithmetic", "sign", "constant", "index",
                                           "reduction axis", "argument swap", "sqrt, square"}
    expected = ["x @ w  ->  x * w", "t <= 0  ->  t < 0", "t <= 0  ->  t > 0", "-z[t]  ->  z[t]", "z[t]  ->  z[t + 1]",
                "2.0  ->  3.0", "np.sum(z, axis=0)  ->  np.sum(z)", "np.dot(x, w)  ->  np.dot(w, x)",
                "np.sqrt(x @ w)  ->  x @ w", "np.sum(z, axis=0) ** 2  ->  np.sum(z, axis=0)"]
    assert all(any(diff.endswith(e) for diff in diffs) for e in expected), sorted(diffs)
    assert not any(m.line < 9 for m in found)  # `untouched` is outside the markers
    for mutant in found:
        ast.parse(mutant.source)
        changed = [a for a, b in zip(SOURCE.splitlines(), mutant.source.splitlines()) if a != b]
        assert len(changed) == 1 and len(SOURCE.splitlines()) == len(mutant.source.splitlines())


def test_a_replacement_keeps_its_place_in_the_expression():
    (dropped,) = [m for m in mutants(SOURCE) if m.diff.endswith("np.sqrt(x @ w)  ->  x @ w")]
    assert "z = (x @ w) / 2.0" in dropped.source


CONFIG = textwrap.dedent('''
    def config():
        ### BEGIN SOLUTION
        # free choice: any settings that reach the outcome
        return {"lr": 0.5,
                "epochs": 20}
        ### END SOLUTION


    def scale(x):
        ### BEGIN SOLUTION
        return 2 * x
        ### END SOLUTION
''')


def test_a_free_choice_covers_the_statement_below_its_comment_only():
    assert free_choice_lines(CONFIG) == {5, 6}


def test_a_surviving_free_choice_is_equivalent_and_another_survivor_is_not(tmp_path):
    exercise = SimpleNamespace(id="toy")
    found = mutants(CONFIG)
    cases = [("solution", "solution", CONFIG)] + [("mutant", str(i), m.source) for i, m in enumerate(found)]
    plan = [(exercise, kind, name, text, Path(f"toy--{kind}--{name}")) for kind, name, text in cases]
    full = {"id": "toy", "score": 10, "max_score": 10, "status": "graded", "tests": []}
    report = _summary(exercise, plan, {p[4].name: [full] for p in plan}, tmp_path, None)
    rules = {s["diff"]: s["equivalent"] for s in report["survivors"]}
    assert rules['line 5: 0.5  ->  1.5'] == "free choice" and rules["line 12: 2  ->  3"] is None
    assert report["equivalent"] == sum(m.line in (5, 6) for m in found) and report["mutation_score"] == 0.0


def test_the_command_reports_a_small_sample(tmp_path):
    report = tmp_path / "validate.json"
    run = subprocess.run([sys.executable, "-m", "grader", "validate", "--exercise", "neuron_gradient", "--sample", "4",
                          "--json", str(report), "--jobs", "2"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    (figures,) = json.loads(report.read_text())["exercises"]
    assert figures["id"] == "neuron_gradient" and figures["mutants"] == 4 and figures["reproducible"]
    assert figures["solution"] == 10 and set(figures["alternatives"].values()) == {10}
    assert figures["caught"] + len(figures["survivors"]) == 4
    assert figures["mutation_score"] == round(figures["caught"] / (4 - figures["equivalent"]), 4)
    assert "mutation score" in run.stdout
