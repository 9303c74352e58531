"""What one staging run reports: ``StageResult`` (the CLI prints it, the pipeline records it) and its message.

Also the per-period rows the parser left out for an unconvertible time reference, collected on the driver
for both engines and logged there (one line per file and period), where the operator sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter
from weatherinsight.staging.quarantine import QuarantinedFile
from weatherinsight.staging.worker import FileOutcome
from weatherinsight.vocabulary import Engine, Status

log = get_logger(__name__)


@dataclass(frozen=True)
class TimeReferenceDrop:
    """Rows of one file and Metadaten_Parameter period left out of the staged output (not quarantined)."""

    rel: str
    station_id: int | None
    parameter: str
    start: date  # the period as DWD lists it (local dates)
    end: date
    reference: str  # "MOZ" or "unknown"
    info: str  # the Zusatz-Info text
    rows: int


#: Why rows were left out of the staged output (``StageResult.rows_left_out`` keys start with one of these).
FUTURE_ROWS = "timestamp in the future"
OUTSIDE_PLAN_ROWS = "outside the range of its file name, in a quarter this run does not write"


@dataclass
class StageResult:
    """What one staging run did (the CLI prints it; the pipeline records it)."""

    product: str
    engine: Engine
    status: Status
    message: str
    files_total: int = 0
    files_new: int = 0
    files_parsed: int = 0
    stations: int = 0
    quarters_written: list[str] = field(default_factory=list)
    quarters_removed: list[str] = field(default_factory=list)
    quarters_unchanged: int = 0
    rows_by_quarter: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    quarantined: list[QuarantinedFile] = field(default_factory=list)
    quarantined_before: int = 0
    station_rows: int = 0
    location_rows: int = 0
    seconds: float = 0.0
    #: Per file and period of the files parsed this run: rows left out for an unconvertible time reference.
    time_reference_drops: list[TimeReferenceDrop] = field(default_factory=list)
    #: Files parsed this run that had no row left after that (zero rows staged; not quarantined).
    files_all_rows_dropped: list[str] = field(default_factory=list)
    #: ``retry_quarantined``: the quarantined files parsed again (by current path), those that now parsed
    #: and were staged (released from quarantine), and those that failed again (still quarantined).
    retried: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    still_quarantined: list[str] = field(default_factory=list)
    #: Rows parsed but not staged, by "<reason> (<quarter>)" (bad rows and rows outside the planned range).
    rows_left_out: dict[str, int] = field(default_factory=dict)
    #: ``staged/.tmp/<product>/<run>/`` directories a killed earlier run left behind, removed by this run.
    stale_tmp_swept: list[str] = field(default_factory=list)

    @property
    def rows_written(self) -> int:
        return sum(self.rows_by_quarter.values())

    @property
    def rows_dropped_time_reference(self) -> int:
        return sum(d.rows for d in self.time_reference_drops)


def count_left_out(result: StageResult, q: Quarter, rows: int, *, asked: bool, already_staged: bool) -> None:
    """Count rows of quarter ``q`` that a run does not write, unless they are merely outside the request.

    Rows after the current quarter are bad rows (a timestamp in the future). Rows of a quarter the run
    ``asked`` for (or it asked for all) that it does not rewrite lie outside the range the plan derived from
    the file names: they are counted with that reason unless the quarter's staged partition already holds
    them (``already_staged``). Rows of quarters the caller did not ask for are not lost (a run asking for them
    stages them). A run for some quarters parses only those and the future (``worker.parse_window``), so
    rows of other quarters are never seen by it.
    """
    if q > Quarter.of(datetime.now(UTC)):
        reason = FUTURE_ROWS
    elif not asked or already_staged:
        return
    else:
        reason = OUTSIDE_PLAN_ROWS
    key = f"{reason} ({q})"
    result.rows_left_out[key] = result.rows_left_out.get(key, 0) + rows


def report_time_reference_drops(result: StageResult, outcomes: Sequence[FileOutcome]) -> None:
    """Collect the parser's per-period drops into the result and log one line per file and period."""
    for o in outcomes:
        if not o.ok or not o.dropped:
            continue
        for d in o.dropped:
            result.time_reference_drops.append(
                TimeReferenceDrop(
                    o.rel, o.station_id, d.parameter, d.start, d.end, d.reference, d.info, d.rows
                )
            )
            log.warning(
                "stage.time_reference_dropped",
                product=result.product,
                file=o.rel,
                station=o.station_id,
                parameter=d.parameter,
                period=f"{d.start.isoformat()}..{d.end.isoformat()}",
                reference=d.reference,
                zusatz_info=d.info,
                rows=d.rows,
                rows_kept=o.rows,
            )
        if o.rows == 0:
            result.files_all_rows_dropped.append(o.rel)


def success_message(result: StageResult, new_files_checked: int) -> str:
    """The one-line summary of a run that committed (possibly nothing)."""
    n_q = len(result.quarters_written) + len(result.quarters_removed)
    text = (
        f"staged {result.product}: {n_q} quarter(s) rewritten, {result.rows_written} rows, "
        f"{len(result.quarantined)} file(s) quarantined"
        if n_q
        else f"no partition of {result.product} changed ({new_files_checked} new file(s) checked, "
        f"{len(result.quarantined)} quarantined)"
    )
    return (
        text
        + _retry_message(result)
        + _drops_message(result)
        + left_out_message(result)
        + sweep_message(result)
    )


def left_out_message(result: StageResult) -> str:
    """The part of the summary counting rows parsed but not staged, with their reasons."""
    if not result.rows_left_out:
        return ""
    parts = ", ".join(f"{n} {why}" for why, n in sorted(result.rows_left_out.items()))
    return f"; {sum(result.rows_left_out.values())} row(s) left out: {parts}"


def sweep_message(result: StageResult) -> str:
    """The part of the summary naming the leftovers of killed runs that this run removed."""
    if not result.stale_tmp_swept:
        return ""
    return f"; {len(result.stale_tmp_swept)} stale temp dir(s) of killed runs removed"


def _retry_message(result: StageResult) -> str:
    if not result.retried:
        return ""
    return (
        f"; {len(result.retried)} quarantined file(s) retried: {len(result.released)} released, "
        f"{len(result.still_quarantined)} still quarantined"
    )


def _drops_message(result: StageResult) -> str:
    if not result.time_reference_drops:
        return ""
    files = len({d.rel for d in result.time_reference_drops})
    text = (
        f"; {result.rows_dropped_time_reference} row(s) of {files} file(s) left out: their time reference "
        f"({'/'.join(sorted({d.reference for d in result.time_reference_drops}))}) cannot be converted to UTC"
    )
    if result.files_all_rows_dropped:
        text += (
            f"; {len(result.files_all_rows_dropped)} file(s) had no row left "
            "(zero rows staged, not quarantined)"
        )
    return text
