"""Dataset versions and lineage: one row per raw / staged / curated version of a (product, period).

Life of a version (docs/design.md §4):

* ``begin_version`` — unchanged input fingerprint and not forced → returns the existing AVAILABLE version
  (``.is_noop`` is True; the caller does nothing). Otherwise inserts the next ``_vN`` as PENDING.
* ``publish_version`` — in the *caller's* transaction: marks the previous AVAILABLE version of the same
  kind/product/quarter SUPERSEDED and this one AVAILABLE. Loading curated rows and publishing them therefore
  commit together; readers (``published_rows_query``) see the old complete version or the new one, never a mix.
* ``fail_version`` — FAILED with the error; the previous AVAILABLE version stays visible. A failed attempt
  does not consume its number (issue #17): it is renamed ``<name>-failed<k>`` (k = 1, 2, … per number) and
  the next attempt takes the same ``_vN`` again. Rows failed before this rule keep their plain names and
  their numbers stay taken.

Names come from ``settings.versioning`` (``2024Q1_raw_v1``, ``2024Q1_staged_v1``, ``2024Q1_v1``). Raw and staged
versions are always quarters; curated ones may be any period of ``periods.py``: the period's label takes the
place of the pattern's ``{year}…{quarter}`` span (``2024-01_v1``, ``2024DJF_v1``, ``2024_v1`` beside
``2024Q1_v1``). Every function taking a ``Quarter`` also takes a ``Period``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Join, Row, Select, and_, func, select, update
from sqlalchemy.exc import IntegrityError

from weatherinsight.periods import Period, PeriodKind, as_period
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import lineage_events
from weatherinsight.warehouse.tables import curated_table, dataset_versions
from weatherinsight.warehouse.version_names import VersionError as VersionError
from weatherinsight.warehouse.version_names import check_kind, version_name
from weatherinsight.warehouse.version_names import parse_period_version_name as parse_period_version_name
from weatherinsight.warehouse.version_names import parse_version_name as parse_version_name

PENDING, AVAILABLE, FAILED, SUPERSEDED = "PENDING", "AVAILABLE", "FAILED", "SUPERSEDED"
_BEGIN_ATTEMPTS = 5


@dataclass(frozen=True)
class DatasetVersion:
    """One row of ``dataset_versions``."""

    id: int
    version_name: str
    version_number: int
    kind: str
    product: str
    year: int
    quarter: int  # the period's number within its year
    status: str
    row_count: int | None
    parent_versions: tuple[str, ...]
    input_fingerprint: str | None
    created_at: datetime
    updated_at: datetime
    error: str | None
    period_kind: PeriodKind = "quarter"

    @property
    def period(self) -> Period:
        return Period(self.period_kind, self.year, self.quarter)

    @property
    def quarter_label(self) -> str:
        """The period's label (``2024Q1`` for a quarter, ``2024-01``, ``2024DJF``, ``2024`` otherwise)."""
        return self.period.label

    @property
    def is_noop(self) -> bool:
        """True when ``begin_version`` found the inputs unchanged: nothing to build, nothing to publish."""
        return self.status == AVAILABLE

    @classmethod
    def from_row(cls, row: Row[Any]) -> DatasetVersion:
        m = row._mapping
        return cls(
            id=m["id"],
            version_name=m["version_name"],
            version_number=m["version_number"],
            kind=m["kind"],
            product=m["product"],
            year=m["year"],
            quarter=m["quarter"],
            status=m["status"],
            row_count=m["row_count"],
            parent_versions=tuple(m["parent_versions"] or ()),
            input_fingerprint=m["input_fingerprint"],
            created_at=_aware(m["created_at"]),
            updated_at=_aware(m["updated_at"]),
            error=m["error"],
            period_kind=m["period_kind"],
        )


def _aware(ts: datetime) -> datetime:
    # SQLite hands timestamps back naive; everything we store is UTC.
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _key(kind: str, product: str, quarter: Quarter | Period) -> Any:
    dv = dataset_versions.c
    p = as_period(quarter)
    return and_(
        dv.kind == kind,
        dv.product == product,
        dv.period_kind == p.kind,
        dv.year == p.year,
        dv.quarter == p.number,
    )


#: What ``fail_version`` appends to a failed attempt's name (then the attempt count): ``2024Q1_v2-failed1``.
FAILED_SUFFIX = "-failed"


