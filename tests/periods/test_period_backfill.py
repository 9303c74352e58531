"""A backfill over seven quarters on the DWD mirror publishes months, seasons and years beside the quarters.

The quarters are the seven up to the last complete one (real calendar: the mirror's "today" is today), so the
range always holds one whole calendar year; which seasons are whole inside the range follows from it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from tests.pipeline.conftest import SMALL_MIRROR_THRESHOLDS, cli_env, staged_stations
from weatherinsight.cli import app
from weatherinsight.periods import Period, periods_in_quarters
from weatherinsight.quarters import Quarter, quarter_range
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage

pytestmark = pytest.mark.slow
P = "wind"


def test_backfill_publishes_every_period_its_quarters_complete(
    mirror_url: str, mirror_settings_for: Callable[..., Settings]
) -> None:
    s = mirror_settings_for(mirror_url, quality_thresholds=SMALL_MIRROR_THRESHOLDS)
    last = Quarter.last_complete()
    first = last
    for _ in range(6):
        first = first.previous()
    quarters = quarter_range(first, last)
    result = CliRunner().invoke(
        app,
        ["backfill", f"{first}..{last}", "--products", P, "--period", "month,season,year", "--no-progress"],
        env={**cli_env(s), "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output

    def complete(kind: str) -> list[str]:  # periods whose every quarter is in the range
        found = periods_in_quarters(quarters, kind)  # type: ignore[arg-type]
        return [str(p) for p in found if all(q in quarters for q in p.quarters)]

    with db.get_engine(s.database_url).connect() as conn:
        published = {
            (v.period_kind, str(v.period)): v.version_name
            for v in lineage.list_versions(conn, kind="curated", product=P, statuses=["AVAILABLE"])
        }
        rows = {key: len(lineage.read_published(conn, P, Period.parse(key[1]))) for key in published}
    expected = {kind: complete(kind) for kind in ("month", "season", "quarter", "year")}
    assert len(expected["month"]) == 21 and len(expected["quarter"]) == 7
    assert len(expected["year"]) == 1 and len(expected["season"]) in (6, 7)
    assert published == {(k, label): f"{label}_v1" for k, labels in expected.items() for label in labels}
    stations = staged_stations(s, P, last)
    assert stations >= 3
    assert rows[("month", f"{last.year}-{3 * last.quarter:02d}")] == stations
    assert rows[("year", expected["year"][0])] >= 3
