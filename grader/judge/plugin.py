"""The pytest plugin of the judge: gives tests the sandboxed ``student`` and records verdicts.

A test passes only when its setup, call and teardown all pass. A skip, an xfail or an error is a
failure. Messages come from the exception alone (assertion rewriting is off), never from test
source.
"""
from __future__ import annotations

import hashlib
import re
import types
import zlib
from dataclasses import dataclass

import numpy as np
import pytest

from grader.judge.figures import Figures
from grader.judge.proxy import StudentError, StudentProxy


@dataclass
class Verdict:
    test: str  # the test function's name: parametrised instances share it
    passed: bool
    message: str = ""
    mistake: str | None = None


# what the student's function raised -> the mistake of grader/manifests/common/mistakes.yaml it shows
RAISED = [(re.compile(r"^\S+ raised (ValueError|RuntimeError|IndexError|TypeError): .*"
                      r"(shape|broadcast|size of tensor|mat1 and mat2|not aligned|dimension|mismatch)", re.S),
           "shape_mismatch"),
          (re.compile(r"^\S+ raised IndexError"), "index_out_of_range"),
          (re.compile(r"^\S+ raised (TypeError|AttributeError)"), "wrong_arguments"),
          (re.compile(r"^\S+ raised KeyError"), "missing_key"),
          (re.compile(r"^\S+ raised (NameError|UnboundLocalError)"), "undefined_name"),
          (re.compile(r"^\S+ raised ZeroDivisionError"), "division_by_zero"),
          (re.compile(r"^\S+ did not return within"), "endless_loop")]


def explain(exception: BaseException) -> tuple[str, str | None]:
    """(message, mistake id) for a failed test, from the exception only."""
    if isinstance(exception, AssertionError) and hasattr(exception, "mistake"):  # nnex_check.CheckFailed
        return exception.detail, exception.mistake
    if isinstance(exception, StudentError):
        message = str(exception)
        return message, next((mistake for pattern, mistake in RAISED if pattern.search(message)), None)
    if isinstance(exception, AssertionError):
        return str(exception), None
    if isinstance(exception, pytest.skip.Exception):
        return f"the test was skipped ({exception}); a skip counts as a failure", None
    if isinstance(exception, pytest.xfail.Exception):
        return "the test was marked xfail; that counts as a failure", None
    return f"{type(exception).__name__}: {str(exception)[:500]}", None


class JudgePlugin:
    def __init__(self, proxy: StudentProxy, figures: Figures, secret: bytes):
        """secret: what the inputs of the tests are drawn from, beside each test's name; something
        students cannot know, so that no answer can be computed ahead for the inputs the grader uses
        (a self-check draws from the name alone)."""
        self.proxy, self.pictures = proxy, figures
        self.secret = int.from_bytes(hashlib.sha256(secret).digest()[:8], "big")
        self.verdicts: dict[str, Verdict] = {}
        self.collection_errors: list[str] = []

    def session_fixtures(self) -> types.ModuleType:
        """A second plugin with ``student`` and ``figures``: pytest wants fixtures wider than a test
        to be plain functions, not methods."""
        proxy, pictures = self.proxy, self.pictures

        @pytest.fixture(scope="session")
        def student():
            return proxy

        @pytest.fixture(scope="session")
        def figures():
            return pictures

        plugin = types.ModuleType("nnex_session_fixtures")
        plugin.student, plugin.figures = student, figures
        return plugin

    @pytest.fixture
    def rng(self, request):
        return np.random.default_rng([zlib.crc32(request.node.name.encode()), self.secret])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        verdict = self.verdicts.setdefault(item.nodeid, Verdict(item.originalname, passed=True))
        if not verdict.passed:
            return  # the first failure is the one reported
        if report.when == "call" and report.passed and not hasattr(report, "wasxfail"):
            return
        if report.passed:
            return
        if hasattr(report, "wasxfail"):
            verdict.passed, verdict.message = False, "the test was marked xfail; that counts as a failure"
        elif call.excinfo is not None:
            verdict.passed = False
            verdict.message, verdict.mistake = explain(call.excinfo.value)
        else:
            verdict.passed, verdict.message = False, f"the test did not pass its {report.when}"

    def pytest_collectreport(self, report):
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: could not be collected")
