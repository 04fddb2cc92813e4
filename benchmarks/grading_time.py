"""How long grading takes: the sandbox's overhead per (submission, exercise), and one submission.

    .venv/bin/python benchmarks/grading_time.py [--repeat 5] [--exercise ID ...] [--jobs 1 2]

Prints, for full isolation (bubblewrap, when present) and reduced isolation:
- start: a fresh child that imports a small NumPy student file and answers one call (median);
- call: one more round trip with a (100, 10) float64 array (median over 200 calls);
then the wall-clock time of ``nnex grade solutions`` (the exercises asked for, at each --jobs), and
of grading each exercise of solutions/ on a judge server: the first job (which starts the server)
and the next. The machine's load average is printed with the figures: on a shared machine, run it
several times and compare medians.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np

from grader.grading import JudgeServers, grade_exercise, run_folder
from grader.judge.proxy import StudentProxy
from grader.manifests import load_manifests
from grader.paths import ROOT
from grader.sandbox.launcher import Forbidden, Limits, harden_judge_process, isolation
from grader.submissions import open_submission

TOY_SOURCE = "import numpy as np\n\ndef double(x):\n    return 2 * x\n"
TOY = SimpleNamespace(module="toy", student_file="toy.py", support_files=(), exercise_dir=ROOT,
                      forbidden=Forbidden(), limits=Limits(30, 600, 1024, 60))


def sandbox_figures(repeat: int) -> tuple[float, float]:
    starts, calls = [], []
    x = np.ones((100, 10))
    for _ in range(repeat):
        began = time.perf_counter()
        proxy = StudentProxy(TOY, TOY_SOURCE)
        proxy.double(x)
        starts.append(time.perf_counter() - began)
        for _ in range(max(1, 200 // repeat)):
            began = time.perf_counter()
            proxy.double(x)
            calls.append(time.perf_counter() - began)
        proxy.close()
    return statistics.median(starts), statistics.median(calls)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="children started per figure (the median is shown)")
    parser.add_argument("--exercise", action="append", metavar="ID", help="only this exercise (repeatable)")
    parser.add_argument("--jobs", type=int, nargs="*", default=[1, 2], help="the --jobs of nnex grade solutions")
    args = parser.parse_args(argv)
    manifests = load_manifests()
    exercises = [manifests[e] for e in args.exercise] if args.exercise else list(manifests.values())
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    harden_judge_process()
    for mode in ("auto", "reduced"):
        os.environ.pop("NNEX_ISOLATION", None) if mode == "auto" else os.environ.update(NNEX_ISOLATION=mode)
        isolation.cache_clear()
        start, call = sandbox_figures(args.repeat)
        print(f"sandbox [{isolation().text.split(':')[0]}]: start + first call {start * 1000:.0f} ms, "
              f"further call {call * 1000:.2f} ms")
    os.environ.pop("NNEX_ISOLATION", None)
    isolation.cache_clear()

    only = [option for e in exercises for option in ("--exercise", e.id)]
    for jobs in args.jobs:
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "grade", "solutions", *only, "--jobs", str(jobs)],
                       cwd=ROOT, check=True, capture_output=True)
        print(f"nnex grade solutions --jobs {jobs}: {time.perf_counter() - began:.1f} s")
    solutions = open_submission(ROOT / "solutions", {m.student_file for m in manifests.values()})
    with run_folder():
        servers = JudgeServers(1)
        try:
            for exercise in exercises:
                for run in ("first", "next"):  # the first job also starts the judge server
                    began = time.perf_counter()
                    result = grade_exercise(servers, solutions, exercise, None)
                    print(f"  {exercise.id} ({run} job of a server): {time.perf_counter() - began:.1f} s "
                          f"({result['score']:g}/{result['max_score']:g})")
        finally:
            servers.close()


if __name__ == "__main__":
    main()