def _released(dv: Any) -> Any:
    """SQL: a failed attempt whose number was given back (renamed by ``fail_version``)."""
    return and_(dv.status == FAILED, dv.version_name.like(f"%{FAILED_SUFFIX}%"))


def next_version_number(conn: Connection, kind: str, product: str, quarter: Quarter | Period) -> int:
    """1 + the highest number taken so far for (kind, product, quarter); failed attempts take none."""
    check_kind(kind)
    dv = dataset_versions.c
    current = conn.execute(
        select(func.max(dv.version_number)).where(_key(kind, product, quarter), ~_released(dv))
    ).scalar_one()
    return int(current or 0) + 1


def _give_back_number(conn: Connection, version: DatasetVersion) -> str:
    """Rename a version that is being marked FAILED to ``<name>-failed<k>``, freeing ``<name>``."""
    dv = dataset_versions.c
    earlier = conn.execute(
        select(func.count())
        .select_from(dataset_versions)
        .where(
            _key(version.kind, version.product, version.period),
            dv.version_number == version.version_number,
            _released(dv),
        )
    ).scalar_one()
    return f"{version.version_name}{FAILED_SUFFIX}{int(earlier) + 1}"


def find_available(
    conn: Connection, kind: str, product: str, quarter: Quarter | Period
) -> DatasetVersion | None:
    """The AVAILABLE (published) version of (kind, product, quarter), if any."""
    check_kind(kind)
    row = conn.execute(
        select(dataset_versions).where(_key(kind, product, quarter), dataset_versions.c.status == AVAILABLE)
    ).first()
    return DatasetVersion.from_row(row) if row is not None else None


def find_by_fingerprint(
    conn: Connection, kind: str, product: str, quarter: Quarter | Period, fingerprint: str
) -> DatasetVersion | None:
    """The newest version of (kind, product, quarter) built from exactly these inputs (any status)."""
    check_kind(kind)
    row = conn.execute(
        select(dataset_versions)
        .where(_key(kind, product, quarter), dataset_versions.c.input_fingerprint == fingerprint)
        .order_by(dataset_versions.c.version_number.desc())
        .limit(1)
    ).first()
    return DatasetVersion.from_row(row) if row is not None else None


def get_version(conn: Connection, version_id: int) -> DatasetVersion:
    row = conn.execute(select(dataset_versions).where(dataset_versions.c.id == version_id)).first()
    if row is None:
        raise VersionError(f"dataset version id {version_id} does not exist")
    return DatasetVersion.from_row(row)


def get_version_by_name(conn: Connection, kind: str, product: str, name: str) -> DatasetVersion | None:
    dv = dataset_versions.c
    row = conn.execute(
        select(dataset_versions).where(dv.kind == kind, dv.product == product, dv.version_name == name)
    ).first()
    return DatasetVersion.from_row(row) if row is not None else None


def begin_version(
    conn: Connection,
    settings: Settings,
    kind: str,
    product: str,
    quarter: Quarter | Period,
    *,
    fingerprint: str,
    parents: Iterable[str] = (),
    force: bool = False,
    name: Callable[[int], str] | None = None,
) -> DatasetVersion:
    """Start a new version, or return the AVAILABLE one when its inputs are unchanged (and not ``force``).

    The caller commits. Two concurrent callers cannot get the same name: the unique (kind, product,
    version_name) constraint makes the loser retry with the next number. ``name`` names version N when the
    settings' patterns do not apply (normals: ``version_names.normal_version_name``).
    """
    check_kind(kind)
    if not force:
        current = find_available(conn, kind, product, quarter)
        if current is not None and current.input_fingerprint == fingerprint:
            return current
    parent_list = list(parents)
    for _ in range(_BEGIN_ATTEMPTS):
        number = next_version_number(conn, kind, product, quarter)
        now = _now()
        try:
            with _statement_guard(conn):
                new_id = conn.execute(
                    dataset_versions.insert()
                    .values(
                        version_name=(
                            name(number)
                            if name is not None
                            else version_name(settings, kind, quarter, number)
                        ),
                        version_number=number,
                        kind=kind,
                        product=product,
                        year=as_period(quarter).year,
                        quarter=as_period(quarter).number,
                        period_kind=as_period(quarter).kind,
                        status=PENDING,
                        row_count=None,
                        parent_versions=parent_list,
                        input_fingerprint=fingerprint,
                        created_at=now,
                        updated_at=now,
                        error=None,
                    )
                    .returning(dataset_versions.c.id)
                ).scalar_one()
        except IntegrityError:
            continue  # someone took this number in the meantime
        started = get_version(conn, new_id)
        lineage_events.version_begun(conn, settings, started)
        return started
    raise VersionError(
        f"could not allocate a new {kind} version for {product} {quarter} after {_BEGIN_ATTEMPTS} attempts",
        hint="another process keeps creating versions; retry later",
    )


