"""The nnex subcommands of this package (grader/cli.py adds them to its parser).

    nnex nbgrader init COURSE_DIR [--exercise ID]... [--course-id ID] [--answer-points P] [--force]
    nnex release OUT_DIR [--exercise ID]...

Both exit 0 on success and 2 on a usage or configuration error.
"""
from __future__ import annotations

import sys
from pathlib import Path

from grader.manifests import ManifestError, load_manifests
from grader.nbgrader.course import ANSWER_POINTS, assignment_name, init_course
from grader.nbgrader.release import release

USAGE_ERROR = 2


def add_parsers(commands) -> None:
    nbgrader = commands.add_parser("nbgrader", help="make an nbgrader course from the exercises")
    actions = nbgrader.add_subparsers(dest="nbgrader_command", required=True)
    init = actions.add_parser("init", help="write nbgrader_config.py and one source notebook per exercise")
    init.add_argument("course_dir", type=Path, metavar="COURSE_DIR")
    init.add_argument("--exercise", action="append", metavar="ID", help="only this exercise (repeatable)")
    init.add_argument("--course-id", metavar="ID", help="nbgrader's course id (default: the folder's name)")
    init.add_argument("--answer-points", type=float, default=ANSWER_POINTS, metavar="P",
                      help=f"points of each written answer, graded by hand (default: {ANSWER_POINTS:g})")
    init.add_argument("--force", action="store_true", help="overwrite a different nbgrader_config.py")
    out = commands.add_parser("release", help="write what students receive: stubs, notebooks, public tests, task texts")
    out.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    out.add_argument("--exercise", action="append", metavar="ID", help="only this exercise (repeatable)")


def run(args) -> int:
    command = "nbgrader init" if args.command == "nbgrader" else args.command
    try:
        manifests = load_manifests()
        unknown = [e for e in args.exercise or [] if e not in manifests]
        if unknown:
            raise ValueError(f"unknown exercise {unknown[0]!r} (known: {', '.join(manifests)})")
        exercises = [m for m in manifests.values() if not args.exercise or m.id in args.exercise]
        if args.command == "release":
            release(args.out_dir, exercises)
            print(f"wrote {len(exercises)} exercise(s) for students to {args.out_dir}")
            return 0
        if args.answer_points < 0:
            raise ValueError("--answer-points must not be negative")
        init_course(args.course_dir, exercises, args.course_id, args.answer_points, args.force)
    except (ManifestError, OSError, ValueError) as error:
        print(f"nnex {command}: {error}", file=sys.stderr)
        return USAGE_ERROR
    names = " ".join(assignment_name(e) for e in exercises)
    print(f"nbgrader course in {args.course_dir}: assignments {names}\n"
          f"next, from that folder: nbgrader generate_assignment ASSIGNMENT")
    return 0

