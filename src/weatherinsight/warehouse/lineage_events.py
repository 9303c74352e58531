"""OpenLineage events of dataset versions: a run per raw / staged / curated version, sent with openlineage-python.

Each version row of ``dataset_versions`` is one run of its step's job (``ingest.<product>``,
``stage.<product>``, ``aggregate.<product>`` in the namespace ``lineage.job_namespace``):

* ``begin_version`` (a new PENDING version) → ``START``, with the version's parents as inputs;
* ``publish_version`` → ``COMPLETE``, with the row count;
* ``fail_version`` → ``FAIL``, with the error message.

Datasets are named like the rows they describe: namespace ``weatherinsight://<host:port/database>`` (PostgreSQL)
or ``weatherinsight://<absolute SQLite file>``, name ``<kind>/<product>/<version_name>``; facets: schema (staged
and curated), row count, ``datasetVersion`` and ``weatherinsight_version`` (quarter, number, input
fingerprint, parent versions). A raw version's input is the product's DWD directory (namespace the DWD host).
Inside an Airflow task the run carries the ``parent`` facet: the task run (job ``<dag_id>.<task_id>``) as
parent and the DAG run (job ``<dag_id>``) as root, both in ``lineage.job_namespace`` (``airflow_parent``).

Events follow the version's transaction: they are queued on the SQLAlchemy connection and sent when it
commits, dropped when it rolls back, so a consumer never hears of a version the database does not hold. Sending
never fails the caller: any error of the transport is logged as the warning ``lineage_event_not_sent``.
"""

from __future__ import annotations

import os
import threading
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import attr
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    RunFacet,
    dataset_version_dataset,
    error_message_run,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
)
from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG
from openlineage.client.transport.transport import Transport
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url

from weatherinsight import __version__
from weatherinsight.dwd.products import get_product, listing_url
from weatherinsight.logs import get_logger
from weatherinsight.settings import Lineage, Settings
from weatherinsight.warehouse.tables import curated_table

log = get_logger(__name__)

PRODUCER = f"https://github.com/weatherinsight/weatherinsight/tree/v{__version__}"
#: The step (job) that makes each kind of version.
JOB_OF_KIND = {"raw": "ingest", "staged": "stage", "curated": "aggregate", "normal": "normals"}
#: The kind a version's parents are (``parent_versions`` holds names only).
PARENT_KIND = {"staged": "raw", "curated": "staged", "normal": "curated"}


