"""The ``nnex`` command (also ``python -m grader``).

    nnex --version
    nnex grade SUBMISSION... [--exercise ID]... [--count-missing] [--json FILE|-] [--csv FILE|-]
               [--gradescope FILE] [--feedback DIR [--feedback-format html|md]] [--jobs N] [-q|-v]
               [--db FILE] [--regrade] [--scheduler ADDRESS]
    nnex report --db FILE [--json FILE|-] [--csv FILE|-] [--gradescope FILE] [--feedback DIR] [-q]
    nnex stats --db FILE [--html FILE]
    nnex gradescope build OUT.zip [--exercise ID]... [--count-missing]
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
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console

from grader import __version__, grading, reports
from grader.gradescope import BuildError, build_autograder
from grader.manifests import ManifestError, load_manifests
from grader.nbgrader import commands as nbgrader_commands
from grader.paths import MANIFESTS
from grader.distributed.errors import ClusterError
from grader.progress import Progress
from grader.sandbox import warm
from grader.sandbox.launcher import harden_judge_process, isolation, kill_descendants
from grader.store import Batch, ResultStore, StoreError, grade_batch
from grader.submissions import open_submissions

USAGE_ERROR = 2
INTERRUPTED = 130
STORE_NAME = "grades.sqlite"


def _add_report_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON (- for standard output)")
    command.add_argument("--csv", type=Path, metavar="FILE",
                         help="write one row of scores per submission (- for standard output)")
    command.add_argument("--gradescope", type=Path, metavar="FILE",
                         help="write Gradescope's results.json (one submission)")
    command.add_argument("--feedback", type=Path, metavar="DIR", help="write one feedback page per submission")
    command.add_argument("--feedback-format", choices=reports.FEEDBACK_FORMATS, default="html",
                         help="html: one self-contained page, pictures included (default); "
                              "md: Markdown, its pictures in a folder beside it")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nnex", description="Grade nn-exercises submissions.")
    parser.add_argument("--version", action="version", version=f"nnex {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade submissions and print the score table")
    grade.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                       help="a folder, a .zip or a student file (.py or .ipynb), or a download of Canvas, "
                            "Moodle or Gradescope (a folder or its .zip): one submission per student")
    grade.add_argument("--exercise", action="append", metavar="ID", help="grade only this exercise (repeatable)")
    grade.add_argument("--count-missing", action="store_true",
                       help="count every exercise (those of --exercise) for every submission, a missing one "
                            "as 0; by default only the exercises a submission holds count")
    _add_report_options(grade)
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                       help="exercises graded at once (default: the number of CPUs)")
    grade.add_argument("--cold-start", action="store_true",
                       help="start every sandboxed child afresh instead of forking it from a warm one (to compare)")
    talk = grade.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true", help="print no progress and no table, only what went wrong")
    talk.add_argument("-v", "--verbose", action="store_true",
                      help="one line per exercise as it is graded, on a terminal too (in place of the progress bar; "
                           "a pipe or a log always gets the lines)")
    grade.add_argument("--manifests", type=Path, default=MANIFESTS, metavar="DIR", help=argparse.SUPPRESS)
    grade.add_argument("--db", type=Path, metavar="FILE",
                       help=f"the results store (SQLite): what it holds is not graded again (default: {STORE_NAME} "
                            "beside the first report written to a file; none without one)")
    grade.add_argument("--regrade", action="store_true", help="grade everything again, whatever the store holds")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the Dask cluster of this scheduler (tcp://host:8786); its workers need the "
                            "project installed (README: Grading on several machines)")
    report = commands.add_parser("report", help="write the reports of the last batch in a results store, "
                                                "without grading")
    report.add_argument("--db", type=Path, metavar="FILE", required=True, help="the results store")
    _add_report_options(report)
    report.add_argument("-q", "--quiet", action="store_true", help="print no table")
    report.add_argument("--manifests", type=Path, default=MANIFESTS, metavar="DIR", help=argparse.SUPPRESS)
    validate = commands.add_parser("validate", help="how many single-point mutants of each solution the tests "
                                                     "catch and name (the mutation score)")
    validate.add_argument("--exercise", action="append", metavar="ID", help="validate only this exercise (repeatable)")
    validate.add_argument("--sample", type=int, metavar="N", help="grade only N mutants per exercise, spread over the "
                                                                   "solution (a quick check)")
    validate.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="exercises graded at once")
    validate.add_argument("--json", type=Path, metavar="FILE", help="write the figures and the survivors as JSON")
    gradescope = commands.add_parser("gradescope", help="a Gradescope autograder")
    actions = gradescope.add_subparsers(dest="gradescope_command", required=True)
    build = actions.add_parser("build", help="write the autograder's zip (setup.sh, run_autograder, the grader)")
    build.add_argument("out", type=Path, metavar="OUT.zip")
    build.add_argument("--exercise", action="append", metavar="ID", help="grade only this exercise (repeatable)")
    build.add_argument("--count-missing", action="store_true", help="as for nnex grade")
    stats = commands.add_parser("stats", help="cohort statistics of the last batch in a results store: scores, "
                                              "pass rates, mistakes ranked by how many made them")
    stats.add_argument("--db", type=Path, metavar="FILE", required=True, help="the results store")
    stats.add_argument("--html", type=Path, metavar="FILE", help="also write them as one HTML page with plots")
    stats.add_argument("--manifests", type=Path, default=MANIFESTS, metavar="DIR", help=argparse.SUPPRESS)
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


def _usage_problems(args, manifests) -> list[str]:
    unknown = [e for e in args.exercise or [] if e not in manifests]
    problems = [f"unknown exercise {e!r} (known: {', '.join(manifests)})" for e in unknown]
    if args.command == "gradescope":
        return problems + ([] if args.out.suffix == ".zip" else [f"{args.out} should end in .zip"])
    problems += [f"no such submission: {p}" for p in args.submissions if not p.exists()]
    if args.jobs < 1:
        problems.append("--jobs must be at least 1")
    if args.gradescope and len(args.submissions) != 1:
        problems.append("--gradescope writes one submission's results; give exactly one")
    if args.json == reports.STDOUT and args.csv == reports.STDOUT:
        problems.append("only one of --json and --csv can go to standard output (-)")
    return problems


def _checked_manifests(args, command: str, directory: Path = MANIFESTS) -> dict | None:
    """The manifests, or None after saying on standard error what is wrong with them or the arguments."""
    try:
        manifests = load_manifests(directory)
    except ManifestError as error:
        print(f"nnex {command}: configuration error: {error}", file=sys.stderr)
        return None
    problems = _usage_problems(args, manifests)
    for problem in problems:
        print(f"nnex {command}: {problem}", file=sys.stderr)
    return None if problems else manifests


def _store_path(args) -> Path | None:
    """--db, else grades.sqlite beside the first report written to a file; None: keep nothing."""
    if args.db is not None:
        return args.db
    for output in (args.json, args.csv, args.feedback):
        if output is not None and output != reports.STDOUT:
            return output.parent / STORE_NAME
    return None


def _open_store(path: Path | None, command: str) -> ResultStore | None:
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        return ResultStore(path)
    except (StoreError, OSError) as error:
        print(f"nnex {command}: {error}", file=sys.stderr)
        return None


def write_reports(args, batch: Batch, manifests: dict, store: ResultStore, run: Path, console: Console) -> None:
    """The table and the reports asked for, all made from ``batch`` (read from ``store``)."""
    if not args.quiet:
        # standard output may be the JSON or the CSV: the table then goes to standard error
        table_console = Console(stderr=True, width=console.width) if reports.STDOUT in (args.json, args.csv) \
            else console
        reports.print_table(batch.results, batch.exercise_ids, batch.isolation, table_console)
    pictures = None
    if args.feedback or args.gradescope:
        pictures = run / "pictures-from-store"
        store.write_pictures(pictures)
    if args.json:
        reports.write_json(batch.results, batch.isolation, args.json, interrupted=batch.interrupted)
    if args.csv:
        reports.write_csv(batch.results, batch.exercise_ids, args.csv)
    if args.gradescope:
        reports.write_gradescope(batch.results[0], manifests, pictures, batch.isolation, batch.seconds,
                                 args.gradescope)
    if args.feedback:
        reports.write_feedback(batch.results, args.feedback, manifests, pictures, args.feedback_format)


def grade_command(args, console: Console) -> int:
    manifests = _checked_manifests(args, "grade", args.manifests)
    if manifests is None:
        return USAGE_ERROR
    exercises = [manifests[e] for e in manifests if not args.exercise or e in args.exercise]
    student_files = {e.student_file for e in manifests.values()}
    wants_pictures = args.feedback is not None or args.gradescope is not None
    store = _open_store(_store_path(args), "grade")
    if store is None:
        return USAGE_ERROR
    if args.cold_start:  # read by the judge server, which inherits it
        os.environ["NNEX_COLD_START"] = "1"
    harden_judge_process()
    submissions, interrupted = [], None
    with grading.run_folder() as run:
        pictures = run / "pictures" if wants_pictures else None
        try:
            try:
                submissions = open_submissions(args.submissions, student_files)
                if args.gradescope and len(submissions) != 1:
                    print(f"nnex grade: --gradescope writes one submission's results, and {args.submissions[0]} "
                          f"holds {len(submissions)}", file=sys.stderr)
                    return USAGE_ERROR
                _unique_ids(submissions)
                with ExitStack() as cluster, Progress.for_terminal(args.quiet, args.verbose) as progress:
                    jobs, judges = args.jobs, {}
                    if args.scheduler:
                        from grader.distributed import cluster_judges

                        factory, threads = cluster.enter_context(cluster_judges(args.scheduler))
                        jobs, judges = 2 * threads, {"judges": factory}  # a job waiting on each worker thread
                    isolation_text = f"{isolation().text}; {warm.start_mode()[1]}"
                    batch = grade_batch(store, submissions, exercises, jobs, pictures, args.count_missing,
                                        isolation_text, regrade=args.regrade, progress=progress, **judges)
            finally:
                kill_descendants()
                for submission in submissions:
                    submission.close()
        except grading.GradingInterrupted as stop:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the reports of what was graded get written
            batch, interrupted = store.batch(), stop
        except KeyboardInterrupt:
            print("nnex grade: interrupted before grading began; nothing was written", file=sys.stderr)
            return INTERRUPTED
        except ClusterError as error:
            print(f"nnex grade: {error}", file=sys.stderr)
            return USAGE_ERROR
        for submission in submissions:
            for problem in ([submission.error] if submission.error else []):
                print(f"{submission.id}: {problem}", file=sys.stderr)
        write_reports(args, batch, manifests, store, run, console)
    store.close()
    if interrupted is not None:
        print(f"nnex grade: interrupted; {interrupted} before it, and the reports hold only those",
              file=sys.stderr)
        return INTERRUPTED
    return 1 if any(s.error for s in submissions) else 0


def _stored_batch(args) -> tuple[dict, ResultStore, Batch] | None:
    """The manifests, the store of --db and its last batch; None after saying what is wrong."""
    try:
        manifests = load_manifests(args.manifests)
    except ManifestError as error:
        print(f"nnex {args.command}: configuration error: {error}", file=sys.stderr)
        return None
    if not args.db.is_file():
        print(f"nnex {args.command}: no such results store: {args.db}", file=sys.stderr)
        return None
    store = _open_store(args.db, args.command)
    batch = store.batch() if store is not None else None
    if store is not None and batch is None:
        print(f"nnex {args.command}: {args.db} holds no graded batch", file=sys.stderr)
    return None if batch is None else (manifests, store, batch)


def report_command(args, console: Console) -> int:
    stored = _stored_batch(args)
    if stored is None:
        return USAGE_ERROR
    manifests, store, batch = stored
    if args.gradescope and len(batch.results) != 1:
        print(f"nnex report: --gradescope writes one submission's results, and {args.db} holds "
              f"{len(batch.results)}", file=sys.stderr)
        return USAGE_ERROR
    with grading.run_folder() as run:
        write_reports(args, batch, manifests, store, run, console)
    store.close()
    return 0


def stats_command(args, console: Console) -> int:
    from grader import stats

    stored = _stored_batch(args)
    if stored is None:
        return USAGE_ERROR
    manifests, store, batch = stored
    store.close()
    statistics = stats.cohort_statistics(batch.results, manifests)
    stats.print_statistics(statistics, console)
    if args.html:
        stats.write_html(statistics, args.html)
    return 0


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


def gradescope_command(args) -> int:
    manifests = _checked_manifests(args, "gradescope build")
    if manifests is None:
        return USAGE_ERROR
    exercise_ids = [e for e in manifests if not args.exercise or e in args.exercise]
    try:
        build_autograder(args.out, exercise_ids, args.count_missing)
    except (BuildError, OSError) as error:
        print(f"nnex gradescope build: {error}", file=sys.stderr)
        return USAGE_ERROR
    print(f"wrote {args.out}: Gradescope's autograder for {', '.join(exercise_ids)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # in a log or a pipe the table keeps one line per submission, however many exercises it has
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 200
    console = Console(width=width)
    if args.command == "grade":
        return grade_command(args, console)
    if args.command == "report":
        return report_command(args, console)
    if args.command == "stats":
        return stats_command(args, console)
    if args.command == "validate":
        return validate_command(args, console)
    if args.command == "gradescope":
        return gradescope_command(args)
    if args.command in ("nbgrader", "release"):
        return nbgrader_commands.run(args)
    from grader import generate

    return generate.main(["--check"] if args.check else [])


if __name__ == "__main__":
    sys.exit(main())
