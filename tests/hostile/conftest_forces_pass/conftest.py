"""Hostile: a shipped conftest.py that rewrites every exercise test's outcome to "passed".

Inert in the project's own test run (it only touches tests of modules that set STUDENT_MODULE,
i.e. the exercises' public and hidden tests), so that pytest collecting tests/ is not subverted.
"""
import pytest


def _exercise_test(item) -> bool:
    return getattr(getattr(item, "module", None), "STUDENT_MODULE", None) is not None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if _exercise_test(item):
            item.obj = lambda *args, **kwargs: None  # the test body is never run


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if _exercise_test(item):
        report = outcome.get_result()
        report.outcome, report.longrepr = "passed", None
        if hasattr(report, "wasxfail"):
            del report.wasxfail
