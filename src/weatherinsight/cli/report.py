"""How a pipeline run report looks on a terminal: the quarter × product summary as a Rich table."""

from __future__ import annotations

from rich.table import Table

from weatherinsight.pipeline.reports import SUMMARY_COLUMNS, RunReport, summary_rows
from weatherinsight.vocabulary import Status

#: Columns aligned right; the error column wraps instead of being cut.
_RIGHT = {"rows (db)", "seconds"}


def summary_table(report: RunReport, *, title: str = "WeatherInsight pipeline") -> Table:
    """The per quarter × product summary (the rows of ``summary_rows``), outcomes coloured."""
    table = Table(title=title)
    for name in SUMMARY_COLUMNS:
        if name == "error":
            table.add_column(name, overflow="fold")
        else:
            table.add_column(name, justify="right" if name in _RIGHT else "left", no_wrap=name not in _RIGHT)
    for outcome, row in zip(report.outcomes, summary_rows(report), strict=True):
        colour = "red" if outcome.status == Status.FAILED else "green"
        table.add_row(row[0], row[1], f"[{colour}]{row[2]}", *row[3:])
    return table
