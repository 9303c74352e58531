"""The processing service: raw DWD zips of one product → staged hourly Parquet (DESIGN §4/§5, issue #4).

``stage_product(settings, product, …)`` is the one entry point (CLI, pipeline and DAGs call only it):

1. **Inventory** — list the product's raw files with fsspec under ``<raw_store>/dwd/<product>/<period>/``,
   including older releases kept in ``_history/`` (release precedence needs them), and hash their bytes.
2. **Plan** — compare with the product's staging state (``<staged_dir>/<product>/_state.json``: every file's
   sha256 and the hour range it covered, every quarter's input fingerprint). A quarter is rewritten only when
   the set of files whose range touches it changed; a run with no new raw file does nothing and says so.
3. **Stage** — station by station (all files of one station → parse → precedence → per-quarter output), so
   memory is bounded by one station's files, never by the archive. Bad files are quarantined and the rest
   goes on; the run fails only above ``stage.max_failure_share``.
4. **Commit** — swap each rewritten quarter's partition atomically, record station metadata and locations,
   the staged dataset version per quarter (with its parent raw version and row count) and the new state.
   A run that fails records a FAILED staged version (with the error) for each quarter it was going to
   rewrite; the AVAILABLE version stays. ``retry_quarantined`` makes planning forget the quarantined files
   so they are parsed again (after a parser fix); those that now parse are staged and released.

Parsing is the pure ``weatherinsight.dwd.parse`` code; precedence is ``weatherinsight.precedence``; both run
unchanged inside Spark executors for ``engine="spark"`` (``weatherinsight.engines.spark_stage``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

import fsspec
import pyarrow as pa

from weatherinsight.dwd.products import PERIODS, Product, get_product
from weatherinsight.errors import DwdFormatError, RunFailedError, WeatherInsightError
from weatherinsight.logs import get_logger
from weatherinsight.precedence import SourceTable, apply_precedence, split_by_quarter
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.storage import staged as staged_store

if TYPE_CHECKING:
    from weatherinsight.dwd.parse import DroppedPeriod

log = get_logger(__name__)

Engine = Literal["duckdb", "spark"]
#: Bump when staging output for the same inputs changes (forces every quarter to be rewritten once).
STAGE_FORMAT_VERSION = "1"
STATE_FILE = "_state.json"
HISTORY_DIR = "_history"
#: A DWD zip name anywhere inside a stored name (history copies may carry a prefix or suffix).
_DWD_ZIP = re.compile(r"(stundenwerte_([A-Z0-9]{1,3})_(\d{5})_(?:akt|\d{8}_\d{8}_hist))(?:[._-][^/]*)?\.zip$")
_PRODUKT_RANGE = re.compile(r"produkt_[a-z0-9]+_stunde_(\d{8})_(\d{8})_\d{5}\.txt$")
#: The produkt entry's name range is a claim, not a fact (FORMAT §1.3); widen it by a day so the MEZ shift
#: and a last row past the named end can never escape the estimate.
_ESTIMATE_MARGIN = timedelta(days=1)


# --------------------------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class RawInput:
    """One stored raw zip of a product (current or an older release from ``_history/``). Picklable."""

    path: str  # full fsspec path
    rel: str  # relative to <raw_store>/dwd/<product>/
    file_name: str  # the DWD file name (history decorations removed)
    period: str
    station_id: int | None
    sha256: str
    size: int

    @property
    def in_history(self) -> bool:
        return f"/{HISTORY_DIR}/" in f"/{self.rel}"


@dataclass(frozen=True)
class FileOutcome:
    """What staging learned about one file: its hour range (after the MEZ shift) or why it was rejected."""

    rel: str
    sha256: str
    file_name: str
    period: str
    station_id: int | None
    ok: bool
    reason: str | None = None
    first: datetime | None = None
    last: datetime | None = None
    rows: int = 0
    release: datetime | None = None
    #: Rows the parser left out because their period's time reference (MOZ, unknown) cannot be made UTC;
    #: ``rows``, ``first`` and ``last`` describe only the rows kept.
    dropped: tuple[DroppedPeriod, ...] = ()


@dataclass(frozen=True)
class StationOutcome:
    """The result of staging one station: its merged rows plus per-file outcomes and location history."""

    station_id: int
    table: pa.Table
    files: list[FileOutcome]
    geography: list[pa.Table]


@dataclass(frozen=True)
class QuarantinedFile:
    rel: str
    file_name: str
    reason: str
    quarantine_path: str
    sha256: str = ""


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


@dataclass
class StageResult:
    """What one staging run did (the CLI prints it; the pipeline records it)."""

    product: str
    engine: str
    status: Literal["staged", "unchanged", "failed"]
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

    @property
    def rows_written(self) -> int:
        return sum(self.rows_by_quarter.values())

    @property
    def rows_dropped_time_reference(self) -> int:
        return sum(d.rows for d in self.time_reference_drops)


# --------------------------------------------------------------------------------------------- inventory


def raw_fs_options(settings: Settings) -> dict[str, Any]:
    """fsspec options for the raw store (the ingestion layer's, e.g. an S3 endpoint), if it is installed."""
    try:
        from weatherinsight.storage.raw import raw_store_options
    except ImportError:  # pragma: no cover - the raw store module ships with ingestion
        return {}
    return raw_store_options(settings)


def _raw_fs(settings: Settings) -> tuple[Any, str]:
    fs, root = fsspec.core.url_to_fs(settings.raw_store_url, **raw_fs_options(settings))
    return fs, str(root).rstrip("/")


def product_raw_root(settings: Settings, product: Product) -> tuple[Any, str]:
    fs, root = _raw_fs(settings)
    return fs, f"{root}/dwd/{product.directory}"


def dwd_file_name(stored_name: str) -> str | None:
    """The DWD zip name inside a stored name (``_history`` copies may be decorated), or None."""
    m = _DWD_ZIP.search(PurePosixPath(stored_name).name)
    return f"{m.group(1)}.zip" if m else None


def list_raw_inputs(
    settings: Settings, product: Product, *, progress: Callable[[int], None] | None = None
) -> tuple[list[RawInput], list[RawInput], list[str]]:
    """All raw zips of a product, hashed; plus unrecognised zips and the station-list paths.

    Returns ``(inputs, unrecognised, station_lists)``. Unrecognised zips (a name we cannot read, or another
    product's code) are quarantined by the caller rather than skipped silently.
    """
    fs, base = product_raw_root(settings, product)
    if not fs.exists(base):
        return [], [], []
    inputs: list[RawInput] = []
    bad: list[RawInput] = []
    lists: list[str] = []
    for path in sorted(fs.find(base)):
        rel = path[len(base) + 1 :] if path.startswith(base + "/") else PurePosixPath(path).name
        parts = rel.split("/")
        period = parts[0]
        if period not in PERIODS or len(parts) < 2:
            continue
        name = parts[-1]
        if name.startswith(".") or name.endswith(".part"):
            continue  # the raw store's in-flight temp files
        if name.lower().endswith(".txt") and "beschreibung_stationen" in name.lower():
            lists.append(path)
            continue
        if ".zip" not in name.lower():
            continue
        data = fs.cat_file(path)
        digest = hashlib.sha256(data).hexdigest()
        dwd_name = dwd_file_name(name)
        m = _DWD_ZIP.search(name)
        station = int(m.group(3)) if m else None
        item = RawInput(path, rel, dwd_name or name, period, station, digest, len(data))
        if dwd_name is None or m is None or m.group(2) != product.code:
            bad.append(item)
        else:
            inputs.append(item)
        if progress:
            progress(1)
    return inputs, bad, lists


def estimate_range(data: bytes) -> tuple[datetime, datetime] | None:
    """The hour range a zip's produkt entry name claims, widened by a margin; None when it cannot tell.

    Reads only the zip directory (no decompression), so planning a re-run costs almost nothing.
    """
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    for n in names:
        m = _PRODUKT_RANGE.search(n)
        if m:
            try:
                a = datetime.strptime(m.group(1), "%Y%m%d").replace(tzinfo=UTC)
                b = datetime.strptime(m.group(2), "%Y%m%d").replace(tzinfo=UTC) + timedelta(hours=23)
            except ValueError:
                return None
            return a - _ESTIMATE_MARGIN, b + _ESTIMATE_MARGIN
    return None


def quarters_between(first: datetime, last: datetime) -> list[Quarter]:
    q, end = Quarter.of(first), Quarter.of(last)
    out = [q]
    while out[-1] < end:
        out.append(out[-1].next())
    return out


# --------------------------------------------------------------------------------------------- per station


def parse_file(
    product: Product, item: RawInput, data: bytes, *, max_uncompressed_bytes: int
) -> tuple[SourceTable, FileOutcome, pa.Table | None]:
    """Parse one zip with the shared parser; raises ``DwdFormatError`` on bad input."""
    from weatherinsight.dwd.parse import read_produkt_zip

    pz = read_produkt_zip(
        data, file_name=item.file_name, product=product, max_uncompressed_bytes=max_uncompressed_bytes
    )
    if pz.period != item.period:
        raise DwdFormatError(
            item.rel, f"a {pz.period} file stored under {item.period}/ (the zip name and folder disagree)"
        )
    if item.station_id is not None and int(pz.station_id) != item.station_id:
        raise DwdFormatError(item.rel, f"holds station {pz.station_id}, its name says {item.station_id}")
    table = pz.table
    first = last = None
    if table.num_rows:
        import pyarrow.compute as pc

        mm = pc.min_max(table.column("ts"))
        first, last = mm["min"].as_py(), mm["max"].as_py()
    release = pz.produkt_modified
    src = SourceTable(table, item.period, item.file_name, release, item.sha256)
    outcome = FileOutcome(
        item.rel,
        item.sha256,
        item.file_name,
        item.period,
        int(pz.station_id),
        True,
        None,
        first,
        last,
        table.num_rows,
        release,
        tuple(pz.dropped),
    )
    geography = getattr(pz, "geography", None)
    return src, outcome, geography


def probe_file(product: Product, item: RawInput, data: bytes, *, max_uncompressed_bytes: int) -> FileOutcome:
    """Parse one file only to learn its hour range (or why it is bad); the rows are dropped."""
    try:
        _src, outcome, _geo = parse_file(product, item, data, max_uncompressed_bytes=max_uncompressed_bytes)
    except WeatherInsightError as exc:
        return _failure(item, str(exc))
    except _PARSE_ERRORS as exc:
        return _failure(item, f"{type(exc).__name__}: {exc}")
    return outcome


#: Errors a broken file can raise besides our typed DwdFormatError (reported as the quarantine reason).
_PARSE_ERRORS = (zipfile.BadZipFile, pa.ArrowInvalid, ValueError, KeyError, EOFError, OSError)


def _failure(item: RawInput, reason: str) -> FileOutcome:
    return FileOutcome(item.rel, item.sha256, item.file_name, item.period, item.station_id, False, reason)


def stage_station(
    product: Product,
    station_id: int,
    items: Sequence[RawInput],
    read_bytes: Callable[[str], bytes],
    *,
    max_uncompressed_bytes: int,
) -> StationOutcome:
    """Parse all files of one station and merge them by precedence (pure apart from ``read_bytes``).

    A file that fails to parse is reported (``ok=False`` with the reason) and left out; its station's other
    files still count. The DuckDB path and the Spark executors both call exactly this function.
    """
    sources: list[SourceTable] = []
    outcomes: list[FileOutcome] = []
    geography: list[pa.Table] = []
    for item in items:
        try:
            data = read_bytes(item.path)
            if hashlib.sha256(data).hexdigest() != item.sha256:
                raise DwdFormatError(item.rel, "the stored bytes changed while staging ran (sha256 differs)")
            src, outcome, geo = parse_file(product, item, data, max_uncompressed_bytes=max_uncompressed_bytes)
        except WeatherInsightError as exc:
            outcomes.append(_failure(item, str(exc)))
            continue
        except _PARSE_ERRORS as exc:
            outcomes.append(_failure(item, f"{type(exc).__name__}: {exc}"))
            continue
        sources.append(src)
        outcomes.append(outcome)
        if geo is not None and geo.num_rows:
            geography.append(geo.append_column("source_file", pa.array([item.file_name] * geo.num_rows)))
    try:
        merged, _claims = apply_precedence(sources, product)
    except DwdFormatError as exc:
        # Precedence found a duplicate hour inside one file: the whole station is unusable this run.
        return StationOutcome(
            station_id, product.staged_memory_schema.empty_table(), [_failure(i, str(exc)) for i in items], []
        )
    return StationOutcome(station_id, merged, outcomes, geography)


# --------------------------------------------------------------------------------------------- state


@dataclass
class StagingState:
    """What the previous runs staged: every file seen (by path + sha256) and every quarter's fingerprint."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # rel → outcome dict
    quarters: dict[str, dict[str, Any]] = field(default_factory=dict)  # "2021Q3" → fingerprint/rows/version

    @classmethod
    def load(cls, path: Path) -> StagingState:
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(files=raw.get("files", {}), quarters=raw.get("quarters", {}))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(
            json.dumps(
                {"files": self.files, "quarters": self.quarters}, indent=1, sort_keys=True, default=str
            ),
            encoding="utf-8",
        )
        os.replace(tmp, path)  # atomic: a crash leaves the old state, never a torn one

    def known(self, item: RawInput) -> dict[str, Any] | None:
        entry = self.files.get(item.rel)
        if entry and entry.get("sha256") == item.sha256:
            return entry
        # A file moved into _history keeps its bytes: find it by content.
        for e in self.files.values():
            if e.get("sha256") == item.sha256 and e.get("file_name") == item.file_name:
                return e
        return None


def _outcome_to_state(o: FileOutcome) -> dict[str, Any]:
    d = asdict(o)
    for k in ("first", "last", "release"):
        d[k] = d[k].isoformat() if d[k] is not None else None
    return d


def _entry_range(entry: dict[str, Any]) -> tuple[datetime, datetime] | None:
    if not entry.get("ok") or not entry.get("first") or not entry.get("last"):
        return None
    return datetime.fromisoformat(entry["first"]), datetime.fromisoformat(entry["last"])


def fingerprint(quarter: Quarter, files: Iterable[tuple[str, str, str]]) -> str:
    """Input fingerprint of one quarter: the staging format and the (sha256, period, name) of its files."""
    h = hashlib.sha256(f"stage-v{STAGE_FORMAT_VERSION}|{quarter}".encode())
    for sha, period, name in sorted(set(files)):
        h.update(f"|{sha}:{period}:{name}".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------- service


@dataclass
class _Plan:
    inputs: list[RawInput]
    new: list[RawInput]
    dirty: list[Quarter]
    parse: list[RawInput]
    #: new files that failed already while planning (their range could only be learnt by parsing)
    failed: list[FileOutcome]
    #: the hour range each file was planned with (None: no range known); for the rels in ``estimated`` it is
    #: the produkt entry name's claim widened by ``_ESTIMATE_MARGIN``, otherwise a range learnt by parsing
    ranges: dict[str, tuple[datetime, datetime] | None] = field(default_factory=dict)
    estimated: set[str] = field(default_factory=set)
    #: the input fingerprint of each dirty quarter as planned (from the ranges above)
    fingerprints: dict[Quarter, str] = field(default_factory=dict)
    #: the dirty quarters that change even by the files' own claims (the estimates without the margin):
    #: what a run that fails before learning the real ranges was going to rewrite
    claimed_changes: set[Quarter] = field(default_factory=set)

    def claimed(self, rel: str) -> tuple[datetime, datetime] | None:
        """A file's range: as parsed, or the produkt name's claim (the estimate without the margin)."""
        r = self.ranges.get(rel)
        if r is None or rel not in self.estimated:
            return r
        first, last = r[0] + _ESTIMATE_MARGIN, r[1] - _ESTIMATE_MARGIN
        return (first, last) if first <= last else None

    def claimed_quarters(self, rels: Iterable[str]) -> set[Quarter]:
        out: set[Quarter] = set()
        for rel in rels:
            r = self.claimed(rel)
            if r is not None:
                out.update(quarters_between(*r))
        return out


def _plan(
    state: StagingState,
    inputs: list[RawInput],
    read_bytes: Callable[[str], bytes],
    probe: Callable[[RawInput, bytes], FileOutcome],
    requested: set[Quarter] | None,
    staged_dir: Path,
    product: Product,
) -> _Plan:
    """Decide which quarters to rewrite and which files to parse for them (see the module doc)."""
    ranges: dict[str, tuple[datetime, datetime] | None] = {}
    estimated: set[str] = set()
    new: list[RawInput] = []
    failed: list[FileOutcome] = []
    for item in inputs:
        entry = state.known(item)
        if entry is not None:
            # Re-key by the current path: a release moved into _history keeps its bytes and its range.
            state.files[item.rel] = {**entry, "rel": item.rel}
            ranges[item.rel] = _entry_range(entry)  # None: quarantined before, or a file without rows
            continue
        new.append(item)
        data = read_bytes(item.path)
        estimate = estimate_range(data)
        if estimate is None:
            # The zip does not say what it covers: parse it now (once) rather than rewrite every quarter.
            outcome = probe(item, data)
            if not outcome.ok:
                failed.append(outcome)
            estimate = (outcome.first, outcome.last) if outcome.first and outcome.last else None
        else:
            estimated.add(item.rel)
        ranges[item.rel] = estimate
    by_quarter: dict[Quarter, list[tuple[str, str, str]]] = {}
    for item in inputs:
        r = ranges.get(item.rel)
        if r is not None:
            for q in quarters_between(*r):
                by_quarter.setdefault(q, []).append((item.sha256, item.period, item.file_name))
    candidates = set(by_quarter) | {Quarter.parse(k) for k in state.quarters}
    if requested is not None:
        candidates &= requested
    dirty: list[Quarter] = []
    planned: dict[Quarter, str] = {}
    for q in sorted(candidates):
        prev = state.quarters.get(str(q))
        has_partition = staged_store.partition_dir(staged_dir, product.name, q).is_dir()
        fp = fingerprint(q, by_quarter.get(q, []))
        if prev is None or prev.get("fingerprint") != fp:
            dirty.append(q)
            planned[q] = fp
        elif prev.get("rows", 0) and not has_partition:
            dirty.append(q)  # the partition was deleted by hand: rebuild it
            planned[q] = fp
    dirty_set = set(dirty)
    plan = _Plan(inputs, new, dirty, [], failed, ranges, estimated, planned)
    by_claim: dict[Quarter, list[tuple[str, str, str]]] = {}
    for item in inputs:
        c = plan.claimed(item.rel)
        if c is not None:
            for q in quarters_between(*c):
                by_claim.setdefault(q, []).append((item.sha256, item.period, item.file_name))
    for q in dirty:
        prev = state.quarters.get(str(q))
        if prev is None:
            changes = q in by_claim  # never staged: only if a file claims rows here
        else:
            has_partition = staged_store.partition_dir(staged_dir, product.name, q).is_dir()
            changes = prev.get("fingerprint") != fingerprint(q, by_claim.get(q, [])) or bool(
                prev.get("rows", 0) and not has_partition
            )
        if changes:
            plan.claimed_changes.add(q)
    bad = {o.rel for o in failed}
    for item in inputs:
        r = ranges.get(item.rel)
        if item.rel in bad or r is None:
            continue
        if dirty_set & set(quarters_between(*r)):
            plan.parse.append(item)
    return plan


def _group_by_station(items: Iterable[RawInput]) -> dict[int, list[RawInput]]:
    groups: dict[int, list[RawInput]] = {}
    for i in items:
        groups.setdefault(i.station_id if i.station_id is not None else -1, []).append(i)
    return dict(sorted(groups.items()))


def quarantine(settings: Settings, product: Product, item: RawInput, reason: str) -> QuarantinedFile:
    """Copy a bad file's bytes to ``<quarantine_dir>/<product>/<period>/`` with a reason file.

    The raw copy stays where it is (nothing is deleted because of bad data); the quarantine copy is named with
    the sha256 prefix so two different bad versions of one name never overwrite each other.
    """
    fs, _ = _raw_fs(settings)
    target = quarantine_path(settings, product, item)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():  # the bytes kept by an earlier run are never rewritten
        tmp = target.with_name(f".{target.name}.part")
        tmp.write_bytes(fs.cat_file(item.path))
        os.replace(tmp, target)
    target.with_name(target.name + ".reason.txt").write_text(
        f"file: {item.rel}\nsha256: {item.sha256}\nproduct: {product.name}\n"
        f"quarantined_at: {datetime.now(UTC).isoformat()}\nreason: {reason}\n",
        encoding="utf-8",
    )
    return QuarantinedFile(item.rel, item.file_name, reason, str(target), item.sha256)


def quarantine_path(settings: Settings, product: Product, item: RawInput) -> Path:
    """Where ``quarantine`` keeps a bad file's bytes (its reason file sits beside it, ``.reason.txt``)."""
    name = f"{item.sha256[:12]}_{PurePosixPath(item.rel).name}"
    return Path(settings.quarantine_dir) / product.name / item.period / name


def _note_released(settings: Settings, product: Product, item: RawInput) -> None:
    """Append to the quarantine copy's reason file that a retry staged the file (the copy itself stays)."""
    reason = quarantine_path(settings, product, item)
    reason = reason.with_name(reason.name + ".reason.txt")
    if reason.exists():
        with reason.open("a", encoding="utf-8") as fh:
            fh.write(f"released_at: {datetime.now(UTC).isoformat()} (parsed again and staged by a retry)\n")


def _forget_quarantined(state: StagingState, items: Iterable[RawInput]) -> dict[str, dict[str, Any]]:
    """Drop the state entries of the quarantined files among ``items`` so that planning parses them again.

    Returns the dropped entries by the file's current path: a file the run then does not reach (outside
    the requested quarters) gets its entry back, so it stays quarantined rather than forgotten.
    """
    retrying: dict[str, dict[str, Any]] = {}
    for item in items:
        entry = state.known(item)
        if entry is not None and not entry.get("ok"):
            retrying[item.rel] = {**entry, "rel": item.rel}
    keys = {(e.get("sha256"), e.get("file_name")) for e in retrying.values()}
    state.files = {
        rel: e
        for rel, e in state.files.items()
        if e.get("ok") or (e.get("sha256"), e.get("file_name")) not in keys
    }
    return retrying


def _quarters_to_commit(
    state: StagingState,
    inputs: Sequence[RawInput],
    dirty: Iterable[Quarter],
    rows_by_q: dict[Quarter, int],
    staged_dir: Path,
    product: Product,
) -> tuple[list[Quarter], dict[Quarter, str]]:
    """The dirty quarters whose content really changes, and every dirty quarter's actual fingerprint.

    Fingerprints come from the ranges learnt by parsing (the estimates were only for planning).
    """
    by_quarter: dict[Quarter, list[tuple[str, str, str]]] = {}
    for item in inputs:
        entry = state.files.get(item.rel) or state.known(item)
        r = _entry_range(entry) if entry else None
        if r is None:
            continue
        for q in quarters_between(*r):
            by_quarter.setdefault(q, []).append((item.sha256, item.period, item.file_name))
    to_commit: list[Quarter] = []
    fps: dict[Quarter, str] = {}
    for q in sorted(dirty):
        fps[q] = fingerprint(q, by_quarter.get(q, []))
        prev = state.quarters.get(str(q))
        has_partition = staged_store.partition_dir(staged_dir, product.name, q).is_dir()
        same = prev is not None and prev.get("fingerprint") == fps[q]
        if same and (has_partition or not rows_by_q.get(q)):
            continue  # a planning estimate said maybe; the real ranges say this quarter is unchanged
        if prev is None and not rows_by_q.get(q) and not has_partition:
            continue  # nothing was ever staged here and nothing is now
        to_commit.append(q)
    return to_commit, fps


def _current_versions(state: StagingState, requested: set[Quarter] | None) -> dict[str, str]:
    """The staged version now in place per quarter (those requested, or all)."""
    return {
        q: str(v["version"])
        for q, v in sorted(state.quarters.items())
        if v.get("version") and (requested is None or Quarter.parse(q) in requested)
    }


def stage_product(
    settings: Settings,
    product: str | Product,
    *,
    quarters: Iterable[Quarter | str] | None = None,
    engine: Engine = "duckdb",
    spark_master: str | None = None,
    progress: bool = True,
    parent_raw_version: str | None = None,
    spark_session: Any = None,
    retry_quarantined: bool = False,
) -> StageResult:
    """Stage one product's raw files into ``<staged_dir>/<product>/year=/quarter=/`` (see module doc).

    ``quarters`` limits which partitions may be written (default: every quarter the raw files cover).
    ``engine="spark"`` runs the per-station work on Spark (``spark_master`` or ``pipeline.spark.master``,
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
    t0 = time.monotonic()
    prod = product if isinstance(product, Product) else get_product(product)
    if engine not in ("duckdb", "spark"):
        raise WeatherInsightError(f"unknown staging engine {engine!r}", hint="use 'duckdb' or 'spark'")
    requested = (
        {q if isinstance(q, Quarter) else Quarter.parse(q) for q in quarters}
        if quarters is not None
        else None
    )
    staged_dir = Path(settings.staged_dir)
    state_path = staged_store.product_dir(staged_dir, prod.name) / STATE_FILE
    state = StagingState.load(state_path)
    fs, _ = _raw_fs(settings)
    max_bytes = settings.ingest.max_uncompressed_bytes
    ui = _Progress(progress)
    result = StageResult(prod.name, engine, "staged", "")
    log.info(
        "stage.start",
        product=prod.name,
        engine=engine,
        raw_store=settings.raw_store_url,
        retry_quarantined=retry_quarantined,
    )
    with ui:
        inputs, unrecognised, station_lists = list_raw_inputs(
            settings, prod, progress=ui.task("inventory (hash raw files)", None)
        )
        result.files_total = len(inputs) + len(unrecognised)
        result.quarantined_before = sum(1 for e in state.files.values() if not e.get("ok"))
        retrying = _forget_quarantined(state, [*inputs, *unrecognised]) if retry_quarantined else {}
        plan = _plan(
            state,
            inputs,
            fs.cat_file,
            lambda item, data: probe_file(prod, item, data, max_uncompressed_bytes=max_bytes),
            requested,
            staged_dir,
            prod,
        )
        new_bad = [b for b in unrecognised if state.known(b) is None]
        # A retried file is not new: its bytes are the ones quarantined before.
        result.files_new = len(plan.new) + len(new_bad) - len(retrying)
        by_rel = {i.rel: i for i in [*inputs, *unrecognised]}
        early_failures = [
            *plan.failed,
            *(
                _failure(b, f"bad DWD file {b.rel}: not a {prod.name} ({prod.code}) hourly zip name")
                for b in new_bad
            ),
        ]
        for o in early_failures:
            result.quarantined.append(quarantine(settings, prod, by_rel[o.rel], o.reason or "unknown"))
            state.files[o.rel] = _outcome_to_state(o)
        if not plan.dirty and not early_failures:
            for rel, entry in retrying.items():
                state.files.setdefault(rel, entry)  # not reached (other quarters): still quarantined
            result.status = "unchanged"
            result.message = (
                f"nothing to do: no new or changed raw files for {prod.name} "
                f"({len(inputs)} files, {len(state.quarters)} quarters already staged)"
            )
            result.quarters_unchanged = len(state.quarters)
            result.versions = _current_versions(state, requested)
            result.seconds = time.monotonic() - t0
            log.info("stage.noop", product=prod.name, files=len(inputs))
            return result

        groups = _group_by_station(plan.parse)
        result.stations = len(groups)
        dirty = set(plan.dirty)
        outcomes: list[FileOutcome] = []
        geography: list[pa.Table] = []
        to_commit: list[Quarter] | None = None
        fps: dict[Quarter, str] = {}
        committed: dict[Quarter, int] = {}
        counted_bad = [o for o in early_failures if o.rel not in retrying]

        def finish() -> None:
            """Record what was committed (versions, stations, quarantine, releases) and save the state."""
            for q, rows in committed.items():
                if rows:
                    result.quarters_written.append(str(q))
                    result.rows_by_quarter[str(q)] = rows
                else:
                    result.quarters_removed.append(str(q))
            result.quarters_unchanged = len(state.quarters) - sum(
                1 for q in committed if str(q) in state.quarters
            )
            checked = {o.rel: o for o in [*early_failures, *outcomes]}
            result.retried = sorted(rel for rel in retrying if rel in checked)
            result.released = [rel for rel in result.retried if checked[rel].ok]
            result.still_quarantined = [rel for rel in result.retried if not checked[rel].ok]
            recorded = record_run(
                settings,
                prod,
                committed=committed,
                fingerprints=fps,
                state=state,
                station_lists=station_lists,
                geography=geography,
                quarantined=result.quarantined,
                parent_raw_version=parent_raw_version,
                parsed_ok=[o for o in outcomes if o.ok],
            )
            for rel in result.released:
                _note_released(settings, prod, by_rel[rel])
            for rel, entry in retrying.items():
                state.files.setdefault(rel, entry)  # not reached (other quarters): still quarantined
            present = {i.rel for i in [*inputs, *unrecognised]}
            state.files = {rel: e for rel, e in state.files.items() if rel in present}
            result.versions = {**_current_versions(state, requested), **recorded.versions}
            result.station_rows = recorded.station_rows
            result.location_rows = recorded.location_rows
            state.save(state_path)

        writer: staged_store.PartitionSetWriter | None = None
        try:
            writer = staged_store.PartitionSetWriter(staged_dir, prod.name, prod.staged_schema)
            if engine == "spark":
                from weatherinsight.engines.spark_stage import run_spark_stage

                spark_out = run_spark_stage(
                    settings,
                    prod,
                    groups,
                    dirty,
                    writer.tmp,
                    spark_master=spark_master or settings.spark.master,
                    session=spark_session,
                )
                outcomes, geography = spark_out.outcomes, spark_out.geography
                rows_by_q = staged_store.rows_in_directory(spark_out.written_root)
            else:
                advance = ui.task("stage stations", len(groups))
                for station_id, items in groups.items():
                    out = stage_station(
                        prod, station_id, items, fs.cat_file, max_uncompressed_bytes=max_bytes
                    )
                    outcomes.extend(out.files)
                    geography.extend(out.geography)
                    for year, qn, piece in split_by_quarter(out.table):
                        q = Quarter(year, qn)
                        if q in dirty:
                            writer.append(q, piece)
                    advance(1)
                writer.close()
                rows_by_q = dict(writer.rows)
            result.files_parsed = len(outcomes)
            _report_time_reference_drops(result, outcomes)
            failed = [o for o in outcomes if not o.ok]
            for o in failed:
                result.quarantined.append(quarantine(settings, prod, by_rel[o.rel], o.reason or "unknown"))
            for o in outcomes:
                state.files[o.rel] = _outcome_to_state(o)
            # A retried file that still fails was bad before this run: it does not count against the run.
            counted = [o for o in [*outcomes, *early_failures] if o.ok or o.rel not in retrying]
            counted_bad = [o for o in counted if not o.ok]
            n_bad, n_checked = len(counted_bad), len(counted)
            share = n_bad / max(n_checked, 1)
            to_commit, fps = _quarters_to_commit(state, inputs, dirty, rows_by_q, staged_dir, prod)
            limit = settings.stage.max_failure_share
            if share > limit:
                # The state is not saved: a retry must meet the same bad files and fail the same way,
                # instead of skipping them as "known" and passing. The quarantine copies stay, and
                # raw_files records them.
                _record_quarantine_only(settings, prod, result.quarantined)
                raise RunFailedError(
                    f"staging {prod.name} failed: {n_bad} of {n_checked} files are bad ({share:.1%} > {limit:.1%}); "
                    "no partition was changed",
                    hint=f"see the quarantined files under {Path(settings.quarantine_dir) / prod.name}",
                )
            # One quarter at a time, so that a failure part-way knows exactly which quarters are in place.
            for q in to_commit:
                if engine == "spark":
                    committed.update(
                        staged_store.commit_directory_partitions(
                            staged_dir, prod.name, spark_out.written_root, [q]
                        )
                    )
                else:
                    committed.update(writer.commit([q]))
        except Exception as exc:
            if committed:
                # These partitions are already swapped in: publish them, or lineage would name data that is
                # no longer on disk.
                try:
                    finish()
                except Exception:  # recording must never hide the original error
                    log.exception("stage.partial_commit_not_recorded", product=prod.name)
            _record_failed_run(
                settings,
                prod,
                _failed_quarters(plan, dirty, to_commit, counted_bad, committed),
                {**plan.fingerprints, **fps},
                exc,
                parent_raw_version,
            )
            raise
        finally:
            if writer is not None:
                writer.cleanup()
        finish()
    result.status = "staged"
    n_q = len(result.quarters_written) + len(result.quarters_removed)
    n_retried_inputs = sum(1 for i in plan.new if i.rel in retrying)
    result.message = (
        (
            f"staged {prod.name}: {n_q} quarter(s) rewritten, {result.rows_written} rows, "
            f"{len(result.quarantined)} file(s) quarantined"
            if n_q
            else f"no partition of {prod.name} changed ({len(plan.new) - n_retried_inputs} new file(s) checked, "
            f"{len(result.quarantined)} quarantined)"
        )
        + _retry_message(result)
        + _drops_message(result)
    )
    result.seconds = time.monotonic() - t0
    log.info(
        "stage.done",
        product=prod.name,
        quarters=n_q,
        rows=result.rows_written,
        quarantined=len(result.quarantined),
        retried=len(result.retried),
        released=len(result.released),
        rows_dropped_time_reference=result.rows_dropped_time_reference,
        seconds=round(result.seconds, 2),
    )
    return result


def _failed_quarters(
    plan: _Plan,
    dirty: set[Quarter],
    to_commit: Sequence[Quarter] | None,
    counted_bad: Sequence[FileOutcome],
    committed: dict[Quarter, int],
) -> list[Quarter]:
    """The quarters a failed run was going to rewrite and did not (they get a FAILED staged version).

    Not simply the planned dirty set: the planning estimate is widened by a day, and a FAILED version on a
    neighbouring quarter whose content would not change would stay its newest version (the next good run
    finds its inputs unchanged and publishes nothing). So, when the run got as far as the real ranges:
    the quarters they say change, plus the quarters the bad files claim (where the run failed to write
    their rows); otherwise the dirty quarters that change by the files' own claims.
    """
    if to_commit is not None:
        out = set(to_commit) | (dirty & plan.claimed_quarters(o.rel for o in counted_bad))
    else:
        out = set(plan.claimed_changes)
    return sorted(q for q in out if q not in committed)


def _record_failed_run(
    settings: Settings,
    product: Product,
    quarters: Sequence[Quarter],
    fingerprints: dict[Quarter, str],
    exc: BaseException,
    parent_raw_version: str | None,
) -> None:
    """A FAILED staged version per quarter with the error (``lineage.fail_version``, as aggregation does).

    The AVAILABLE version of each quarter stays AVAILABLE (its partition was not touched); the next good
    run takes the next number. One transaction for all quarters; a recording problem is logged and never
    replaces the run's own error.
    """
    if not quarters:
        return
    from weatherinsight.warehouse import db, lineage

    error = f"{type(exc).__name__}: {exc}"[:2000]
    names: list[str] = []
    try:
        engine = db.get_engine(settings.database_url)
        db.ensure_schema(engine)
        with engine.begin() as conn:
            for q in quarters:
                v = lineage.begin_version(
                    conn,
                    settings,
                    "staged",
                    product.name,
                    q,
                    fingerprint=fingerprints.get(q) or fingerprint(q, []),
                    parents=_raw_parents(conn, product, q, parent_raw_version),
                    force=True,
                )
                names.append(lineage.fail_version(conn, v, error).version_name)
    except Exception:
        log.exception("stage.failure_not_recorded", product=product.name, quarters=[str(q) for q in quarters])
        return
    log.error("stage.failed", product=product.name, failed_versions=names, error=error)


def _raw_parents(conn: Any, product: Product, q: Quarter, parent_raw_version: str | None) -> list[str]:
    """The raw version a staged version of ``q`` comes from: the one given, or the AVAILABLE one."""
    from weatherinsight.warehouse import lineage

    if parent_raw_version and parent_raw_version.startswith(str(q)):
        return [parent_raw_version]
    raw = lineage.find_available(conn, "raw", product.name, q)
    return [raw.version_name] if raw is not None else []


def _retry_message(result: StageResult) -> str:
    if not result.retried:
        return ""
    return (
        f"; {len(result.retried)} quarantined file(s) retried: {len(result.released)} released, "
        f"{len(result.still_quarantined)} still quarantined"
    )


def _report_time_reference_drops(result: StageResult, outcomes: Sequence[FileOutcome]) -> None:
    """Collect the parser's per-period drops into the result and log one line per file and period.

    Runs on the driver for both engines (the Spark outcomes come back as side rows), so the log line is
    where the operator sees it, not on an executor.
    """
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


def _record_quarantine_only(
    settings: Settings, product: Product, quarantined: Sequence[QuarantinedFile]
) -> None:
    from weatherinsight.warehouse import db

    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    with engine.begin() as conn:
        mark_quarantined(conn, product, quarantined)


def mark_quarantined(conn: Any, product: Product, quarantined: Sequence[QuarantinedFile]) -> None:
    """``raw_files.status = 'quarantined'`` with the reason, for the rows of exactly these bytes."""
    from sqlalchemy import and_, update

    from weatherinsight.warehouse.tables import raw_files

    for qf in quarantined:
        conn.execute(
            update(raw_files)
            .where(
                and_(
                    raw_files.c.product == product.name,
                    # ``_history`` copies are stored under a decorated name; raw_files has the DWD name.
                    raw_files.c.file_name.in_(sorted({PurePosixPath(qf.rel).name, qf.file_name})),
                    raw_files.c.sha256 == qf.sha256,
                )
            )
            .values(status="quarantined", quarantine_reason=qf.reason)
        )


def release_quarantined(conn: Any, product: Product, parsed: Sequence[FileOutcome]) -> list[int]:
    """Give the quarantined ``raw_files`` rows of bytes that parsed back their ordinary status.

    The status a row has when staging never touched it: ``current``, or ``superseded`` when a newer row
    of the same file exists (ingestion records a newer release beside a quarantined row without touching
    it). The reason is cleared. Returns the ids of the released rows.
    """
    from sqlalchemy import and_, func, select, update

    from weatherinsight.warehouse.tables import raw_files

    keys: set[tuple[str, str]] = set()
    for o in parsed:
        keys.add((PurePosixPath(o.rel).name, o.sha256))
        keys.add((o.file_name, o.sha256))
    if not keys:
        return []
    rf = raw_files.c
    rows = conn.execute(
        select(rf.id, rf.period, rf.file_name, rf.sha256).where(
            rf.product == product.name, rf.status == "quarantined"
        )
    ).all()
    released: list[int] = []
    for row in rows:
        if (row.file_name, row.sha256) not in keys:
            continue
        newer = conn.execute(
            select(func.count())
            .select_from(raw_files)
            .where(
                and_(
                    rf.product == product.name,
                    rf.period == row.period,
                    rf.file_name == row.file_name,
                    rf.id > row.id,
                )
            )
        ).scalar_one()
        conn.execute(
            update(raw_files)
            .where(rf.id == row.id)
            .values(status="superseded" if newer else "current", quarantine_reason=None)
        )
        released.append(int(row.id))
    if released:
        log.info("stage.released_quarantined", product=product.name, raw_file_ids=released)
    return released


@dataclass
class _Recorded:
    versions: dict[str, str]
    station_rows: int
    location_rows: int


def record_run(
    settings: Settings,
    product: Product,
    *,
    committed: dict[Quarter, int],
    fingerprints: dict[Quarter, str],
    state: StagingState,
    station_lists: Sequence[str],
    geography: Sequence[pa.Table],
    quarantined: Sequence[QuarantinedFile],
    parent_raw_version: str | None,
    parsed_ok: Sequence[FileOutcome] = (),
) -> _Recorded:
    """Write what the run did to the warehouse, one transaction per quarter plus one for the stations.

    Per rewritten quarter: a staged dataset version (``<YEAR>Q<Q>_staged_v<N>``, AVAILABLE, the previous one
    SUPERSEDED) with its parent raw version and row count, and a ``staged_partitions`` row. Also the station
    metadata/locations upserts and ``raw_files.status = 'quarantined'`` with the reason for bad files; a
    quarantined ``raw_files`` row whose bytes parsed this run (``parsed_ok``) is released.
    """
    from weatherinsight.stations_load import load_stations
    from weatherinsight.warehouse import db, lineage
    from weatherinsight.warehouse.tables import staged_partitions

    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    versions: dict[str, str] = {}
    # One transaction for all quarters of the run: one commit instead of one per quarter.
    with engine.begin() as conn:
        for q, rows in sorted(committed.items()):
            parents = _raw_parents(conn, product, q, parent_raw_version)
            v = lineage.begin_version(
                conn, settings, "staged", product.name, q, fingerprint=fingerprints[q], parents=parents
            )
            if not v.is_noop:
                v = lineage.publish_version(conn, v, row_count=rows)
                conn.execute(
                    staged_partitions.insert().values(
                        product=product.name,
                        year=q.year,
                        quarter=q.quarter,
                        version=v.version_name,
                        row_count=rows,
                        fingerprint=fingerprints[q],
                        path=str(staged_store.partition_dir(settings.staged_dir, product.name, q)),
                        created_at=datetime.now(UTC),
                    )
                )
            versions[str(q)] = v.version_name
            state.quarters[str(q)] = {
                "fingerprint": fingerprints[q],
                "rows": rows,
                "version": v.version_name,
                "parents": parents,
            }
    fs, _ = _raw_fs(settings)
    lists = [(p, fs.cat_file(p)) for p in station_lists]
    with engine.begin() as conn:
        loaded = load_stations(conn, product.name, station_lists=lists, geography=geography)
        mark_quarantined(conn, product, quarantined)
        release_quarantined(conn, product, parsed_ok)
    return _Recorded(
        versions,
        loaded.metadata_inserted + loaded.metadata_updated,
        loaded.locations_inserted + loaded.locations_updated,
    )


class _Progress:
    """Rich progress bars for the long steps (to stderr), or nothing when ``progress=False``."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def task(self, description: str, total: int | None) -> Callable[[int], None]:
        if self._progress is None:
            return lambda _n: None
        task_id = self._progress.add_task(description, total=total)
        return lambda n: self._progress.advance(task_id, n)
