"""The ``nnex`` command (also ``python -m grader``).

    nnex grade SUBMISSION... [--exercise ID]... [--json FILE] [--csv FILE] [--gradescope FILE]
               [--feedback DIR] [--jobs N] [--manifests DIR]
    nnex generate [--check]
    nnex nbgrader init COURSE_DIR [--exercise ID]...   (grader/nbgrader/commands.py)
    nnex release OUT_DIR [--exercise ID]...

Exit status of ``grade``: 0 when every submission could be graded (whatever the scores), 1 when
some submission could not be read, 2 on a usage or configuration error, 130 when interrupted
(Ctrl-C): the reports then hold what was graded before.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
from pathlib import Path

from rich.console import Console

from grader import grading, reports
from grader.manifests import ManifestError, load_manifests
from grader.nbgrader import commands as nbgrader_commands
from grader.paths import MANIFESTS
from grader.sandbox.launcher import harden_judge_process, isolation, kill_descendants
from grader.submissions import open_submission

USAGE_ERROR = 2
INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nnex", description="Grade nn-exercises submissions.")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade submissions and print the score table")
    grade.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                       help="a folder, a .zip or a single student file (.py or .ipynb)")
    grade.add_argument("--exercise", action="append", metavar="ID", help="grade only this exercise (repeatable)")
    grade.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    grade.add_argument("--csv", type=Path, metavar="FILE", help="write one row of scores per submission")
    grade.add_argument("--gradescope", type=Path, metavar="FILE", help="write Gradescope's results.json (one submission)")
    grade.add_argument("--feedback", type=Path, metavar="DIR", help="write one feedback file per submission, with its pictures")
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                       help="exercises graded at once (default: the number of CPUs)")
    grade.add_argument("--manifests", type=Path, default=MANIFESTS, metavar="DIR", help=argparse.SUPPRESS)
    validate = commands.add_parser("validate", help="how many single-point mutants of each solution the tests "
                                                     "catch and name (the mutation score)")
    validate.add_argument("--exercise", action="append", metavar="ID", help="validate only this exercise (repeatable)")
    validate.add_argument("--sample", type=int, metavar="N", help="grade only N mutants per exercise, spread over the "
                                                                   "solution (a quick check)")
    validate.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="exercises graded at once")
    validate.add_argument("--json", type=Path, metavar="FILE", help="write the figures and the survivors as JSON")
    generate = commands.add_parser("generate", help="make the stubs, notebooks and task texts from solutions/")
    generate.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything drifted")
    nbgrader_commands.add_parsers(commands)
    return parser


def _unique_ids(submissions) -> None:
    """A second "alice" becomes "alice-2", or "alice-3" where another submission is "alice-2"."""
    given, seen = {submission.id for submission in submissions}, set()
    for submission in submissions:
        if submission.id in seen:
            number = 2
            while f"{submission.id}-{number}" in given | seen:
                number += 1
            submission.id = f"{submission.id}-{number}"
        seen.add(submission.id)


def grade_command(args, console: Console) -> int:
    try:
        manifests = load_manifests(args.manifests)
    except ManifestError as error:
        print(f"nnex grade: configuration error: {error}", file=sys.stderr)
        return USAGE_ERROR
    chosen = args.exercise or list(manifests)
    unknown = [e for e in chosen if e not in manifests]
    missing_paths = [str(p) for p in args.submissions if not p.exists()]
    if unknown or missing_paths or args.jobs < 1 or (args.gradescope and len(args.submissions) != 1):
        problems = ([f"unknown exercise {e!r} (known: {', '.join(manifests)})" for e in unknown]
                    + [f"no such submission: {p}" for p in missing_paths]
                    + (["--jobs must be at least 1"] if args.jobs < 1 else [])
                    + (["--gradescope writes one submission's results; give exactly one"]
                       if args.gradescope and len(args.submissions) != 1 else []))
        for problem in problems:
            print(f"nnex grade: {problem}", file=sys.stderr)
        return USAGE_ERROR
    exercises = [manifests[e] for e in manifests if e in chosen]
    student_files = {e.student_file for e in manifests.values()}
    harden_judge_process()
    submissions, interrupted = [], None
    try:
        with grading.run_folder():
            try:
                for path in args.submissions:
                    submissions.append(open_submission(path, student_files))
                _unique_ids(submissions)
                results = grading.grade(submissions, exercises, args.jobs, args.feedback)
            finally:
                kill_descendants()
                for submission in submissions:
                    submission.close()
    except grading.GradingInterrupted as stop:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the reports of what was graded get written
        results, interrupted = stop.results, stop
    except KeyboardInterrupt:
        print("nnex grade: interrupted before grading began; nothing was written", file=sys.stderr)
        return INTERRUPTED
    isolation_text = isolation().text
    reports.print_table(results, [e.id for e in exercises], isolation_text, console)
    for submission in submissions:
        if submission.error:
            print(f"{submission.id}: {submission.error}", file=sys.stderr)
    if args.json:
        reports.write_json(results, isolation_text, args.json, interrupted=interrupted is not None)
    if args.csv:
        reports.write_csv(results, [e.id for e in exercises], args.csv)
    if args.gradescope:
        reports.write_gradescope(results[0], args.gradescope)
    if args.feedback:
        reports.write_feedback(results, args.feedback)
    if interrupted is not None:
        print(f"nnex grade: interrupted; {interrupted} before it, and the reports hold only those",
              file=sys.stderr)
        return INTERRUPTED
    return 1 if any(s.error for s in submissions) else 0


def validate_command(args, console: Console) -> int:
    from grader import validate

    manifests = load_manifests()
    unknown = [e for e in args.exercise or [] if e not in manifests]
    if unknown or (args.sample is not None and args.sample < 1) or args.jobs < 1:
        print(f"nnex validate: unknown exercise {unknown[0]!r}" if unknown else
              "nnex validate: --sample and --jobs must be at least 1", file=sys.stderr)
        return USAGE_ERROR
    exercises = [m for i, m in manifests.items() if not args.exercise or i in args.exercise]
    reports = validate.validate(exercises, args.sample, args.jobs)
    validate.print_report(reports, console)
    if args.json:
        args.json.write_text(json.dumps({"exercises": reports}, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # in a log or a pipe the table keeps one line per submission, however many exercises it has
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 200
    console = Console(width=width)
    if args.command == "grade":
        return grade_command(args, console)
    if args.command == "validate":
        return validate_command(args, console)
    if args.command in ("nbgrader", "release"):
        return nbgrader_commands.run(args)
    from grader import generate

    return generate.main(["--check"] if args.check else [])


if __name__ == "__main__":
    sys.exit(main())