@contextmanager
def _statement_guard(conn: Connection) -> Iterator[None]:
    """Let one statement fail without losing the caller's transaction.

    PostgreSQL aborts the whole transaction on an error, so the statement runs in a SAVEPOINT there. SQLite
    only rolls back the failing statement, and pysqlite's savepoints are unreliable, so none is used.
    """
    if conn.dialect.name == "postgresql":
        with conn.begin_nested():
            yield
    else:
        yield


def _require_pending(conn: Connection, version: DatasetVersion | int) -> DatasetVersion:
    current = get_version(conn, version if isinstance(version, int) else version.id)
    if current.status != PENDING:
        raise VersionError(
            f"{current.kind} version {current.version_name} of {current.product} is {current.status}, not PENDING",
            hint="begin a new version instead",
        )
    return current


def publish_version(
    conn: Connection, version: DatasetVersion | int, *, row_count: int | None = None
) -> DatasetVersion:
    """Mark ``version`` AVAILABLE and the previous AVAILABLE one SUPERSEDED, in the caller's transaction."""
    current = _require_pending(conn, version)
    now = _now()
    # Supersede first: the partial unique index allows one AVAILABLE row per (kind, product, period).
    conn.execute(
        update(dataset_versions)
        .where(_key(current.kind, current.product, current.period), dataset_versions.c.status == AVAILABLE)
        .values(status=SUPERSEDED, updated_at=now)
    )
    values: dict[str, Any] = {"status": AVAILABLE, "updated_at": now}
    if row_count is not None:
        values["row_count"] = row_count
    conn.execute(update(dataset_versions).where(dataset_versions.c.id == current.id).values(**values))
    published = get_version(conn, current.id)
    lineage_events.version_published(conn, published)
    return published


def fail_version(conn: Connection, version: DatasetVersion | int, error: str) -> DatasetVersion:
    """Mark a PENDING version FAILED with its error and give its number back (``<name>-failed<k>``); the
    AVAILABLE version (if any) stays as it is."""
    current = _require_pending(conn, version)
    conn.execute(
        update(dataset_versions)
        .where(dataset_versions.c.id == current.id)
        .values(status=FAILED, error=error, updated_at=_now(), version_name=_give_back_number(conn, current))
    )
    failed = get_version(conn, current.id)
    # The FAIL event closes the run its START opened: same dataset name (the attempt's name before renaming).
    lineage_events.version_failed(conn, replace(failed, version_name=current.version_name), error)
    return failed


def abort_pending(
    conn: Connection, kind: str, product: str, quarter: Quarter | Period | None = None
) -> list[str]:
    """Mark the PENDING versions of (kind, product[, quarter]) FAILED as aborted; their names.

    Call it only while holding the lock of the step that creates such versions (``warehouse.locks``): then no
    live run owns a PENDING version, so each one was left by a process that was killed mid-run.
    """
    check_kind(kind)
    dv = dataset_versions.c
    stmt = select(dv.id, dv.version_name).where(dv.kind == kind, dv.product == product, dv.status == PENDING)
    if quarter is not None:
        p = as_period(quarter)
        stmt = stmt.where(dv.period_kind == p.kind, dv.year == p.year, dv.quarter == p.number)
    rows = conn.execute(stmt).all()
    for row in rows:
        conn.execute(
            update(dataset_versions)
            .where(dv.id == row.id, dv.status == PENDING)
            .values(
                status=FAILED,
                error="aborted: the run that began it ended without finishing",
                updated_at=_now(),
                version_name=_give_back_number(conn, get_version(conn, row.id)),
            )
        )
    return [r.version_name for r in rows]


