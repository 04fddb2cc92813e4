"""The statistics as one self-contained HTML page: its plots are SVG drawn by matplotlib, embedded
as data URIs, so the page is a single file to mail or upload; the same figures give the same bytes."""
from __future__ import annotations

import base64
import io
from pathlib import Path

import jinja2

from grader.reports.table import points

TEMPLATES = Path(__file__).parent / "templates"
MISTAKES_PLOTTED = 15


def _svg(figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue().encode()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "nnex-stats"  # the ids inside the SVG: fixed, for the same bytes
    import matplotlib.pyplot as plt

    return plt


def _histogram(exercise: dict) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(4.2, 2.4))
    bins = exercise["histogram"]
    axes.bar([b["from"] for b in bins], [b["count"] for b in bins], width=[b["to"] - b["from"] for b in bins],
             align="edge", color="#4878a8", edgecolor="white")
    axes.axvline(exercise["mean"], color="#c44e52", linestyle="--", label=f"mean {exercise['mean']:.2f}")
    axes.axvline(exercise["median"], color="#55a868", linestyle=":", label=f"median {exercise['median']:g}")
    axes.set_xlim(0, exercise["max_score"])
    axes.set_xlabel("score")
    axes.set_ylabel("submissions")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(fontsize=8, frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def _pass_rates(exercise: dict) -> str:
    plt = _pyplot()
    tests = exercise["tests"]
    figure, axes = plt.subplots(figsize=(6.4, 0.22 * len(tests) + 0.8))
    names = [t["name"].removeprefix("test_").replace("_", " ") for t in tests]
    axes.barh(range(len(tests)), [100 * t["pass_rate"] for t in tests], color="#55a868")
    axes.set_yticks(range(len(tests)), names, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("submissions that passed (%)")
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def _mistakes(mistakes: list[dict]) -> str:
    plt = _pyplot()
    shown = mistakes[:MISTAKES_PLOTTED]
    figure, axes = plt.subplots(figsize=(6.4, 0.28 * len(shown) + 0.8))
    axes.barh(range(len(shown)), [len(m["submissions"]) for m in shown], color="#c44e52")
    axes.set_yticks(range(len(shown)), [f"{m['exercise']}: {m['mistake']}" for m in shown], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("submissions")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def write_html(statistics: dict, path: Path) -> None:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["points"] = points
    page = environment.get_template("stats.html.j2").render(
        stats=statistics, histograms={e["id"]: _histogram(e) for e in statistics["exercises"]},
        pass_rates={e["id"]: _pass_rates(e) for e in statistics["exercises"]},
        mistakes_plot=_mistakes(statistics["mistakes"]) if statistics["mistakes"] else None,
        plotted=MISTAKES_PLOTTED)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
