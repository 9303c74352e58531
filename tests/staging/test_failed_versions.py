"""A failed staging run leaves FAILED staged versions with its error in ``dataset_versions``.

The quarters it was going to rewrite get a FAILED attempt ``<YEAR>Q<Q>_staged_vN-failed1``; their AVAILABLE
version and partition stay (readers and the next aggregation keep using them); a failed attempt does not consume
its number (issue #17): the next good run takes ``_vN``.
Failures are real: a bad file above ``max_failure_share``, a regular file where the run's temp directory
must go, and one where a year's partition directory must go (a commit that stops part-way).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.staging.conftest import make_zip, put
from tests.staging.test_time_reference import ROWS, station_zip
from weatherinsight.dwd.products import get_product
from weatherinsight.errors import RunFailedError, StorageError
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_product
from weatherinsight.storage.staged import read_partition
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import dataset_versions

TU = "air_temperature"
QUARTERS = ["2000Q4", "2001Q1", "2001Q2", "2001Q3"]
CHANGED = station_zip(rows={**ROWS, 2001010100: 40.0})  # a new release of 4711: one value differs
BAD_4713 = make_zip(
    {
        "produkt_tu_stunde_20001231_20010701_04713.txt": (
            b"STATIONS_ID;MESS_DATUM;QN_9;TT_TU;RF_TU;eor\r\n"
            b"       4713;2001010100;    3;   1.5;  90.0;eor\r\n"
            b"       4713;2001010101;    3;  warm;  90.0;eor\r\n"
        )
    }
)


def versions(settings: Settings) -> dict[str, list[tuple[str, str, str | None]]]:
    """Staged versions per quarter: (name, status, error) in number order, then creation order."""
    out: dict[str, list[tuple[str, str, str | None]]] = {}
    with db.get_engine(settings.database_url).connect() as conn:
        rows = conn.execute(
            select(dataset_versions)
            .where(dataset_versions.c.kind == "staged")
            .order_by(
                dataset_versions.c.year,
                dataset_versions.c.quarter,
                dataset_versions.c.version_number,
                dataset_versions.c.id,  # a failed attempt and the retry that took its number back
            )
        )
        for r in rows:
            out.setdefault(f"{r.year}Q{r.quarter}", []).append((r.version_name, r.status, r.error))
    return out


def temperature_at_2001_01_01(settings: Settings) -> float:
    part = read_partition(settings.staged_dir, TU, Quarter(2001, 1)).sort_by("ts")
    return float(part.column("temperature")[0].as_py())


def test_above_the_failure_share_failed_versions_are_recorded_and_v1_stays(db_settings: Settings) -> None:
    settings = db_settings
    put(settings, TU, "recent", station_zip(), "stundenwerte_TU_04711_akt.zip")
    first = stage_product(settings, get_product(TU))
    assert first.versions == {q: f"{q}_staged_v1" for q in QUARTERS}

    put(settings, TU, "recent", CHANGED, "stundenwerte_TU_04711_akt.zip")
    put(settings, TU, "recent", BAD_4713, "stundenwerte_TU_04713_akt.zip")
    with pytest.raises(RunFailedError, match=r"1 of 2 files are bad \(50\.0% > 5\.0%\)") as caught:
        stage_product(settings, get_product(TU))
    error = f"RunFailedError: {caught.value}"
    assert "1 of 2 files are bad (50.0% > 5.0%); no partition was changed" in error
    assert versions(settings) == {
        q: [(f"{q}_staged_v1", "AVAILABLE", None), (f"{q}_staged_v2-failed1", "FAILED", error)]
        for q in QUARTERS
    }
    # Readers and the next aggregation still get v1 and its partition (the old value 4.0, not 40.0).
    with db.get_engine(settings.database_url).connect() as conn:
        current = lineage.find_available(conn, "staged", TU, Quarter(2001, 1))
    assert current is not None and current.version_name == "2001Q1_staged_v1" and current.row_count == 2
    assert temperature_at_2001_01_01(settings) == 4.0

    # DWD fixes 4713: the next run stages both stations as v2 and supersedes v1; the failed attempt stays.
    put(settings, TU, "recent", station_zip(station=4713), "stundenwerte_TU_04713_akt.zip")
    good = stage_product(settings, get_product(TU))
    assert good.quarantined == []
    assert good.versions == {q: f"{q}_staged_v2" for q in QUARTERS}
    assert good.rows_by_quarter == {"2000Q4": 6, "2001Q1": 4, "2001Q2": 4, "2001Q3": 4}
    assert versions(settings) == {
        q: [
            (f"{q}_staged_v1", "SUPERSEDED", None),
            (f"{q}_staged_v2-failed1", "FAILED", error),
            (f"{q}_staged_v2", "AVAILABLE", None),
        ]
        for q in QUARTERS
    }
    assert temperature_at_2001_01_01(settings) == 40.0


def test_an_error_while_writing_records_failed_versions_then_a_retry_works(settings: Settings) -> None:
    put(settings, TU, "recent", station_zip(), "stundenwerte_TU_04711_akt.zip")
    stage_product(settings, get_product(TU))
    put(settings, TU, "recent", CHANGED, "stundenwerte_TU_04711_akt.zip")
    # A regular file where the run's temp partitions must be created: writing the first quarter fails.
    blocker = settings.staged_dir / ".tmp" / TU
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"in the way")
    with pytest.raises(StorageError) as caught:  # the OSError, typed and naming the path (issue #14)
        stage_product(settings, get_product(TU))
    cause = caught.value.__cause__
    assert isinstance(cause, OSError) and str(blocker) in str(caught.value)
    got = versions(settings)
    assert sorted(got) == QUARTERS
    for q in QUARTERS:
        assert [(n, s) for n, s, _e in got[q]] == [
            (f"{q}_staged_v1", "AVAILABLE"),
            (f"{q}_staged_v2-failed1", "FAILED"),
        ]
        assert got[q][1][2] == f"{type(cause).__name__}: {cause}"
    assert temperature_at_2001_01_01(settings) == 4.0

    blocker.unlink()
    good = stage_product(settings, get_product(TU))
    assert good.versions == {q: f"{q}_staged_v2" for q in QUARTERS}
    assert [s for _n, s, _e in versions(settings)["2001Q1"]] == ["SUPERSEDED", "FAILED", "AVAILABLE"]
    assert temperature_at_2001_01_01(settings) == 40.0


def test_a_commit_that_stops_part_way_publishes_what_is_in_place(settings: Settings) -> None:
    put(settings, TU, "recent", station_zip(), "stundenwerte_TU_04711_akt.zip")
    # year=2001 cannot become a directory: 2000Q4 is swapped in, then 2001Q1 fails.
    blocker = settings.staged_dir / TU / "year=2001"
    blocker.parent.mkdir(parents=True)
    blocker.write_bytes(b"in the way")
    with pytest.raises(StorageError) as caught:
        stage_product(settings, get_product(TU))
    assert isinstance(caught.value.__cause__, FileExistsError)
    error = f"FileExistsError: {caught.value.__cause__}"
    assert versions(settings) == {
        "2000Q4": [("2000Q4_staged_v1", "AVAILABLE", None)],
        "2001Q1": [("2001Q1_staged_v1-failed1", "FAILED", error)],
        "2001Q2": [("2001Q2_staged_v1-failed1", "FAILED", error)],
        "2001Q3": [("2001Q3_staged_v1-failed1", "FAILED", error)],
    }
    assert read_partition(settings.staged_dir, TU, Quarter(2000, 4)).num_rows == 3

    blocker.unlink()
    good = stage_product(settings, get_product(TU))
    assert good.quarters_written == ["2001Q1", "2001Q2", "2001Q3"]
    assert good.rows_by_quarter == {"2001Q1": 2, "2001Q2": 2, "2001Q3": 2}
    assert good.versions == {
        "2000Q4": "2000Q4_staged_v1",
        "2001Q1": "2001Q1_staged_v1",
        "2001Q2": "2001Q2_staged_v1",
        "2001Q3": "2001Q3_staged_v1",
    }
    got = versions(settings)
    assert got["2000Q4"] == [("2000Q4_staged_v1", "AVAILABLE", None)]
    # the failed attempt did not consume the _v1 name (issue #17)
    assert got["2001Q2"] == [
        ("2001Q2_staged_v1-failed1", "FAILED", error),
        ("2001Q2_staged_v1", "AVAILABLE", None),
    ]


OCT = {2001100100 + h: float(h) for h in range(1, 6)}  # MEZ 01..05 → 2001-10-01 00..04 UTC (2001Q4)


@pytest.mark.parametrize("failure", ["failure share", "write error"])
def test_a_neighbouring_quarter_the_run_would_not_change_gets_no_failed_version(
    settings: Settings, failure: str
) -> None:
    """The planning estimate of 4714 (claims 2001-10-01) is widened into 2001Q3; only 2001Q4 failed."""
    put(settings, TU, "recent", station_zip(), "stundenwerte_TU_04711_akt.zip")
    put(settings, TU, "recent", station_zip(rows=OCT, station=4714), "stundenwerte_TU_04714_akt.zip")
    stage_product(settings, get_product(TU))
    changed = station_zip(rows={k: v + 10 for k, v in OCT.items()}, station=4714)
    put(settings, TU, "recent", changed, "stundenwerte_TU_04714_akt.zip")
    if failure == "failure share":
        bad = make_zip(
            {"produkt_tu_stunde_20011001_20011002_04713.txt": b"STATIONS_ID;MESS_DATUM\r\nbroken\r\n"}
        )
        put(settings, TU, "recent", bad, "stundenwerte_TU_04713_akt.zip")
        expected: type[Exception] = RunFailedError
    else:
        blocker = settings.staged_dir / ".tmp" / TU
        blocker.parent.mkdir(parents=True, exist_ok=True)
        blocker.write_bytes(b"in the way")
        expected = StorageError
    with pytest.raises(expected):
        stage_product(settings, get_product(TU))
    got = {q: [(n, s) for n, s, _e in v] for q, v in versions(settings).items()}
    assert got == {
        "2000Q4": [("2000Q4_staged_v1", "AVAILABLE")],
        "2001Q1": [("2001Q1_staged_v1", "AVAILABLE")],
        "2001Q2": [("2001Q2_staged_v1", "AVAILABLE")],
        "2001Q3": [("2001Q3_staged_v1", "AVAILABLE")],
        "2001Q4": [("2001Q4_staged_v1", "AVAILABLE"), ("2001Q4_staged_v2-failed1", "FAILED")],
    }
