"""What ``nnex grade`` shows while it grades, on standard error: a progress bar on a terminal
(done / total, one row per exercise, elapsed time, time left, failures), one plain line per result
in a pipe or a log, nothing with -q.

    progress = Progress.for_terminal(quiet, lines)
    with progress:
        progress.begin(to_grade, reused)          # {exercise id: how many to grade now}, how many reused
        progress.advance(submission, result)      # as each exercise is graded
"""
from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as Bars

from grader.reports.table import points

FAILED = ("error", "timeout")  # the results an instructor has to look at: the code could not be judged


def failed(result: dict) -> bool:
    return result["status"] in FAILED


class Progress:
    """Shows nothing; the base of the two that do."""

    @staticmethod
    def for_terminal(quiet: bool, lines: bool) -> "Progress":
        if quiet:
            return Progress()
        return Lines() if lines or not sys.stderr.isatty() else Bar()

    def __enter__(self):
        return self

    def __exit__(self, *exception) -> None:
        pass

    def begin(self, to_grade: dict[str, int], reused: int) -> None:
        pass

    def advance(self, submission, result: dict) -> None:
        pass


class Lines(Progress):
    """One line per result: ``[3/10] alice: neuron_gradient 8/10 graded``."""

    def __init__(self):
        self.done = self.total = 0

    def begin(self, to_grade: dict[str, int], reused: int) -> None:
        self.total = total = sum(to_grade.values())
        if reused:
            print(f"{reused} exercises reused from the results store, {total} to grade", file=sys.stderr, flush=True)

    def advance(self, submission, result: dict) -> None:
        self.done += 1
        print(f"[{self.done}/{self.total}] {submission.id}: {result['id']} "
              f"{points(result['score'])}/{points(result['max_score'])} {result['status']}", file=sys.stderr, flush=True)


class Bar(Progress):
    """A rich progress display: all exercises, then one row per exercise, each with its failures."""

    def __init__(self):
        self.bars = Bars(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                         TextColumn("failed {task.fields[failed]}"), TimeElapsedColumn(),
                         TextColumn("left"), TimeRemainingColumn(), console=Console(stderr=True))
        self.tasks: dict[str, int] = {}
        self.failures: dict[str, int] = {}

    def __enter__(self):
        self.bars.__enter__()
        return self

    def __exit__(self, *exception) -> None:
        self.bars.__exit__(*exception)

    def begin(self, to_grade: dict[str, int], reused: int) -> None:
        if reused:
            self.bars.console.print(f"{reused} exercises reused from the results store")
        self.tasks["all"] = self.bars.add_task("all exercises", total=sum(to_grade.values()), failed=0)
        for exercise_id, count in to_grade.items():
            self.tasks[exercise_id] = self.bars.add_task(exercise_id, total=count, failed=0)

    def advance(self, submission, result: dict) -> None:
        for name in ("all", result["id"]):
            self.failures[name] = self.failures.get(name, 0) + failed(result)
            self.bars.update(self.tasks[name], advance=1, failed=self.failures[name])
