"""How long grading takes: the sandbox's overhead per (submission, exercise), and one submission.

    .venv/bin/python benchmarks/grading_time.py [--repeat 5] [--exercise ID ...] [--jobs 1 2] [--submissions N]

Prints, for children forked warm (where the machine allows it, see grader/sandbox/warm.py), cold
with full isolation (bubblewrap, when present) and cold with reduced isolation:
- start: a fresh child that imports a small student file and answers one call (median), for a
  NumPy file and for one that uses PyTorch;
- call: one more round trip with a (100, 10) float64 array (median over 200 calls);
then the wall-clock time of ``nnex grade solutions`` (the exercises asked for, at each --jobs, warm
and with --cold-start; of a batch of N copies of it with --submissions N), and of grading each
exercise of solutions/ on a judge server: the first job (which starts the server) and the next,
warm and cold. The machine's load average is printed with the figures: on a shared machine, run it
several times and compare medians.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from grader.grading import JudgeServer, grade_exercise, run_folder
from grader.judge.proxy import StudentProxy
from grader.manifests import load_manifests
from grader.paths import ROOT
from grader.sandbox import warm
from grader.sandbox.launcher import Forbidden, Limits, harden_judge_process, isolation
from grader.submissions import open_submission

TOYS = {"numpy": "import numpy as np\n\ndef double(x):\n    return 2 * x\n",
        "torch": "import torch\n\ndef double(x):\n    return (2 * torch.from_numpy(x)).numpy()\n"}


def sandbox_figures(library: str, repeat: int) -> tuple[float, float]:
    toy = SimpleNamespace(module="toy", student_file="toy.py", support_files=(), exercise_dir=ROOT, library=library,
                          forbidden=Forbidden(), limits=Limits(30, 600, 2048, 60))
    warm.prepare([(library, toy.forbidden)])
    starts, calls = [], []
    x = np.ones((100, 10))
    for _ in range(repeat):
        began = time.perf_counter()
        proxy = StudentProxy(toy, TOYS[library])
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
    parser.add_argument("--submissions", type=int, default=1, metavar="N",
                        help="nnex grade a batch of N copies of solutions/ (default: solutions/ alone)")
    parser.add_argument("--library", nargs="*", default=["numpy", "torch"], help="the toy children's libraries")
    args = parser.parse_args(argv)
    manifests = load_manifests()
    exercises = [manifests[e] for e in args.exercise] if args.exercise else list(manifests.values())
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    harden_judge_process()
    modes = {"warm": {}, "cold": {"NNEX_COLD_START": "1"}, "reduced": {"NNEX_COLD_START": "1", "NNEX_ISOLATION": "reduced"}}
    with run_folder():
        for mode, environment in modes.items():
            os.environ.update(environment)
            isolation.cache_clear()
            if mode == "warm" and not warm.start_mode()[0]:
                print(f"sandbox [warm]: not here ({warm.start_mode()[1]})")
                continue
            for library in args.library:
                start, call = sandbox_figures(library, args.repeat)
                print(f"sandbox [{mode}, {isolation().text.split(':')[0]}] {library}: start + first call "
                      f"{start * 1000:.1f} ms, further call {call * 1000:.2f} ms")
            for name in environment:
                os.environ.pop(name)
            warm.close_all()
        isolation.cache_clear()

    only = [option for e in exercises for option in ("--exercise", e.id)]
    with tempfile.TemporaryDirectory(prefix="nnex-copies-") as copies:
        batch, label = ["solutions"], "solutions"
        if args.submissions > 1:  # each file changed by a comment: a batch grades the same file once
            batch, label = [], f"{args.submissions} copies of solutions"
            for k in range(args.submissions):
                copy = shutil.copytree(ROOT / "solutions", Path(copies) / f"copy-{k + 1}")
                for source in copy.rglob("*.py"):
                    source.write_text(source.read_text() + f"\n# copy {k + 1}\n")
                batch.append(str(copy))
        for jobs in args.jobs:
            for mode, cold in (("warm", []), ("cold", ["--cold-start"])):
                began = time.perf_counter()
                subprocess.run([sys.executable, "-m", "grader", "grade", *batch, *only, "--jobs", str(jobs), *cold],
                               cwd=ROOT, check=True, capture_output=True)
                print(f"nnex grade {label} --jobs {jobs} ({mode}): {time.perf_counter() - began:.1f} s")
    solutions = open_submission(ROOT / "solutions", {m.student_file for m in manifests.values()})
    for mode, environment in (("warm", {}), ("cold", {"NNEX_COLD_START": "1"})):
        os.environ.update(environment)
        with run_folder():
            server = JudgeServer(1)
            try:
                total = 0.0
                for exercise in exercises:
                    for run in ("first", "next"):  # the first job also starts the server (and the zygote)
                        began = time.perf_counter()
                        result = grade_exercise(server, solutions, exercise, None)
                        took = time.perf_counter() - began
                        total += took if run == "next" else 0.0
                        print(f"  {exercise.id} ({mode}, {run} job of a server): {took:.1f} s "
                              f"({result['score']:g}/{result['max_score']:g})")
                print(f"one submission of {len(exercises)} exercises on a started server ({mode}): {total:.1f} s")
            finally:
                server.close()
        for name in environment:
            os.environ.pop(name)


if __name__ == "__main__":
    main()