def list_versions(
    conn: Connection,
    *,
    kind: str | None = None,
    product: str | None = None,
    quarter: Quarter | Period | None = None,
    statuses: Sequence[str] | None = None,
) -> list[DatasetVersion]:
    """Versions with their parents (lineage), ordered by product, quarter, kind and number."""
    dv = dataset_versions.c
    stmt = select(dataset_versions)
    if kind is not None:
        check_kind(kind)
        stmt = stmt.where(dv.kind == kind)
    if product is not None:
        stmt = stmt.where(dv.product == product)
    if quarter is not None:
        p = as_period(quarter)
        stmt = stmt.where(dv.period_kind == p.kind, dv.year == p.year, dv.quarter == p.number)
    if statuses:
        stmt = stmt.where(dv.status.in_(list(statuses)))
    stmt = stmt.order_by(dv.product, dv.year, dv.quarter, dv.kind, dv.period_kind, dv.version_number)
    return [DatasetVersion.from_row(r) for r in conn.execute(stmt)]


#: Parents of another product (``<product>/<name>``): the one definition lives with the lineage events.
qualified_parent = lineage_events.qualified_parent
split_parent = lineage_events.split_parent


def lineage(conn: Connection, version: DatasetVersion) -> list[DatasetVersion]:
    """``version`` and every ancestor reachable through ``parent_versions`` (breadth first)."""
    out = [version]
    seen = {(version.kind, version.version_name)}
    frontier = list(version.parent_versions)
    while frontier:
        product, name = split_parent(frontier.pop(0), version.product)
        row = conn.execute(
            select(dataset_versions)
            .where(dataset_versions.c.product == product, dataset_versions.c.version_name == name)
            .limit(1)
        ).first()
        if row is None:
            continue
        parent = DatasetVersion.from_row(row)
        if (parent.kind, parent.version_name) in seen:
            continue
        seen.add((parent.kind, parent.version_name))
        out.append(parent)
        frontier.extend(parent.parent_versions)
    return out


# ------------------------------------------------------------------------------------ published curated rows


def published_from(product: str) -> Join:
    """The curated table of ``product`` joined to its AVAILABLE curated versions (a FROM clause to select on).

    The join on ``dataset_versions`` (status AVAILABLE) is what makes publishing atomic for readers: the rows
    of a new version are invisible until the commit that flips its status.
    """
    table = curated_table(product)
    dv = dataset_versions.c
    return table.join(
        dataset_versions,
        and_(
            dv.kind == "curated",
            dv.product == product,
            dv.status == AVAILABLE,
            dv.version_name == table.c.dataset_version,
            dv.period_kind == table.c.period_kind,
            dv.year == table.c.year,
            dv.quarter == table.c.quarter,
        ),
    )


def published_rows_query(
    product: str, quarter: Quarter | Period | None = None, *, period_kind: PeriodKind = "quarter"
) -> Select[Any]:
    """SELECT the curated rows of ``product`` that belong to the AVAILABLE curated version of their period.

    Rows of one period kind only: ``period_kind`` (quarters unless asked), or the kind of ``quarter`` when a
    period is given. Callers add filters, order and limits (API, quality checks); all values go in as bound
    parameters.
    """
    table = curated_table(product)
    stmt = select(table).select_from(published_from(product))
    if quarter is not None:
        p = as_period(quarter)
        return stmt.where(table.c.period_kind == p.kind, table.c.year == p.year, table.c.quarter == p.number)
    return stmt.where(table.c.period_kind == period_kind)


def read_published(conn: Connection, product: str, quarter: Quarter | Period) -> list[dict[str, Any]]:
    """The published curated rows of (product, quarter or period) as dicts, ordered by station_id."""
    table = curated_table(product)
    stmt = published_rows_query(product, quarter).order_by(table.c.station_id)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def published_quarters(conn: Connection, product: str) -> list[Quarter]:
    """Quarters of ``product`` that have an AVAILABLE curated version, oldest first."""
    return [p.as_quarter() for p in published_periods(conn, product, "quarter")]


def published_periods(conn: Connection, product: str, period_kind: PeriodKind) -> list[Period]:
    """Periods of one kind of ``product`` that have an AVAILABLE curated version, oldest first."""
    dv = dataset_versions.c
    rows = conn.execute(
        select(dv.year, dv.quarter)
        .where(
            dv.kind == "curated",
            dv.product == product,
            dv.status == AVAILABLE,
            dv.period_kind == period_kind,
        )
        .order_by(dv.year, dv.quarter)
    )
    return [Period(period_kind, r.year, r.quarter) for r in rows]
