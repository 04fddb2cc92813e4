"""The statistics as tables on the terminal."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.reports.table import points


def _percent(rate: float) -> str:
    return f"{100 * rate:.0f}%"


def print_statistics(statistics: dict, console: Console) -> None:
    scores = Table(title=f"scores of {statistics['submissions']} submissions")
    for column in ("exercise", "graded", "mean", "median", "min", "max", "full marks", "histogram (1 point a bin)"):
        scores.add_column(column, justify="left" if column in ("exercise", "histogram (1 point a bin)") else "right")
    for exercise in statistics["exercises"]:
        counts = [b["count"] for b in exercise["histogram"]]
        bars = "".join(" ▁▂▃▄▅▆▇█"[0 if not c else 1 + round(7 * c / max(counts))] for c in counts)
        scores.add_row(exercise["id"], str(exercise["submissions"]),
                       *(points(round(exercise[k], 2)) for k in ("mean", "median", "min", "max")),
                       str(exercise["full_marks"]), f"0 {bars} {points(exercise['max_score'])}")
    console.print(scores)
    tests = Table(title="pass rate per test")
    for column in ("exercise", "test", "points", "passed"):
        tests.add_column(column, justify="right" if column in ("points", "passed") else "left")
    for exercise in statistics["exercises"]:
        for test in exercise["tests"]:
            tests.add_row(exercise["id"], test["name"], points(test["points"]), _percent(test["pass_rate"]))
    console.print(tests)
    mistakes = Table(title="mistakes, most frequent first")
    for column in ("#", "submissions", "exercise", "mistake", "hint"):
        mistakes.add_column(column, justify="right" if column in ("#", "submissions") else "left")
    for rank, mistake in enumerate(statistics["mistakes"], start=1):
        mistakes.add_row(str(rank), str(len(mistake["submissions"])), mistake["exercise"], mistake["mistake"],
                         escape(mistake["hint"]))
    console.print(mistakes if statistics["mistakes"] else "no catalogued mistake was recognised")
