"""The daily KL product end to end (issue #17): mirror → ingest → staged daily table → temperature features.

Against the real mirror server (``tests.fixtures.mirror``): ``climate/daily/kl`` is listed and fetched like an
hourly product; ``stage_daily`` writes one row per station and day with historical files claiming their range,
records staged versions and leaves unchanged quarters alone; the air_temperature curated version of a quarter
then reads the staged KL days (``tx_tn_source`` = ``daily_kl``) and names their version among its parents.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from tests.staging.conftest import put
from tests.staging.test_cli import env
from weatherinsight.aggregate import aggregate_quarter
from weatherinsight.cli import app
from weatherinsight.dwd.daily import parse_daily_produkt
from weatherinsight.dwd.products import DAILY_KL, get_product
from weatherinsight.ingest import ingest_product
from weatherinsight.mirror.layout import product_dir
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_daily, stage_product
from weatherinsight.storage.staged import read_partition
from weatherinsight.warehouse import db, lineage


def _mirror_days(root: Path) -> dict[int, set[object]]:
    """Per station, the days the mirror's daily produkt files hold (read straight from the zips)."""
    out: dict[int, set[object]] = {}
    for period in ("historical", "recent"):
        for path in product_dir(root, DAILY_KL, period).glob("*.zip"):
            with zipfile.ZipFile(path) as zf:
                member = next(n for n in zf.namelist() if n.startswith("produkt_"))
                t = parse_daily_produkt(zf.read(member), file_name=member)
            out.setdefault(t.column("station_id")[0].as_py(), set()).update(t.column("date").to_pylist())
    return out


def test_daily_kl_is_ingested_staged_and_read_by_the_features(
    mirror_settings: Settings, mirror_dir: Path
) -> None:
    settings = mirror_settings
    listed = sum(1 for p in ("historical", "recent") for _ in product_dir(mirror_dir, DAILY_KL, p).iterdir())
    ingested = ingest_product(settings, "daily_climate")
    assert (ingested.status, ingested.files_new, ingested.files_failed) == ("succeeded", listed, 0)

    first = stage_daily(settings)
    assert first.quarantined == [] and first.files_parsed == listed - 2  # minus the two station lists
    days = _mirror_days(mirror_dir)
    assert sum(first.rows_by_quarter.values()) == sum(len(d) for d in days.values())
    assert set(first.versions.values()) == {f"{q}_staged_v1" for q in first.versions}
    q = Quarter.last_complete()
    part = read_partition(settings.staged_dir, "daily_climate", q)
    assert part.schema == DAILY_KL.staged_schema
    # historical files (ending 31 Dec last year) claim their range; the overlapping recent days are not used
    staged = pa.concat_tables(
        [read_partition(settings.staged_dir, "daily_climate", Quarter.parse(k)) for k in first.versions]
    )
    this_year = pc.equal(pc.year(staged.column("date")), Quarter.last_complete().next().start.year)
    periods = pc.if_else(this_year, "recent", "historical")
    assert staged.column("source_period").to_pylist() == periods.to_pylist()
    assert staged.group_by(["station_id", "date"]).aggregate([]).num_rows == staged.num_rows
    again = stage_daily(settings)
    assert (again.rows_by_quarter, again.versions) == ({}, first.versions)
    assert sorted(again.unchanged) == sorted(first.versions)

    ingest_product(settings, "air_temperature")
    stage_product(settings, get_product("air_temperature"), quarters=[q])
    result = aggregate_quarter(settings, "air_temperature", q)
    with db.get_engine(settings.database_url).connect() as conn:
        rows = lineage.read_published(conn, "air_temperature", q)
        version = lineage.get_version_by_name(conn, "curated", "air_temperature", result.dataset_version)
    assert version is not None
    assert lineage.qualified_parent("daily_climate", first.versions[str(q)]) in version.parent_versions
    sources = {r["station_id"]: r["tx_tn_source"] for r in rows}
    full = {
        sid for sid, d in days.items() if len([x for x in d if q.start.date() <= x < q.end.date()]) == q.days
    }
    assert full and all(sources[sid] in ("daily_kl", None) for sid in full)
    assert any(sources[sid] == "daily_kl" for sid in full)


def test_a_bad_daily_zip_is_quarantined_and_the_others_are_staged(settings: Settings) -> None:
    good = DAILY_KL.recent_zip_name(2812)
    kl = Path(__file__).resolve().parents[1] / "data" / "dwd" / "lahr_02812_daily_and_hourly"
    member = "produkt_klima_tag_19500101_20181231_02812.txt"
    blob = Path(settings.data_dir) / "kl.zip"
    with zipfile.ZipFile(blob, "w") as zf:
        zf.writestr(member, (kl / member).read_bytes())
    put(settings, "daily_climate", "historical", blob, "tageswerte_KL_02812_19500101_20181231_hist.zip")
    put(settings, "daily_climate", "recent", b"not a zip", good)
    result = stage_daily(settings, quarters=[Quarter(2018, 2)])
    assert result.files_parsed == 1
    assert len(result.quarantined) == 1 and result.quarantined[0].startswith(f"recent/{good}: ")
    assert result.rows_by_quarter == {"2018Q2": 91}
    assert result.versions == {"2018Q2": "2018Q2_staged_v1"}


def test_stage_cli_stages_the_daily_product(settings: Settings) -> None:
    kl = Path(__file__).resolve().parents[1] / "data" / "dwd" / "lahr_02812_daily_and_hourly"
    member = "produkt_klima_tag_19500101_20181231_02812.txt"
    blob = Path(settings.data_dir) / "kl.zip"
    with zipfile.ZipFile(blob, "w") as zf:
        zf.writestr(member, (kl / member).read_bytes())
    put(settings, "daily_climate", "historical", blob, "tageswerte_KL_02812_19500101_20181231_hist.zip")
    args = ["stage", "--product", "daily_climate", "--quarter", "2018Q3..2018Q4"]
    res = CliRunner().invoke(app, args, env=env(settings))
    assert res.exit_code == 0, res.output
    assert "staged daily_climate: 1 files, 2 quarters written, 0 unchanged" in res.output
    assert re.search(r"2018Q3\s*│\s*92\s*│\s*2018Q3_staged_v1", res.output), res.output
    again = CliRunner().invoke(app, args, env=env(settings))
    assert "2 quarters written" not in again.output and "0 quarters written, 2 unchanged" in again.output
    bad = CliRunner().invoke(app, [*args, "--engine", "spark"], env=env(settings))
    assert bad.exit_code == 2 and "daily_climate is a daily product" in bad.output


def test_stage_daily_refuses_an_hourly_product(settings: Settings) -> None:
    with pytest.raises(ValueError, match="air_temperature is not a daily product"):
        stage_daily(settings, get_product("air_temperature"))
