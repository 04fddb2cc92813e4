"""Grading on a dask.distributed cluster: ``nnex grade --scheduler ADDRESS``.

Each worker (with the project installed, as for local grading) runs a judge server and sandboxes
exactly as local grading does, running a job per worker thread at once, started by a worker plugin when the
worker starts (also a worker that replaces a dead one). The machine that runs ``nnex grade`` sends
each (submission, exercise) job as plain data (the exercise's id, the student's code, the notes)
and gets back the result and its pictures, which go to its results store there. A worker that dies
mid-job loses nothing: the scheduler runs the job again on another worker, and only the result
that comes back is stored. Only trusted processes (this one, the scheduler, the workers) exchange
Dask's messages; student code runs in the workers' sandboxes, never in them.

    with cluster_judges(address) as (judges, threads):
        grading.grade(..., jobs=threads, judges=judges)
"""
from grader.distributed.errors import ClusterError

__all__ = ["ClusterError", "cluster_judges"]


def __getattr__(name: str):
    """``cluster_judges`` imported when first asked for: dask takes most of a second to import, which
    only a run with --scheduler should pay."""
    if name == "cluster_judges":
        from grader.distributed.cluster import cluster_judges

        return cluster_judges
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
