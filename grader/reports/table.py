"""The score table that ``nnex grade`` prints."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def points(value: float) -> str:
    """A score as people write it: 8.5, 10, 0.83."""
    return f"{value:g}"


def print_table(results: list[dict], exercise_ids: list[str], isolation: str, console: Console) -> None:
    table = Table(title="nn-exercises scores")
    table.add_column("submission")
    for exercise_id in exercise_ids:
        table.add_column(exercise_id, justify="right")
    table.add_column("total", justify="right", style="bold")
    for submission in results:
        by_id = {e["id"]: e for e in submission["exercises"]}
        cells = []
        for exercise_id in exercise_ids:
            exercise = by_id.get(exercise_id)
            if exercise is None:
                cells.append("-")
                continue
            cell = f"{points(exercise['score'])}/{points(exercise['max_score'])}"
            cells.append(cell if exercise["status"] == "graded" else f"{cell} {exercise['status']}")
        table.add_row(escape(submission["id"]), *cells,
                      f"{points(submission['score'])}/{points(submission['max_score'])}")
    console.print(table)
    console.print(f"isolation: {isolation}")
