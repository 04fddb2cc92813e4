"""Cohort statistics of the last batch in a results store: per exercise the score distribution,
per test the pass rate, and the catalogued mistakes ranked by how many submissions made them,
with their hints; as terminal tables and as one self-contained HTML page with its plots.

    statistics = cohort_statistics(batch.results, manifests)
    print_statistics(statistics, console)
    write_html(statistics, path)
"""
from grader.stats.cohort import cohort_statistics
from grader.stats.page import write_html
from grader.stats.terminal import print_statistics

__all__ = ["cohort_statistics", "print_statistics", "write_html"]
