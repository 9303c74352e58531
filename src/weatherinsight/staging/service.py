"""The staging service: raw DWD zips of one product → staged hourly Parquet (docs/design.md §4/§5, issue #4).

``stage_product(settings, product, …)`` is the one entry point (CLI, pipeline and DAGs call only it):

1. **Inventory** (``inventory``) — list and hash the product's raw files, ``_history/`` releases included.
2. **Plan** (``plan``) — compare with the staging state (``state``); a quarter is rewritten only when the
   set of files whose range touches it changed; a run with no new raw file does nothing and says so.
3. **Stage** (``worker``, or ``spark`` for ``engine="spark"``) — station by station (all files of one station
   → parse → precedence → per-quarter output), so memory is bounded by one station's files. Bad files are
   quarantined (``quarantine``) and the rest goes on; the run fails only above
   ``stage.max_failure_share``.
4. **Commit** — swap each rewritten quarter's partition atomically, record versions, stations and
   quarantine statuses (``record``) and save the new state. A run that fails records a FAILED staged version
   for each quarter it was going to rewrite; the AVAILABLE version stays.

The run's bookkeeping lives in ``_Run`` so that ``stage_product`` reads as the data flow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from weatherinsight.dwd.products import Product
from weatherinsight.errors import RunFailedError, StorageError, WeatherInsightError
from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter, quarters_between
from weatherinsight.settings import Settings
from weatherinsight.staging.budget import BUFFERED_ROWS
from weatherinsight.staging.inventory import Inventory, RawInput, group_by_station, list_for_run
from weatherinsight.staging.plan import Plan, failed_quarters, make_plan, quarters_to_commit
from weatherinsight.staging.precedence import split_by_quarter
from weatherinsight.staging.quarantine import note_released, quarantine
from weatherinsight.staging.record import record_failed_run, record_quarantine_only, record_run
from weatherinsight.staging.result import (
    StageResult,
    count_left_out,
    report_time_reference_drops,
    success_message,
    sweep_message,
)
from weatherinsight.staging.spark import run_spark_stage
from weatherinsight.staging.state import StagingState, state_path
from weatherinsight.staging.worker import FileOutcome, failure, parse_window, probe_file, stage_station
from weatherinsight.storage import oserrors
from weatherinsight.storage import staged as staged_store
from weatherinsight.storage.raw import raw_filesystem
from weatherinsight.vocabulary import ENGINES, Engine, ProgressCallback, ProgressEvent, Status, no_progress
from weatherinsight.warehouse import db, lineage, locks

log = get_logger(__name__)

#: The progress task reported per station on the embedded path.
STATIONS_TASK = "stage stations"


@dataclass
class _Staged:
    """What the per-station step produced: outcomes, locations, rows per quarter and how to commit one."""

    outcomes: list[FileOutcome]
    geography: list[pa.Table]
    rows_by_quarter: dict[Quarter, int]
    commit: Callable[[Quarter], dict[Quarter, int]]


@dataclass
class _Run:
    """One staging run's bookkeeping: the state it updates, the result it fills and what it committed."""

    settings: Settings
    product: Product
    engine: Engine
    requested: set[Quarter] | None
    parent_raw_version: str | None
    retry_quarantined: bool
    started: float = field(default_factory=time.monotonic)
    state: StagingState = field(default_factory=StagingState)
    result: StageResult = field(init=False)
    inventory: Inventory = field(default_factory=lambda: Inventory([], [], []))
    retrying: dict[str, dict[str, Any]] = field(default_factory=dict)
    early_failures: list[FileOutcome] = field(default_factory=list)
    outcomes: list[FileOutcome] = field(default_factory=list)
    geography: list[pa.Table] = field(default_factory=list)
    to_commit: list[Quarter] | None = None
    fingerprints: dict[Quarter, str] = field(default_factory=dict)
    committed: dict[Quarter, int] = field(default_factory=dict)
    counted_bad: list[FileOutcome] = field(default_factory=list)
    #: quarters each file was already staged into before this run (its known range; new files: none)
    staged_before: dict[str, set[Quarter]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.result = StageResult(self.product.name, self.engine, Status.SUCCEEDED, "")
        self.state = StagingState.load(self.state_path)

    @property
    def staged_dir(self) -> Path:
        return Path(self.settings.staged_dir)

    @property
    def state_path(self) -> Path:
        return state_path(self.staged_dir, self.product.name)

    @property
    def max_bytes(self) -> int:
        return self.settings.ingest.max_uncompressed_bytes

    def _quarantine(self, outcome: FileOutcome) -> None:
        by_rel = {i.rel: i for i in self.inventory.everything}
        self.result.quarantined.append(
            quarantine(self.settings, self.product, by_rel[outcome.rel], outcome.reason or "unknown")
        )

    # --- planning --------------------------------------------------------------------------------------
    def plan(self, inventory: Inventory) -> Plan:
        """Plan the run; quarantine the files that already failed (unreadable, or another product's)."""
        self.inventory = inventory
        self.result.files_total = len(inventory.everything)
        self.result.quarantined_before = self.state.quarantined_count
        if self.retry_quarantined:
            self.retrying = self.state.forget_quarantined(inventory.everything)
        fs, _ = raw_filesystem(self.settings)
        plan = make_plan(
            self.state,
            inventory.inputs,
            fs.cat_file,
            lambda item, data: probe_file(self.product, item, data, max_uncompressed_bytes=self.max_bytes),
            self.requested,
            self.staged_dir,
            self.product,
        )
        new_rels = {i.rel for i in plan.new}
        self.staged_before = {
            rel: set(quarters_between(*r))
            for rel, r in plan.ranges.items()
            if r is not None and rel not in new_rels
        }
        new_bad = [b for b in inventory.unrecognised if self.state.known(b) is None]
        # A retried file is not new: its bytes are the ones quarantined before.
        self.result.files_new = len(plan.new) + len(new_bad) - len(self.retrying)
        p = self.product
        self.early_failures = [
            *plan.failed,
            *(
                failure(b, f"bad DWD file {b.rel}: not a {p.name} ({p.code}) hourly zip name")
                for b in new_bad
            ),
        ]
        for o in self.early_failures:
            self._quarantine(o)
            self.state.remember(o)
        self.counted_bad = [o for o in self.early_failures if o.rel not in self.retrying]
        return plan

    def nothing_to_do(self) -> StageResult:
        """The result of a run that found no new or changed raw file (nothing is written)."""
        self.state.restore(self.retrying)  # not reached (other quarters): still quarantined
        r = self.result
        r.status = Status.UNCHANGED
        r.message = (
            f"nothing to do: no new or changed raw files for {self.product.name} "
            f"({len(self.inventory.inputs)} files, {len(self.state.quarters)} quarters already staged)"
        )
        r.quarters_unchanged = len(self.state.quarters)
        r.versions = self.state.current_versions(self.requested)
        r.seconds = time.monotonic() - self.started
        log.info("stage.noop", product=self.product.name, files=len(self.inventory.inputs))
        return r

    # --- staging ---------------------------------------------------------------------------------------
    def left_out(self, q: Quarter, rows: int, items: Iterable[RawInput] = ()) -> None:
        """Count rows of ``q`` this run does not write (``result.count_left_out``). The quarter's partition
        already holds them when it was staged before and one of ``items`` (the station's files) was known to
        reach into it then."""
        count_left_out(
            self.result,
            q,
            rows,
            asked=self.requested is None or q in self.requested,
            already_staged=str(q) in self.state.quarters
            and any(q in self.staged_before.get(i.rel, ()) for i in items),
        )

    def stage_embedded(
        self,
        groups: dict[int, list[RawInput]],
        dirty: set[Quarter],
        writer: staged_store.PartitionSetWriter,
        progress: ProgressCallback,
    ) -> _Staged:
        """Stage station by station in this process, appending the dirty quarters' rows to ``writer``."""
        fs, _ = raw_filesystem(self.settings)
        outcomes: list[FileOutcome] = []
        geography: list[pa.Table] = []
        window = parse_window(self.requested, datetime.now(UTC))  # the hours to parse (None: all)
        progress(ProgressEvent(STATIONS_TASK, total=len(groups)))
        # The writer's cap is this process's buffered-row budget shared with concurrent runs (``budget``).
        with BUFFERED_ROWS.share():
            for station_id, items in groups.items():
                out = stage_station(
                    self.product,
                    station_id,
                    items,
                    fs.cat_file,
                    max_uncompressed_bytes=self.max_bytes,
                    window=window,
                )
                outcomes.extend(out.files)
                geography.extend(out.geography)
                for year, qn, piece in split_by_quarter(out.table):
                    q = Quarter(year, qn)
                    if q in dirty:
                        writer.append(q, piece)
                    else:
                        self.left_out(q, piece.num_rows, items)
                progress(ProgressEvent(STATIONS_TASK, advance=1))
            writer.close()
        return _Staged(outcomes, geography, dict(writer.rows), lambda q: writer.commit([q]))

    def stage_spark(
        self,
        groups: dict[int, list[RawInput]],
        dirty: set[Quarter],
        writer: staged_store.PartitionSetWriter,
        spark_master: str | None,
        spark_session: Any,
    ) -> _Staged:
        """Stage on Spark into the writer's temp area; partitions are committed from the written directory."""
        out = run_spark_stage(
            self.settings,
            self.product,
            groups,
            dirty,
            writer.tmp,
            spark_master=spark_master or self.settings.spark.master,
            session=spark_session,
            window=parse_window(self.requested, datetime.now(UTC)),
        )
        for station_id, q, n in out.not_written:  # counted as the embedded path counts them
            self.left_out(q, n, groups.get(station_id, []))
        rows = staged_store.rows_in_directory(out.written_root)
        staged_dir, name, root = self.staged_dir, self.product.name, out.written_root
        return _Staged(
            out.outcomes,
            out.geography,
            rows,
            lambda q: staged_store.commit_directory_partitions(staged_dir, name, root, [q]),
        )

    def check(self, plan: Plan, staged: _Staged) -> list[Quarter]:
        """Quarantine the bad files, update the state and decide what to commit; fail above the share."""
        self.outcomes, self.geography = staged.outcomes, staged.geography
        r = self.result
        r.files_parsed = len(staged.outcomes)
        report_time_reference_drops(r, staged.outcomes)
        for o in staged.outcomes:
            if not o.ok:
                self._quarantine(o)
        for o in staged.outcomes:
            self.state.remember(o)
        # A retried file that still fails was bad before this run: it does not count against the run.
        counted = [o for o in [*staged.outcomes, *self.early_failures] if o.ok or o.rel not in self.retrying]
        # Pre-2017 legacy-layout files say nothing about the current files: while some file parses, they are
        # quarantined apart and left out of the share (issue #17); a product of legacy files only still fails.
        legacy = [o for o in counted if o.legacy] if any(o.ok for o in counted) else []
        counted = [o for o in counted if o not in legacy]
        self.counted_bad = [o for o in counted if not o.ok]
        n_bad, n_checked = len(self.counted_bad), len(counted)
        share = n_bad / max(n_checked, 1)
        self.to_commit, self.fingerprints = quarters_to_commit(
            self.state,
            self.inventory.inputs,
            set(plan.dirty),
            staged.rows_by_quarter,
            self.staged_dir,
            self.product,
        )
        limit = self.settings.stage.max_failure_share
        if share > limit:
            # The state is not saved: a retry must meet the same bad files and fail the same way, instead of
            # skipping them as "known" and passing. The quarantine copies stay, and raw_files records them.
            record_quarantine_only(self.settings, self.product, r.quarantined)
            raise RunFailedError(
                f"staging {self.product.name} failed: {n_bad} of {n_checked} files are bad "
                f"({share:.1%} > {limit:.1%}); no partition was changed"
                + (f" ({len(legacy)} pre-2017 legacy-layout file(s) quarantined apart)" if legacy else ""),
                hint=f"see the quarantined files under {Path(self.settings.quarantine_dir) / self.product.name}",
            )
        return self.to_commit

    # --- committing ------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Record what was committed (versions, stations, quarantine, releases) and save the state."""
        r, state = self.result, self.state
        for q, rows in self.committed.items():
            if rows:
                r.quarters_written.append(str(q))
                r.rows_by_quarter[str(q)] = rows
            else:
                r.quarters_removed.append(str(q))
        r.quarters_unchanged = len(state.quarters) - sum(
            1 for q in self.committed if str(q) in state.quarters
        )
        checked = {o.rel: o for o in [*self.early_failures, *self.outcomes]}
        r.retried = sorted(rel for rel in self.retrying if rel in checked)
        r.released = [rel for rel in r.retried if checked[rel].ok]
        r.still_quarantined = [rel for rel in r.retried if not checked[rel].ok]
        recorded = record_run(
            self.settings,
            self.product,
            committed=self.committed,
            fingerprints=self.fingerprints,
            state=state,
            station_lists=self.inventory.station_lists,
            geography=self.geography,
            quarantined=r.quarantined,
            parent_raw_version=self.parent_raw_version,
            parsed_ok=[o for o in self.outcomes if o.ok],
        )
        by_rel = {i.rel: i for i in self.inventory.everything}
        for rel in r.released:
            note_released(self.settings, self.product, by_rel[rel])
        state.restore(self.retrying)  # not reached (other quarters): still quarantined
        state.keep_only(i.rel for i in self.inventory.everything)
        r.versions = {**state.current_versions(self.requested), **recorded.versions}
        r.station_rows = recorded.station_rows
        r.location_rows = recorded.location_rows
        state.save(self.state_path)

    def fail(self, plan: Plan, exc: BaseException) -> None:
        """Publish the partitions already swapped in, then a FAILED version for the quarters not reached."""
        if self.committed:
            # These partitions are already in place: publish them, or lineage would name data that is no
            # longer on disk.
            try:
                self.finish()
            except Exception:  # recording must never hide the original error
                log.exception("stage.partial_commit_not_recorded", product=self.product.name)
        record_failed_run(
            self.settings,
            self.product,
            failed_quarters(plan, self.to_commit, self.counted_bad, self.committed),
            {**plan.fingerprints, **self.fingerprints},
            exc,
            self.parent_raw_version,
        )

    def succeed(self, plan: Plan) -> StageResult:
        r = self.result
        if r.rows_left_out:
            log.warning("stage.rows_left_out", product=self.product.name, rows=r.rows_left_out)
        r.status = Status.SUCCEEDED
        n_retried_inputs = sum(1 for i in plan.new if i.rel in self.retrying)
        r.message = success_message(r, len(plan.new) - n_retried_inputs)
        r.seconds = time.monotonic() - self.started
        log.info(
            "stage.done",
            product=self.product.name,
            quarters=len(r.quarters_written) + len(r.quarters_removed),
            rows=r.rows_written,
            quarantined=len(r.quarantined),
            retried=len(r.retried),
            released=len(r.released),
            rows_dropped_time_reference=r.rows_dropped_time_reference,
            rows_left_out=sum(r.rows_left_out.values()),
            seconds=round(r.seconds, 2),
        )
        return r


def stage_product(
    settings: Settings,
    product: Product,
    *,
    quarters: Iterable[Quarter] | None = None,
    engine: Engine = "duckdb",
    spark_master: str | None = None,
    progress: ProgressCallback = no_progress,
    parent_raw_version: str | None = None,
    spark_session: Any = None,
    retry_quarantined: bool = False,
) -> StageResult:
    """Stage one product's raw files into ``<staged_dir>/<product>/year=/quarter=/`` (see module doc).

    ``quarters`` limits which partitions may be written (default: every quarter the raw files cover).
    ``engine="spark"`` runs the per-station work on Spark (``spark_master`` or ``spark.master``,
    or the given ``spark_session``). Raises ``RunFailedError`` when more than
    ``stage.max_failure_share`` of the parsed files are bad (nothing is committed then).

    ``retry_quarantined`` parses the product's quarantined files again (normally their unchanged bytes are
    skipped): a file that now parses is staged like a new one and released (``raw_files.status`` back to
    what an unquarantined row has); one that still fails stays quarantined with the reason of this run and
    does not count against ``max_failure_share`` (it was bad before this run).

    When the run fails (above the failure share, or an error while writing or committing partitions), every
    quarter it was going to rewrite gets a FAILED staged version with the error; the AVAILABLE version of
    those quarters stays as it is, and so do their partitions.
    """
    if engine not in ENGINES:
        raise WeatherInsightError(f"unknown staging engine {engine!r}", hint="use 'duckdb' or 'spark'")
    requested = set(quarters) if quarters is not None else None
    # One staging run per product at a time (the state file and the partitions are per product): a second
    # run waits here, then finds the first one's work done and has nothing to do.
    try:
        with locks.exclusive(settings, f"stage:{product.name}"):
            return _stage_locked(
                settings,
                product,
                requested,
                engine,
                spark_master,
                progress,
                parent_raw_version,
                spark_session,
                retry_quarantined,
            )
    except OSError as exc:
        # Disk full, permission denied, read-only: the FAILED versions are already recorded (the database
        # lives elsewhere); say which path and why in one line instead of a traceback.
        raise storage_error(exc, Path(settings.staged_dir)) from exc


def storage_error(exc: OSError, fallback: Path) -> StorageError:
    """``exc`` as a typed error naming the path (the file it names, else ``fallback``) and the errno."""
    return oserrors.storage_error(
        exc,
        str(fallback),
        event="stage.storage_error",
        hint="free space or fix permissions under the staged directory, then re-run; "
        "the AVAILABLE staged versions were not touched",
    )


def _stage_locked(
    settings: Settings,
    product: Product,
    requested: set[Quarter] | None,
    engine: Engine,
    spark_master: str | None,
    progress: ProgressCallback,
    parent_raw_version: str | None,
    spark_session: Any,
    retry_quarantined: bool,
) -> StageResult:
    """``stage_product`` under the product's staging lock."""
    swept = staged_store.sweep_stale_tmp(settings.staged_dir, product.name)
    sql = db.get_engine(settings.database_url)
    db.ensure_schema(sql)
    with sql.begin() as conn:
        aborted = lineage.abort_pending(conn, "staged", product.name)
    if aborted:
        log.warning("stage.pending_aborted", product=product.name, versions=aborted)
    if swept:
        log.warning("stage.stale_tmp_swept", product=product.name, runs=swept)
    run = _Run(settings, product, engine, requested, parent_raw_version, retry_quarantined)
    log.info(
        "stage.start",
        product=product.name,
        engine=engine,
        raw_store=settings.raw_store_url,
        retry_quarantined=retry_quarantined,
    )
    run.result.stale_tmp_swept = swept
    plan = run.plan(list_for_run(settings, product, progress=progress))
    if not plan.dirty and not run.early_failures:
        done = run.nothing_to_do()
        done.message += sweep_message(done)
        return done
    groups = group_by_station(plan.parse)
    run.result.stations = len(groups)
    dirty = set(plan.dirty)
    writer: staged_store.PartitionSetWriter | None = None
    try:
        writer = staged_store.PartitionSetWriter(
            run.staged_dir, product.name, product.staged_schema, max_buffered_rows=BUFFERED_ROWS.cap
        )
        if engine == "spark":
            staged = run.stage_spark(groups, dirty, writer, spark_master, spark_session)
        else:
            staged = run.stage_embedded(groups, dirty, writer, progress)
        # One quarter at a time, so that a failure part-way knows exactly which quarters are in place.
        for q in run.check(plan, staged):
            run.committed.update(staged.commit(q))
    except Exception as exc:
        run.fail(plan, exc)
        raise
    finally:
        if writer is not None:
            writer.cleanup()
    run.finish()
    return run.succeed(plan)
