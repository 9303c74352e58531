"""Hand-built staged ``air_temperature`` rows over months, the 2024 winter (DJF) and the year 2024.

Every full day has hour 0 = base − 5, hour 1 = base + 5, the other 22 hours = base, so TG = base,
TX = base + 5, TN = base − 5 (docs/design.md §5).

* station 1: December 2023 base −2, January 2024 base −10, February 2024 base 6 (full days, nothing else);
* station 3: 24 full January days at 12.5 (one short of January's 80 % gate: ceil(0.8 × 31) = 25);
* station 4: 25 full January days at 12.5 (exactly the gate);
* station 5: 293 full days from 2024-01-01 at 1.0 (exactly the year's gate: ceil(0.8 × 366) = 293);
* station 6: 292 full days from 2024-01-01 at 1.0 (one short).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from tests.features.staged_rows import write_parquet
from weatherinsight.dwd.products import get_product
from weatherinsight.quarters import Quarter, quarters_between
from weatherinsight.storage.staged import partition_dir

PRODUCT = "air_temperature"
DEC_1 = datetime(2023, 12, 1, tzinfo=UTC)
JAN_1 = datetime(2024, 1, 1, tzinfo=UTC)
FEB_1 = datetime(2024, 2, 1, tzinfo=UTC)


def _days(station: int, first: datetime, days: int, base: float) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for day in range(days):
        start = first + timedelta(days=day)
        for h in range(24):
            value = base - 5 if h == 0 else base + 5 if h == 1 else base
            out.append({"station_id": station, "ts": start + timedelta(hours=h), "temperature": value})
    return out


def staged() -> pa.Table:
    rows = [
        *_days(1, DEC_1, 31, -2.0),
        *_days(1, JAN_1, 31, -10.0),
        *_days(1, FEB_1, 29, 6.0),
        *_days(3, JAN_1, 24, 12.5),
        *_days(4, JAN_1, 25, 12.5),
        *_days(5, JAN_1, 293, 1.0),
        *_days(6, JAN_1, 292, 1.0),
    ]
    prod = get_product(PRODUCT)
    data: dict[str, list[object]] = {
        "station_id": [r["station_id"] for r in rows],
        "ts": [r["ts"] for r in rows],
        "qn": [3] * len(rows),
        "temperature": [r["temperature"] for r in rows],
    }
    for c in prod.value_columns:
        data.setdefault(c, [None] * len(rows))
    data["source_period"] = ["historical"] * len(rows)
    data["source_file"] = [f"produkt_tu_stunde_{r['station_id']:05d}.txt" for r in rows]
    return pa.Table.from_pydict(data, schema=prod.staged_schema)


def stage_quarters(staged_dir: Path, quarters: list[Quarter] | None = None) -> list[Quarter]:
    """Write ``staged()`` split into quarterly partitions (all of 2023Q4..2024Q4 unless given); the list."""
    table = staged()
    chosen = quarters or quarters_between(DEC_1, datetime(2024, 12, 31, tzinfo=UTC))
    ts = table["ts"].to_pylist()
    for q in chosen:
        mask = pa.array([q.start <= t < q.end for t in ts])
        write_parquet(table.filter(mask), partition_dir(staged_dir, PRODUCT, q) / "part-00000.parquet")
    return chosen
