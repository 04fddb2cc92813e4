"""The two sides of grading on a cluster: ClusterJudges on the calling machine, the plugin and
``judge_on_worker`` on each worker."""
from __future__ import annotations

import functools
import shutil
import tempfile
from concurrent.futures import CancelledError
from contextlib import ExitStack, contextmanager
from pathlib import Path

from distributed import Client, WorkerPlugin, get_worker

from grader import grading
from grader.distributed.errors import ClusterError
from grader.judge.scoring import not_graded
from grader.sandbox.launcher import harden_judge_process, isolation

PLUGIN = "nnex-judges"
CONNECT_TIMEOUT = "30s"


class JudgeServerOnWorker(WorkerPlugin):
    """A judge server per worker, running a job per worker thread at once, started with the worker, in a
    run folder of its own."""

    def setup(self, worker):
        harden_judge_process()
        self.stack = ExitStack()
        self.run = self.stack.enter_context(grading.run_folder())
        self.server = grading.JudgeServer(worker.state.nthreads)  # from the worker's main thread
        self.stack.callback(self.server.close)
        self.stack.callback(self.server.kill)

    def teardown(self, worker):
        self.stack.close()


def judge_on_worker(exercise_id: str, grader_version: str, source: str, notes: list[str],
                    with_pictures: bool) -> tuple[dict, dict[str, bytes]] | str:
    """(the judge's result, its pictures) on this worker; or why it cannot grade the job here."""
    from grader.manifests import load_manifests
    from grader.store.keys import grader_version as version_here

    judges = get_worker().plugins[PLUGIN]
    exercise = load_manifests()[exercise_id]
    if version_here(exercise, isolation().text) != grader_version:
        return (f"worker {get_worker().address} grades {exercise_id} with another version of the grader (its "
                "tests, manifest, reference or isolation differ from the calling machine's)")
    figures_dir = Path(tempfile.mkdtemp(prefix="nnex-figures-", dir=judges.run)) if with_pictures else None
    try:
        result = judges.server.run(exercise, source, notes, figures_dir)
        pictures = {name: (figures_dir / name).read_bytes() for name in result.get("figures", [])
                    if figures_dir and (figures_dir / name).is_file()}
    finally:
        if figures_dir:
            shutil.rmtree(figures_dir, ignore_errors=True)
    return result, pictures


class ClusterJudges:
    """What grading.grade runs its jobs with, as with its local JudgeServer, but on the cluster."""

    def __init__(self, client: Client, isolation_text: str, count: int):
        self.client, self.isolation = client, isolation_text
        self.futures: set = set()
        self.stopped = False

    def run(self, exercise, source: str, notes: list[str], figures_dir: Path | None) -> dict:
        from grader.store.keys import grader_version

        if self.stopped:
            return not_graded(exercise, "error", "grading was interrupted", notes)
        future = self.client.submit(judge_on_worker, exercise.id, grader_version(exercise, self.isolation), source,
                                    notes, figures_dir is not None, pure=False)
        self.futures.add(future)
        try:
            answer = future.result()
        except CancelledError:
            return not_graded(exercise, "error", "grading was interrupted", notes)
        except Exception as error:  # retried on other workers until the scheduler gave up
            return not_graded(exercise, "error", f"internal grader error: the cluster could not grade it: "
                                                 f"{type(error).__name__}: {error}", notes)
        finally:
            self.futures.discard(future)
        if isinstance(answer, str):
            return not_graded(exercise, "error", f"internal grader error: {answer}", notes)
        result, pictures = answer
        for name, png in pictures.items():
            figures_dir.mkdir(parents=True, exist_ok=True)
            (figures_dir / name).write_bytes(png)
        return result

    def kill(self) -> None:
        self.stopped = True
        for future in list(self.futures):
            future.cancel()

    def close(self) -> None:
        pass


@contextmanager
def cluster_judges(address: str):
    """(a factory of judges for grading.grade, how many jobs the cluster runs at once)."""
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    try:
        threads = sum(client.nthreads().values())
        if not threads:
            raise ClusterError(f"the Dask scheduler at {address} has no worker")
        client.register_plugin(JudgeServerOnWorker(), name=PLUGIN)
        yield functools.partial(ClusterJudges, client, isolation().text), threads
    finally:
        client.close()
