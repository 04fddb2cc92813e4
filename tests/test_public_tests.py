"""The public tests, run the way a student runs them (in-process): all pass on the worked solution,
each one fails on the untouched stub."""
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from grader.manifests import load_manifests
from grader.paths import EXERCISES, SOLUTIONS

MANIFESTS = load_manifests()


def self_check(exercise, tmp_path, *extra):
    report = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", str(EXERCISES / exercise.folder), "-q",
                    "-p", "no:cacheprovider", f"--junitxml={report}", *extra],
                   cwd=EXERCISES, capture_output=True, text=True, timeout=300)
    cases = ElementTree.parse(report).getroot().iter("testcase")
    return {case.get("name"): [child.tag for child in case] for case in cases}


@pytest.mark.parametrize("exercise_id", list(MANIFESTS))
def test_public_tests_pass_on_the_solution(exercise_id, tmp_path):
    exercise = MANIFESTS[exercise_id]
    outcomes = self_check(exercise, tmp_path, "--submission", str(SOLUTIONS / exercise.folder))
    assert outcomes, "no public test ran"
    assert {name: tags for name, tags in outcomes.items() if tags} == {}


@pytest.mark.parametrize("exercise_id", list(MANIFESTS))
def test_every_public_test_fails_on_the_stub(exercise_id, tmp_path):
    outcomes = self_check(MANIFESTS[exercise_id], tmp_path)
    assert outcomes, "no public test ran"
    assert [name for name, tags in outcomes.items() if "failure" not in tags and "error" not in tags] == []
