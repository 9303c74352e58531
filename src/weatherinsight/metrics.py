"""Pipeline run metrics, written as a Prometheus textfile (``<metrics_dir>/weatherinsight_pipeline.prom``).

Why a textfile and not a Pushgateway: pipeline steps run in short-lived processes (CLI runs, Airflow
Celery tasks on several workers). A textfile needs no network service to be up while the pipeline runs,
survives restarts of the monitoring stack, and is trivially testable. In the compose stack every
container that runs pipeline code mounts the same ``metrics`` volume at ``WEATHERINSIGHT_METRICS_DIR``
and a ``node-exporter`` with its textfile collector serves the file to Prometheus
(see ``deploy/docker-compose.yml`` and ``docs/runbook.md``).

The file holds the whole state: each call takes an exclusive ``flock`` on a lock file beside it, reads
the current samples back (``prometheus_client``'s parser), updates them and replaces the file atomically
(temp file in the same directory, ``fsync``, ``os.replace``). Concurrent writers from several processes
therefore never lose an update and readers never see a half-written file.

Public API (the pipeline calls these; both return the path written, or ``None`` after logging
``metrics_write_failed`` when the directory is not writable — metrics never fail a data step):

* ``record_step(settings, *, stage, product, quarter, status, files=0, bytes_=0, rows=0, quarantined=0,
  duration_s=0.0)`` — once per finished step (ingest / stage / aggregate / quality …) of one product
  and quarter, whatever its outcome.
* ``record_published(settings, product, quarter, *, dataset_version=None)`` — when a curated version of
  (product, quarter) became AVAILABLE. Keeps the newest quarter per product: publishing an older quarter
  in a backfill does not move "latest" backwards.
* ``step_timer(settings, *, stage, product, quarter)`` — a context manager that measures the duration and
  records ``success`` (or ``failed`` and re-raises when the block raises).

Exported metric families (``EXPORTED_METRICS``; label sets in brackets):

=====================================================================  =======  ==============================
name                                                                   type     labels
=====================================================================  =======  ==============================
weatherinsight_pipeline_step_files                                     gauge    stage, product, quarter
weatherinsight_pipeline_step_bytes                                     gauge    stage, product, quarter
weatherinsight_pipeline_step_rows                                      gauge    stage, product, quarter
weatherinsight_pipeline_step_quarantined_files                         gauge    stage, product, quarter
weatherinsight_pipeline_step_duration_seconds                          gauge    stage, product, quarter
weatherinsight_pipeline_step_last_run_timestamp_seconds                gauge    stage, product, quarter
weatherinsight_pipeline_step_status                                    gauge    stage, product, quarter, status
weatherinsight_pipeline_step_runs_total                                counter  stage, product, status
weatherinsight_pipeline_files_total                                    counter  stage, product
weatherinsight_pipeline_bytes_total                                    counter  stage, product
weatherinsight_pipeline_rows_total                                     counter  stage, product
weatherinsight_pipeline_quarantined_files_total                        counter  stage, product
weatherinsight_pipeline_duration_seconds_total                         counter  stage, product
weatherinsight_pipeline_latest_published_quarter_info                  gauge    product, quarter, dataset_version
weatherinsight_pipeline_latest_published_quarter_end_timestamp_seconds gauge    product
weatherinsight_pipeline_published_timestamp_seconds                    gauge    product
=====================================================================  =======  ==============================

``step_*`` gauges describe the last run of that (stage, product, quarter); ``step_status`` is 1 for the
last status and 0 for the other two; the ``*_total`` counters accumulate over all runs (use ``rate()``/
``increase()``). Data freshness per product is ``time() -
weatherinsight_pipeline_latest_published_quarter_end_timestamp_seconds`` (end = first instant of the next
quarter, UTC).
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from weatherinsight.dwd.products import DAILY_PRODUCTS, PRODUCTS
from weatherinsight.errors import UnknownProductError
from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings

__all__ = [
    "ALL_PRODUCTS",
    "ALL_QUARTERS",
    "EXPORTED_METRICS",
    "METRICS_FILE_NAME",
    "STATUSES",
    "StepStatus",
    "StepTimer",
    "metrics_dir",
    "metrics_file",
    "record_published",
    "record_step",
    "step_timer",
]

log = get_logger(__name__)

METRICS_FILE_NAME = "weatherinsight_pipeline.prom"
_LOCK_FILE_NAME = ".weatherinsight_pipeline.lock"

StepStatus = Literal["success", "failed", "skipped"]
#: ``skipped`` = the step was a no-op (inputs unchanged, nothing to do).
STATUSES: tuple[StepStatus, ...] = ("success", "failed", "skipped")
#: Product label for steps that span all products (e.g. the quality checks of a quarter).
ALL_PRODUCTS = "all"
#: Quarter label for steps not tied to one quarter (e.g. ingesting a whole product).
ALL_QUARTERS = "all"

_STAGE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_STEP = ("stage", "product", "quarter")
_TOTAL = ("stage", "product")


@dataclass(frozen=True)
class _Family:
    name: str  # family name; counters are exposed with a ``_total`` suffix
    kind: Literal["gauge", "counter"]
    help: str
    labels: tuple[str, ...]

    @property
    def sample_name(self) -> str:
        return self.name + "_total" if self.kind == "counter" else self.name


_P = "weatherinsight_pipeline_"
_FAMILIES: tuple[_Family, ...] = (
    _Family(_P + "step_files", "gauge", "Files handled by the last run of this step.", _STEP),
    _Family(_P + "step_bytes", "gauge", "Bytes handled by the last run of this step.", _STEP),
    _Family(_P + "step_rows", "gauge", "Rows written by the last run of this step.", _STEP),
    _Family(_P + "step_quarantined_files", "gauge", "Files quarantined by the last run of this step.", _STEP),
    _Family(
        _P + "step_duration_seconds", "gauge", "Wall-clock duration of the last run of this step.", _STEP
    ),
    _Family(
        _P + "step_last_run_timestamp_seconds",
        "gauge",
        "Unix time the last run of this step finished.",
        _STEP,
    ),
    _Family(
        _P + "step_status",
        "gauge",
        "1 for the status of the last run of this step, 0 otherwise.",
        (*_STEP, "status"),
    ),
    _Family(_P + "step_runs", "counter", "Finished step runs by outcome.", ("stage", "product", "status")),
    _Family(_P + "files", "counter", "Files handled, over all runs.", _TOTAL),
    _Family(_P + "bytes", "counter", "Bytes handled, over all runs.", _TOTAL),
    _Family(_P + "rows", "counter", "Rows written, over all runs.", _TOTAL),
    _Family(_P + "quarantined_files", "counter", "Files quarantined, over all runs.", _TOTAL),
    _Family(_P + "duration_seconds", "counter", "Seconds spent in steps, over all runs.", _TOTAL),
    _Family(
        _P + "latest_published_quarter_info",
        "gauge",
        "Always 1; labels name the newest published quarter and its dataset version per product.",
        ("product", "quarter", "dataset_version"),
    ),
    _Family(
        _P + "latest_published_quarter_end_timestamp_seconds",
        "gauge",
        "Unix time of the (exclusive) end of the newest published quarter per product.",
        ("product",),
    ),
    _Family(
        _P + "published_timestamp_seconds",
        "gauge",
        "Unix time the newest published quarter of the product was published.",
        ("product",),
    ),
)
_BY_SAMPLE: dict[str, _Family] = {f.sample_name: f for f in _FAMILIES}

#: Every sample name this module writes (counters with their ``_total`` suffix), for dashboards and tests.
EXPORTED_METRICS: tuple[str, ...] = tuple(f.sample_name for f in _FAMILIES)

_Labels = tuple[tuple[str, str], ...]
_State = dict[str, dict[_Labels, float]]


def metrics_dir(settings: Settings) -> Path:
    """The directory holding the textfile: ``settings.metrics_dir`` or ``<data_dir>/metrics``."""
    return settings.metrics_dir if settings.metrics_dir is not None else settings.data_dir / "metrics"


def metrics_file(settings: Settings) -> Path:
    """The textfile path (``weatherinsight_pipeline.prom`` in :func:`metrics_dir`)."""
    return metrics_dir(settings) / METRICS_FILE_NAME


def _quarter_label(quarter: Quarter | str | None) -> str:
    if quarter is None:
        return ALL_QUARTERS
    return str(quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter))


def _check_product(product: str, *, allow_all: bool) -> str:
    if product in PRODUCTS or product in DAILY_PRODUCTS or (allow_all and product == ALL_PRODUCTS):
        return product
    known = [*PRODUCTS, *DAILY_PRODUCTS]
    raise UnknownProductError(product, known + ([ALL_PRODUCTS] if allow_all else []))


def _key(**labels: str) -> _Labels:
    return tuple(sorted(labels.items()))


#: The state this process last read or wrote, by textfile path, with the file's (inode, mtime, size) then.
#: Parsing the textfile is most of a step's recording cost once it holds many quarters (a full load writes
#: thousands of series, and every step re-read them all); an unchanged file is not parsed again.
_LAST_STATE: dict[Path, tuple[tuple[int, int, int], _State]] = {}


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _copy(state: _State) -> _State:
    return {name: dict(samples) for name, samples in state.items()}


def _read_state_cached(path: Path) -> _State:
    """``_read_state``, skipping the parse when the file is the one this process last read or wrote."""
    stamp = _stamp(path)
    last = _LAST_STATE.get(path)
    if stamp is not None and last is not None and last[0] == stamp:
        return _copy(last[1])
    return _read_state(path)


def _read_state(path: Path) -> _State:
    state: _State = {f.sample_name: {} for f in _FAMILIES}
    if not path.exists():
        return state
    text = path.read_text(encoding="utf-8")
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in state:
                    state[sample.name][_key(**sample.labels)] = float(sample.value)
    except ValueError as exc:
        # Only a foreign or hand-edited file gets here (our writes are atomic); start again, loudly.
        log.error("metrics_file_unreadable", path=str(path), error=str(exc), action="starting a fresh file")
        return {f.sample_name: {} for f in _FAMILIES}
    return state


class _StateCollector(Collector):
    def __init__(self, state: _State) -> None:
        self._state = state

    def collect(self) -> Iterable[Metric]:
        for fam in _FAMILIES:
            metric: GaugeMetricFamily | CounterMetricFamily
            if fam.kind == "counter":
                metric = CounterMetricFamily(fam.name, fam.help, labels=fam.labels)
            else:
                metric = GaugeMetricFamily(fam.name, fam.help, labels=fam.labels)
            for key, value in sorted(self._state[fam.sample_name].items()):
                labels = dict(key)
                metric.add_metric([labels.get(name, "") for name in fam.labels], value)
            yield metric


def _write_atomic(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # node-exporter runs as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _locked_state(settings: Settings) -> Iterator[_State]:
    """Yield the current state under an exclusive lock; write it back when the block ends normally."""
    directory = metrics_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / METRICS_FILE_NAME
    with open(directory / _LOCK_FILE_NAME, "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            state = _read_state_cached(path)
            yield state
            registry = CollectorRegistry(auto_describe=False)
            registry.register(_StateCollector(state))
            _write_atomic(path, generate_latest(registry))
            stamp = _stamp(path)
            if stamp is not None:
                _LAST_STATE[path] = (stamp, _copy(state))
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _add(state: _State, sample: str, key: _Labels, amount: float) -> None:
    state[sample][key] = state[sample].get(key, 0.0) + amount


def record_step(
    settings: Settings,
    *,
    stage: str,
    product: str,
    quarter: Quarter | str | None,
    status: StepStatus,
    files: int = 0,
    bytes_: int = 0,
    rows: int = 0,
    quarantined: int = 0,
    duration_s: float = 0.0,
) -> Path | None:
    """Record one finished run of a pipeline step (call it for every outcome, failures included).

    ``stage``: lower-case step name — by convention ``ingest``, ``stage``, ``aggregate``, ``quality`` or
    ``pipeline`` (a whole ``run_quarter``). ``product``: a registry product name, or ``"all"`` for steps
    spanning every product. ``quarter``: a ``Quarter``, ``"2024Q1"``, or ``None`` for steps not tied to
    one quarter (labelled ``"all"``). ``status``: ``success``, ``failed`` or ``skipped`` (a no-op because
    the inputs were unchanged). ``files``/``bytes_``/``rows``/``quarantined``: what this run handled —
    files fetched or parsed, their bytes, rows written, files quarantined. ``duration_s``: wall-clock
    seconds of the step.

    Sets the ``step_*`` gauges of (stage, product, quarter) to these values and adds them to the
    ``*_total`` counters of (stage, product). Returns the textfile path, or ``None`` when it could not be
    written (logged as ``metrics_write_failed``; a metrics problem never fails a data step).
    Raises ``ValueError`` for a malformed stage/status or a negative amount, ``UnknownProductError`` and
    ``InvalidQuarterError`` for a bad product or quarter — these are programming errors, not I/O.
    """
    if not _STAGE_RE.match(stage):
        raise ValueError(f"stage must match {_STAGE_RE.pattern}, got {stage!r}")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    amounts = {
        "files": files,
        "bytes_": bytes_,
        "rows": rows,
        "quarantined": quarantined,
        "duration_s": duration_s,
    }
    negative = {k: v for k, v in amounts.items() if v < 0}
    if negative:
        raise ValueError(f"metric amounts must be >= 0, got {negative}")
    product = _check_product(product, allow_all=True)
    qlabel = _quarter_label(quarter)
    step = _key(stage=stage, product=product, quarter=qlabel)
    total = _key(stage=stage, product=product)
    try:
        with _locked_state(settings) as state:
            gauges = {
                "step_files": files,
                "step_bytes": bytes_,
                "step_rows": rows,
                "step_quarantined_files": quarantined,
                "step_duration_seconds": duration_s,
                "step_last_run_timestamp_seconds": time.time(),
            }
            for name, value in gauges.items():
                state[_P + name][step] = float(value)
            for s in STATUSES:
                state[_P + "step_status"][_key(stage=stage, product=product, quarter=qlabel, status=s)] = (
                    float(s == status)
                )
            _add(state, _P + "step_runs_total", _key(stage=stage, product=product, status=status), 1.0)
            for name, value in (
                ("files_total", files),
                ("bytes_total", bytes_),
                ("rows_total", rows),
                ("quarantined_files_total", quarantined),
                ("duration_seconds_total", duration_s),
            ):
                _add(state, _P + name, total, float(value))
    except OSError as exc:
        log.error("metrics_write_failed", path=str(metrics_file(settings)), error=str(exc), stage=stage)
        return None
    log.debug("metrics_step_recorded", stage=stage, product=product, quarter=qlabel, status=status)
    return metrics_file(settings)


def record_published(
    settings: Settings, product: str, quarter: Quarter | str, *, dataset_version: str | None = None
) -> Path | None:
    """Record that ``product``'s curated ``quarter`` (version ``dataset_version``) was published.

    Moves the product's "latest published quarter" forward only: when ``quarter`` is older than the
    quarter already recorded (a backfill), nothing changes. Re-publishing the same quarter (a ``_v2``)
    updates the dataset version and the publish time. Returns the textfile path, or ``None`` when it
    could not be written (logged). Raises ``UnknownProductError`` / ``InvalidQuarterError`` on bad input.
    """
    product = _check_product(product, allow_all=False)
    q = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    info = _P + "latest_published_quarter_info"
    try:
        with _locked_state(settings) as state:
            current = [dict(k) for k in state[info] if dict(k).get("product") == product]
            if current and max(Quarter.parse(c["quarter"]) for c in current) > q:
                log.info("metrics_published_older_quarter", product=product, quarter=str(q))
                return metrics_file(settings)
            state[info] = {k: v for k, v in state[info].items() if dict(k).get("product") != product}
            state[info][_key(product=product, quarter=str(q), dataset_version=dataset_version or "")] = 1.0
            state[_P + "latest_published_quarter_end_timestamp_seconds"][_key(product=product)] = (
                q.end.timestamp()
            )
            state[_P + "published_timestamp_seconds"][_key(product=product)] = time.time()
    except OSError as exc:
        log.error("metrics_write_failed", path=str(metrics_file(settings)), error=str(exc), product=product)
        return None
    return metrics_file(settings)


@dataclass
class StepTimer:
    """Counts a step fills in while it runs (see :func:`step_timer`)."""

    files: int = 0
    bytes_: int = 0
    rows: int = 0
    quarantined: int = 0
    status: StepStatus = "success"

    def update(
        self,
        *,
        files: int | None = None,
        bytes_: int | None = None,
        rows: int | None = None,
        quarantined: int | None = None,
        status: StepStatus | None = None,
    ) -> None:
        """Set the counts to report (only the given ones change)."""
        if files is not None:
            self.files = files
        if bytes_ is not None:
            self.bytes_ = bytes_
        if rows is not None:
            self.rows = rows
        if quarantined is not None:
            self.quarantined = quarantined
        if status is not None:
            self.status = status


@contextmanager
def step_timer(
    settings: Settings, *, stage: str, product: str, quarter: Quarter | str | None
) -> Iterator[StepTimer]:
    """Time a block and record it with :func:`record_step`.

    ``with step_timer(s, stage="ingest", product="wind", quarter=None) as t: r = ingest(...); t.update(files=…)``
    records ``t.status`` (default ``success``) when the block ends, or ``failed`` (with the counts set so
    far) when it raises; the exception is re-raised unchanged.
    """
    timer = StepTimer()
    started = time.monotonic()
    try:
        yield timer
    except BaseException:
        timer.status = "failed"
        raise
    finally:
        record_step(
            settings,
            stage=stage,
            product=product,
            quarter=quarter,
            status=timer.status,
            files=timer.files,
            bytes_=timer.bytes_,
            rows=timer.rows,
            quarantined=timer.quarantined,
            duration_s=time.monotonic() - started,
        )