class VersionRow(Protocol):
    """What an event needs of a ``warehouse.lineage.DatasetVersion`` (a Protocol: lineage imports this module)."""

    @property
    def id(self) -> int: ...
    @property
    def version_name(self) -> str: ...
    @property
    def version_number(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def product(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def row_count(self) -> int | None: ...
    @property
    def parent_versions(self) -> tuple[str, ...]: ...
    @property
    def input_fingerprint(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def quarter_label(self) -> str: ...


@attr.define
class VersionFacet(DatasetFacet):
    """What ``dataset_versions`` knows of a version beyond its name (custom facet ``weatherinsight_version``)."""

    kind: str
    product: str
    quarter: str
    versionNumber: int  # noqa: N815 - OpenLineage facets use camelCase
    status: str
    inputFingerprint: str | None = None  # noqa: N815
    parentVersions: list[str] = attr.field(factory=list)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return "https://weatherinsight.example/spec/facets/1-0-0/WeatherInsightVersionFacet.json"


@dataclass(frozen=True)
class _Pending:
    config: Lineage
    event: RunEvent


# Events waiting for their connection's commit; weak so a Connection that is never committed leaks nothing.
_pending: weakref.WeakKeyDictionary[Connection, list[_Pending]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_clients: dict[str, OpenLineageClient] = {}
# The settings each version was begun with, for its COMPLETE/FAIL event (publish/fail take no settings). A
# version's life (begin → publish or fail) is one transaction in every caller, so per connection suffices.
_begun: weakref.WeakKeyDictionary[Connection, dict[int, Settings]] = weakref.WeakKeyDictionary()


def dataset_namespace(database_url: str) -> str:
    """``weatherinsight://host:port/database`` for a server, ``weatherinsight:///abs/file.db`` for SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"weatherinsight://{Path(url.database or ':memory:').resolve()}"
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"weatherinsight://{host}{port}/{url.database or ''}"


def qualified_parent(product: str, name: str) -> str:
    """A parent version of another product, as ``parent_versions`` records it: ``<product>/<name>`` (e.g. the
    staged daily KL version an air_temperature curated version was also built from)."""
    return f"{product}/{name}"


def split_parent(parent: str, product: str) -> tuple[str, str]:
    """(product, version name) of a ``parent_versions`` entry; a bare name belongs to ``product``."""
    other, sep, name = parent.partition("/")
    return (other, name) if sep else (product, parent)


def dataset_name(kind: str, product: str, version_name: str) -> str:
    """The OpenLineage dataset name of a version: ``<kind>/<product>/<version_name>``."""
    return f"{kind}/{product}/{version_name}"


def run_id(namespace: str, version: VersionRow) -> str:
    """A stable run id per version (UUID5 of its dataset), so START and COMPLETE/FAIL pair up everywhere."""
    key = f"{namespace}/{dataset_name(version.kind, version.product, version.version_name)}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def _schema(kind: str, product: str) -> schema_dataset.SchemaDatasetFacet | None:
    if kind == "staged":
        fields = [(f.name, str(f.type)) for f in get_product(product).staged_schema]
    elif kind == "curated":
        fields = [(c.name, str(c.type)) for c in curated_table(product).columns]
    else:
        return None  # raw versions are sets of DWD zip files, not tables
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in fields]
    )


def _output(namespace: str, version: VersionRow) -> OutputDataset:
    facets: dict[str, DatasetFacet] = {
        "datasetVersion": dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=version.version_name
        ),
        "weatherinsight_version": VersionFacet(
            kind=version.kind,
            product=version.product,
            quarter=version.quarter_label,
            versionNumber=version.version_number,
            status=version.status,
            inputFingerprint=version.input_fingerprint,
            parentVersions=list(version.parent_versions),
        ),
    }
    schema = _schema(version.kind, version.product)
    if schema is not None:
        facets["schema"] = schema
    output_facets: dict[str, Any] = {}
    if version.row_count is not None:
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=version.row_count)
        )
    return OutputDataset(
        namespace=namespace,
        name=dataset_name(version.kind, version.product, version.version_name),
        facets=facets,
        outputFacets=output_facets,
    )


def _inputs(settings: Settings, namespace: str, version: VersionRow) -> list[InputDataset]:
    parent_kind = PARENT_KIND.get(version.kind)
    if parent_kind is None:  # raw: read from the DWD archive
        base = urlsplit(settings.dwd_base_url)
        # the product's directory (a daily product's lies beside the hourly tree: ``…/climate/daily/kl/``)
        directory = urlsplit(listing_url(settings.dwd_base_url, get_product(version.product), "recent")).path
        name = directory.removesuffix("recent/")
        return [InputDataset(namespace=f"{base.scheme}://{base.netloc}", name=name)]
    parents = [split_parent(p, version.product) for p in version.parent_versions]
    return [
        InputDataset(
            namespace=namespace,
            name=dataset_name(parent_kind, product, name),
            facets={
                "datasetVersion": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=name)
            },
        )
        for product, name in parents
    ]


def airflow_parent(job_namespace: str, environ: Mapping[str, str] | None = None) -> RunFacet | None:
    """The ``parent`` run facet of the Airflow task this process runs, ``None`` outside Airflow.

    Read from the ``AIRFLOW_CTX_*`` variables Airflow's task runner exports for the running task (by name:
    the warehouse imports no Airflow). Run ids are UUIDv5 of the DAG run (root) and of the task try
    (parent), so every event of one task try names the same parent. Airflow exports no map index: the
    instances of a mapped task share their task's parent id.
    """
    env = os.environ if environ is None else environ
    dag_id, dag_run, task_id = (env.get(f"AIRFLOW_CTX_{k}") for k in ("DAG_ID", "DAG_RUN_ID", "TASK_ID"))
    if not (dag_id and dag_run and task_id):
        return None
    root = f"airflow:{dag_id}/{dag_run}"
    task_try = f"{root}/{task_id}/{env.get('AIRFLOW_CTX_TRY_NUMBER', '')}"
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=str(uuid.uuid5(uuid.NAMESPACE_URL, task_try))),
        job=parent_run.Job(namespace=job_namespace, name=f"{dag_id}.{task_id}"),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=str(uuid.uuid5(uuid.NAMESPACE_URL, root))),
            job=parent_run.RootJob(namespace=job_namespace, name=dag_id),
        ),
    )


def build_event(
    settings: Settings, state: RunState, version: VersionRow, error: str | None = None
) -> RunEvent:
    """The RunEvent of ``version`` entering ``state`` (START, COMPLETE or FAIL)."""
    namespace = dataset_namespace(settings.database_url)
    run_facets: dict[str, RunFacet] = {}
    parent = airflow_parent(settings.lineage.job_namespace)
    if parent is not None:
        run_facets["parent"] = parent
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python"
        )
    when: datetime = version.created_at if state == RunState.START else version.updated_at
    return RunEvent(
        eventType=state,
        eventTime=when.isoformat(),
        run=Run(runId=run_id(namespace, version), facets=run_facets),
        job=Job(
            namespace=settings.lineage.job_namespace, name=f"{JOB_OF_KIND[version.kind]}.{version.product}"
        ),
        producer=PRODUCER,
        inputs=_inputs(settings, namespace, version),
        outputs=[_output(namespace, version)],
    )


def version_begun(conn: Connection, settings: Settings, version: VersionRow) -> None:
    """A new PENDING version: queue its START event (nothing when lineage is off)."""
    if settings.lineage.enabled:
        with _lock:
            _begun.setdefault(conn, {})[version.id] = settings
        queue_event(conn, settings, RunState.START, version)


def version_published(conn: Connection, version: VersionRow) -> None:
    """Queue the COMPLETE event of a version begun on ``conn``."""
    _ended(conn, version, RunState.COMPLETE, None)


def version_failed(conn: Connection, version: VersionRow, error: str) -> None:
    """Queue the FAIL event of a version begun on ``conn``."""
    _ended(conn, version, RunState.FAIL, error)


def _ended(conn: Connection, version: VersionRow, state: RunState, error: str | None) -> None:
    with _lock:
        settings = _begun.get(conn, {}).pop(version.id, None)
    if settings is None:
        # Begun in another transaction (or with lineage off): the START went with that one's settings.
        log.debug("lineage_event_skipped", version=version.version_name, state=state.value)
        return
    queue_event(conn, settings, state, version, error)


def queue_event(
    conn: Connection, settings: Settings, state: RunState, version: VersionRow, error: str | None = None
) -> None:
    """Send the event of ``version`` when ``conn``'s transaction commits (nothing when lineage is off)."""
    if not settings.lineage.enabled:
        return
    try:
        config = settings.lineage.model_copy(update={"file_path": settings.lineage_file})
        pending = _Pending(config, build_event(settings, state, version, error))
    except Exception as exc:  # lineage must never fail a pipeline step
        log.warning(
            "lineage_event_not_sent", version=version.version_name, state=state.value, error=repr(exc)
        )
        return
    with _lock:
        _pending.setdefault(conn, []).append(pending)


def _transport(config: Lineage) -> Transport:
    if config.transport == "console":
        return ConsoleTransport(ConsoleConfig())
    if config.transport == "http":
        assert config.url is not None  # the settings refuse an enabled http transport without a URL
        # Few, short retries: events are sent while the publishing transaction commits.
        retry = {**DEFAULT_RETRY_CONFIG, "total": 2, "connect": 2, "read": 2, "backoff_factor": 0.2}
        http = HttpConfig(
            url=config.url, endpoint=config.endpoint, timeout=config.timeout_seconds, retry=retry
        )
        return HttpTransport(http)
    path = Path(str(config.file_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    # append=True: one JSON document per line in one file (the default writes a file per event).
    return FileTransport(FileConfig(log_file_path=str(path), append=True))


def _client(config: Lineage) -> OpenLineageClient:
    key = config.model_dump_json()
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = OpenLineageClient(transport=_transport(config))
        return client


def send(config: Lineage, events: Sequence[RunEvent]) -> int:
    """Emit ``events`` through the configured transport; returns how many were sent (errors are warnings)."""
    sent = 0
    for ev in events:
        try:
            _client(config).emit(ev)
            sent += 1
        except Exception as exc:  # a lineage backend that is down must never fail a pipeline step
            log.warning(
                "lineage_event_not_sent",
                transport=config.transport,
                job=ev.job.name,
                state=ev.eventType.value if ev.eventType else None,
                error=repr(exc),
            )
    return sent


def _on_commit(conn: Connection) -> None:
    with _lock:
        pending = _pending.pop(conn, [])
        _begun.pop(conn, None)
    for item in pending:
        send(item.config, [item.event])


def _on_rollback(conn: Connection) -> None:
    with _lock:
        _pending.pop(conn, None)
        _begun.pop(conn, None)


# Every engine of the process: a class-level listener also reaches engines created before this import.
event.listen(Engine, "commit", _on_commit)
event.listen(Engine, "rollback", _on_rollback)
