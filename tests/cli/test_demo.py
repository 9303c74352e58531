"""``python -m weatherinsight.cli.demo`` end to end on a tiny mirror (the same code path as ``make demo``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from weatherinsight.cli import demo
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.periods import periods_ending_in
from weatherinsight.quarters import Quarter

pytestmark = pytest.mark.slow


def test_demo_builds_serves_runs_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = demo._parse(
        ["--dir", str(tmp_path / "demo"), "--stations", "5", "--years", "1", "--quarters", "1"]
    )
    code = demo.run(args)
    out = capsys.readouterr().out
    assert code == 0, out
    q = Quarter.last_complete()
    assert f"pipeline succeeded for {len(PRODUCTS)} quarter × product" in out, out
    assert "rows ≥ 4, stations ≥ 4" in out  # thresholds scaled to 80 % of the mirror's stations
    db = tmp_path / "demo" / "data" / "weatherinsight.db"
    with create_engine(f"sqlite:///{db}").connect() as conn:
        names = conn.execute(
            text(
                "select distinct version_name from dataset_versions where kind='curated' and status='AVAILABLE'"
            )
        ).scalars()
        # the quarter and its months (issue #18: seasons and years need quarters the demo does not stage)
        assert sorted(names) == sorted([f"{q}_v1", *(f"{p}_v1" for p in periods_ending_in(q, ("month",)))])
        checks = conn.execute(text("select count(*) from quality_check_results")).scalar_one()
        assert checks == 45  # tests/quality: 4 checks × 7 products + 17 null checks
    # A second run reuses the mirror and changes nothing.
    assert demo.run(args) == 0
    out = capsys.readouterr().out
    assert "reusing the mirror" in out
    assert sum(
        1 for line in out.splitlines() if line.startswith("│") and str(q) in line and "unchanged" in line
    ) == len(PRODUCTS)
