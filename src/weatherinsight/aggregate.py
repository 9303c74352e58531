"""The aggregation service: one product's staged period → curated features, versioned (issues #5, #18).

``aggregate_quarter(settings, product, period, …)`` is the one entry point (CLI, pipeline and DAGs call it).
The period is a ``Quarter`` or any ``Period`` (month, meteorological season, quarter, year; ``periods.py``):
the same feature catalog, with the coverage gates and expected hours/days of that period's length.

1. **Inputs** — the staged partitions ``<staged_dir>/<product>/year=YYYY/quarter=Q/*.parquet`` of every
   quarter the period lies in (a month: one; DJF: the previous year's Q4 and Q1; a year: four) and their
   AVAILABLE staged dataset versions; every one must be staged. The input fingerprint is the AVAILABLE staged version name (from lineage), every
   Parquet file's name, size and sha256, the feature-definition version and the §5 thresholds from the
   configuration. The engine is not an input: DuckDB and Spark give the same numbers (parity test).
   air_temperature and precipitation also read the staged daily KL partition of the quarter
   (``daily_climate``, issue #17) when there is one: its files and AVAILABLE staged version are inputs too.
2. **No-op** — when the AVAILABLE curated version was built from the same fingerprint (and not ``force``),
   nothing is computed or written.
3. **Compute** — the product's single Ibis definition (``features/``) on DuckDB (default) or Spark; nothing
   is written to the database while it runs.
4. **Publish** — ONE transaction: allocate the next ``<YEAR>Q<Q>_v<N>`` version (``2024-01_v<N>``,
   ``2024DJF_v<N>``, ``2024_v<N>`` for other periods), bulk-load its rows into the
   curated table, mark it AVAILABLE and the previous version SUPERSEDED. Readers (who join on the AVAILABLE
   version) see the old complete quarter or the new one; a crash at any point leaves the previous version
   exactly as it was (the uncommitted transaction is rolled back by the database).
   A failed computation is recorded as a FAILED version with its error, and the error is re-raised.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from weatherinsight.dwd.products import get_product
from weatherinsight.engines import duckdb as duck
from weatherinsight.engines import spark as sp
from weatherinsight.errors import WeatherInsightError
from weatherinsight.features.common import Rules
from weatherinsight.features.day_sources import daily_input
from weatherinsight.features.definitions import needs_latitude
from weatherinsight.logs import get_logger
from weatherinsight.periods import Period, as_period
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.storage.staged import list_partitions, partition_dir
from weatherinsight.vocabulary import ENGINES, Engine, Status
from weatherinsight.warehouse import db, lineage, locks
from weatherinsight.warehouse.stations import latitudes_on
from weatherinsight.warehouse.tables import curated_table

log = get_logger(__name__)

#: Bump when a feature definition changes meaning: it enters the fingerprint, so every quarter is rebuilt.
DEFINITION_VERSION = "features-v2"
KIND = "curated"


class AggregationError(WeatherInsightError):
    """Aggregating one product and period failed; names both and says what to do next."""

    def __init__(
        self, product: str, quarter: Quarter | Period, problem: str, *, hint: str | None = None
    ) -> None:
        self.product = product
        self.quarter = quarter
        super().__init__(f"aggregate {product} {quarter}: {problem}", hint=hint)


@dataclass(frozen=True)
class AggregateResult:
    """What one ``aggregate_quarter`` call did."""

    product: str
    quarter: str
    engine: str
    unchanged: bool
    dataset_version: str
    previous_version: str | None
    staged_versions: tuple[str, ...]
    rows: int
    fingerprint: str
    seconds: float
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> Status:
        """``UNCHANGED`` for a no-op, ``SUCCEEDED`` when a new version was published."""
        return Status.UNCHANGED if self.unchanged else Status.SUCCEEDED


def staged_files(settings: Settings, product: str, quarter: Quarter | Period) -> list[Path]:
    """The staged Parquet files of one product and quarter (or every quarter of a period), sorted by quarter
    then name (empty when nothing is staged)."""
    out: list[Path] = []
    for q in _quarters(quarter):
        d = partition_dir(Path(settings.staged_dir), product, q)
        out.extend(sorted(d.glob("*.parquet")) if d.is_dir() else [])
    return out


def daily_files(settings: Settings, product: str, period: Quarter | Period) -> list[Path]:
    """The staged daily KL files ``product``'s definition also reads for the period (empty: none staged, or
    the product does not use daily values)."""
    name = daily_input(product)
    return staged_files(settings, name, period) if name else []


def _quarters(period: Quarter | Period) -> list[Quarter]:
    return [period] if isinstance(period, Quarter) else period.quarters


def unstaged_quarters(settings: Settings, product: str, period: Quarter | Period) -> list[Quarter]:
    """The quarters of ``period`` with no staged Parquet (the period cannot be computed until they are)."""
    return [q for q in _quarters(period) if not staged_files(settings, product, q)]


def no_data_error(settings: Settings, product: str, period: Quarter | Period) -> AggregationError:
    """The "no data for that period" answer: says no station has staged data then, which quarters do,
    and the exact command that stages the missing one (``weatherinsight stage --product … --quarter …``)."""
    missing = unstaged_quarters(settings, product, period) or _quarters(period)
    quarter = missing[0]
    staged = list_partitions(Path(settings.staged_dir), product)
    where = f"{settings.staged_dir}/{product}/year={quarter.year}/quarter={quarter.quarter}"
    if staged:
        listed = ", ".join(str(x) for x in staged)
        have = (
            f"staged quarters: {staged[0]}..{staged[-1]} ({len(staged)})"
            if len(staged) > 3
            else (f"staged quarters: {listed}")
        )
    else:
        have = f"nothing of {product} is staged yet"
    part = "" if as_period(period).kind == "quarter" else f" (part of {period})"
    return AggregationError(
        product,
        period,
        f"no staged Parquet under {where}: no station has {product} data staged for {quarter}{part}; {have}",
        hint=(
            f"run `weatherinsight stage --product {product} --quarter {quarter}` first; "
            "if staging finds no file covering the quarter, DWD has no data for it"
        ),
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_fingerprint(files: Sequence[Path], staged_versions: Sequence[str], rules: Rules) -> str:
    """sha256 over what decides the curated numbers: staged version(s), file bytes, definitions, thresholds
    (and the period, for periods other than quarters: one quarter's files also feed its months)."""
    payload: dict[str, Any] = {
        "definition": DEFINITION_VERSION,
        "staged_versions": sorted(staged_versions),
        "files": [(f.name, f.stat().st_size, _sha256(f)) for f in files],
        "rules": [rules.min_valid_hours_per_day, rules.min_hourly_coverage, rules.min_daily_coverage],
    }
    if rules.latitudes:  # only products that read a station fact; the others keep their fingerprints
        payload["latitudes"] = [list(x) for x in rules.latitudes]
    period = as_period(rules.period)
    if period.kind != "quarter":  # quarters keep the fingerprint they were published with
        payload["period"] = period.label
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def compute_features(
    settings: Settings,
    product: str,
    quarter: Quarter | Period,
    files: Sequence[Path],
    *,
    engine: Engine = "duckdb",
    spark_master: str | None = None,
    spark_session: Any = None,
    rules: Rules | None = None,
    daily: Sequence[Path] = (),
) -> pa.Table:
    """Run the product's definition on one engine: station_id, coverage columns and features as Arrow
    (``daily``: the quarter's staged daily KL files, ``daily_files``)."""
    rules = rules or Rules.from_config(quarter, settings.features)
    if engine == "duckdb":
        return duck.compute(
            files,
            product,
            rules,
            daily=daily,
            memory_limit=settings.duckdb.memory_limit,
            spill_dir=settings.data_dir / "tmp" / "duckdb",
            threads=settings.duckdb.threads,
        )
    session = spark_session or sp.shared_session(settings, spark_master, app_name="weatherinsight-aggregate")
    return sp.compute(session, files, product, rules, daily=daily)


def curated_rows(
    features: pa.Table, quarter: Quarter | Period, dataset_version: str, computed_at: datetime
) -> pa.Table:
    """Engine output + the key and version columns, in the curated table's column order (docs/design.md §4)."""
    n = features.num_rows
    p = as_period(quarter)
    cols: dict[str, pa.Array | pa.ChunkedArray] = {
        "station_id": features["station_id"],
        "year": pa.array([p.year] * n, pa.int32()),
        "quarter": pa.array([p.number] * n, pa.int32()),
        "dataset_version": pa.array([dataset_version] * n, pa.string()),
    }
    for name in features.column_names[1:8]:  # the coverage columns
        cols[name] = features[name]
    cols["computed_at"] = pa.array([computed_at] * n, pa.timestamp("us", tz="UTC"))
    for name in features.column_names[8:]:
        cols[name] = features[name]
    cols["period_kind"] = pa.array([p.kind] * n, pa.string())
    return pa.table(cols)


def _staged_versions(
    conn: Any, product: str, period: Quarter | Period, requested: str | None
) -> tuple[list[str], list[str]]:
    """(parent version names, names that enter the fingerprint) of the staged input (every quarter's)."""
    if isinstance(period, Period) and period.kind != "quarter":
        parents: list[str] = []
        for q in period.quarters:
            current = lineage.find_available(conn, "staged", product, q)
            if current is not None:
                parents.append(current.version_name)
        if requested and requested not in parents:
            raise AggregationError(
                product,
                period,
                f"staged version {requested} is not one of the current ones ({', '.join(parents) or 'none'})",
                hint="omit the staged version or re-stage",
            )
        return parents, parents
    quarter = as_period(period).as_quarter()
    current = lineage.find_available(conn, "staged", product, quarter)
    if current is None:
        # staged outside the pipeline (no lineage row): the caller's name is recorded as the parent, but only
        # the file bytes identify the input, so a different label alone does not force a rebuild
        return ([requested] if requested else []), []
    if requested and requested != current.version_name:
        raise AggregationError(
            product,
            quarter,
            f"staged version {requested} is not the current one ({current.version_name})",
            hint="only the AVAILABLE staged version is on disk; omit the staged version or re-stage",
        )
    return [current.version_name], [current.version_name]


def _daily_parents(conn: Any, product: str, period: Quarter | Period) -> list[str]:
    """The AVAILABLE staged daily KL versions (one per quarter of the period) the product's definition reads,
    as qualified parent names."""
    name = daily_input(product)
    if name is None:
        return []
    found = (lineage.find_available(conn, "staged", name, q) for q in _quarters(period))
    return [lineage.qualified_parent(v.product, v.version_name) for v in found if v is not None]


def aggregate_quarter(
    settings: Settings,
    product: str,
    quarter: Quarter | Period,
    *,
    engine: Engine = "duckdb",
    force: bool = False,
    staged_version: str | None = None,
    output_version: str | None = None,
    spark_master: str | None = None,
    spark_session: Any = None,
) -> AggregateResult:
    """Compute and publish the curated features of one product and quarter or period (module docstring).

    ``staged_version`` must name the AVAILABLE staged version when given; ``output_version`` must be the
    name this run would publish (``<YEAR>Q<Q>_v<N>``, ``2024-01_v<N>``, …), else an ``AggregationError`` is raised before
    anything is computed. ``spark_session`` lets callers (tests, a long-lived driver) reuse a session.
    """
    started = time.monotonic()
    prod = get_product(product)
    q = quarter
    if engine not in ENGINES:
        raise AggregationError(prod.name, q, f"unknown engine {engine!r}", hint=f"use one of {ENGINES}")
    files = staged_files(settings, prod.name, q)
    if not files or unstaged_quarters(settings, prod.name, q):
        raise no_data_error(settings, prod.name, q)
    sql = db.get_engine(settings.database_url)
    db.ensure_schema(sql)
    # One aggregation per product and quarter at a time: a second runner waits here, then repeats the
    # "unchanged" check below inside the lock and finds the first one's version (no second version).
    with locks.exclusive(settings, f"aggregate:{prod.name}:{q}"):
        return _aggregate_locked(
            settings,
            prod.name,
            q,
            engine=engine,
            force=force,
            staged_version=staged_version,
            output_version=output_version,
            spark_master=spark_master,
            spark_session=spark_session,
            started=started,
        )


def _aggregate_locked(
    settings: Settings,
    product: str,
    q: Quarter | Period,
    *,
    engine: Engine,
    force: bool,
    staged_version: str | None,
    output_version: str | None,
    spark_master: str | None,
    spark_session: Any,
    started: float,
) -> AggregateResult:
    """Steps 1–4 of the module docstring, under the (product, quarter) aggregation lock."""
    prod = get_product(product)
    files = staged_files(settings, prod.name, q)  # again: a stage run may have swapped them while we waited
    kl_files = daily_files(settings, prod.name, q)
    sql = db.get_engine(settings.database_url)
    rules = Rules.from_config(q, settings.features, _latitudes(sql, prod.name, q, files))

    with sql.begin() as conn:
        aborted = lineage.abort_pending(conn, KIND, prod.name, q)
    if aborted:
        log.warning("aggregate_pending_aborted", product=prod.name, quarter=str(q), versions=aborted)
    with sql.connect() as conn:
        staged, recorded = _staged_versions(conn, prod.name, q, staged_version)
        kl_parents = _daily_parents(conn, prod.name, q) if kl_files else []
        staged, recorded = [*staged, *kl_parents], [*recorded, *kl_parents]
        fp = input_fingerprint([*files, *kl_files], recorded, rules)
        current = lineage.find_available(conn, KIND, prod.name, q)
        next_name = lineage.version_name(
            settings, KIND, q, lineage.next_version_number(conn, KIND, prod.name, q)
        )
    previous = current.version_name if current else None
    if current is not None and not force and current.input_fingerprint == fp:
        if output_version and output_version != current.version_name:
            raise AggregationError(
                prod.name,
                q,
                f"inputs unchanged since {current.version_name}; refusing to publish {output_version}",
                hint="pass --force to rebuild, or omit --output-version",
            )
        log.info("aggregate_unchanged", product=prod.name, quarter=str(q), version=current.version_name)
        return AggregateResult(
            prod.name,
            str(q),
            engine,
            True,
            current.version_name,
            previous,
            tuple(staged),
            int(current.row_count or 0),
            fp,
            time.monotonic() - started,
            tuple(f.name for f in files),
        )
    if output_version and output_version != next_name:
        raise AggregationError(
            prod.name,
            q,
            f"requested output version {output_version} but the next version is {next_name}",
            hint="omit --output-version to take the next version name",
        )

    log.info("aggregate_start", product=prod.name, quarter=str(q), engine=engine, files=len(files))
    try:
        features = compute_features(
            settings,
            prod.name,
            q,
            files,
            engine=engine,
            spark_master=spark_master,
            spark_session=spark_session,
            rules=rules,
            daily=kl_files,
        )
    except Exception as exc:
        _record_failure(settings, prod.name, q, fp, staged, force, exc)
        if isinstance(exc, WeatherInsightError):
            raise
        raise AggregationError(prod.name, q, f"{engine} computation failed: {exc}") from exc

    table = curated_table(prod.name)
    with sql.begin() as conn:
        # Not forced unless the caller forced: begin_version repeats the "unchanged" check in this transaction.
        version = lineage.begin_version(
            conn, settings, KIND, prod.name, q, fingerprint=fp, parents=staged, force=force
        )
        if version.is_noop:
            log.info("aggregate_unchanged", product=prod.name, quarter=str(q), version=version.version_name)
            return AggregateResult(
                prod.name,
                str(q),
                engine,
                True,
                version.version_name,
                previous,
                tuple(staged),
                int(version.row_count or 0),
                fp,
                time.monotonic() - started,
                tuple(f.name for f in files),
            )
        rows = curated_rows(features, q, version.version_name, datetime.now(UTC))
        written = db.bulk_insert(conn, table, rows)
        lineage.publish_version(conn, version, row_count=written)
    log.info(
        "aggregate_published",
        product=prod.name,
        quarter=str(q),
        version=version.version_name,
        superseded=previous,
        rows=written,
    )
    return AggregateResult(
        prod.name,
        str(q),
        engine,
        False,
        version.version_name,
        previous,
        tuple(staged),
        written,
        fp,
        time.monotonic() - started,
        tuple(f.name for f in files),
    )


def _latitudes(sql: Any, product: str, q: Quarter | Period, files: Sequence[Path]) -> dict[int, float]:
    """Latitudes valid on the period's last day of the stations in the staged files, for the definitions
    that need them (sun). Only those stations: their locations come from this product's own zips, so the
    fingerprint does not change when another product's staging adds stations to ``station_locations``."""
    if not needs_latitude(product):
        return {}
    ids = set(pq.read_table(files, columns=["station_id"]).column("station_id").unique().to_pylist())
    with sql.connect() as conn:
        known = latitudes_on(conn, (q.end - timedelta(days=1)).date())
    return {sid: lat for sid, lat in known.items() if sid in ids}


def _record_failure(
    settings: Settings,
    product: str,
    quarter: Quarter | Period,
    fp: str,
    staged: Sequence[str],
    force: bool,
    exc: BaseException,
) -> None:
    """A FAILED version with the error, so the failure is visible in lineage; the AVAILABLE one stays."""
    try:
        with db.get_engine(settings.database_url).begin() as conn:
            v = lineage.begin_version(
                conn, settings, KIND, product, quarter, fingerprint=fp, parents=staged, force=True
            )
            lineage.fail_version(conn, v, f"{type(exc).__name__}: {exc}"[:2000])
    except Exception:  # recording must never hide the original error
        log.exception("aggregate_failure_not_recorded", product=product, quarter=str(quarter))
