"""Database engines, schema migration and bulk loading for the curated database (SQLite or PostgreSQL).

* ``get_engine(url)`` — one Engine per URL. SQLite files run in WAL mode with foreign keys and a busy timeout,
  so API readers and a pipeline writer can work at once; PostgreSQL goes through psycopg 3.
* ``ensure_schema(engine_or_url)`` — Alembic ``upgrade head`` driven from code (no alembic.ini); idempotent and
  safe when two processes call it at once (PostgreSQL advisory lock; a lock file beside an SQLite database).
  A database already at head (its ``alembic_version`` row equals the head read from the migration scripts'
  text) runs no migration and never imports Alembic: every CLI run and task calls it (issue #19).
* ``missing_schema(engine)`` — after a reader's statement failed: the typed error when the database was never
  migrated (or is behind head), so readers say what to run instead of showing "no such table".
* ``sync_feature_catalog(conn)`` (defined in ``tables``) — ``feature_catalog`` from ``features.catalog``; run by ensure_schema.
* ``bulk_insert(conn, table, data)`` — COPY on PostgreSQL, ``executemany`` on SQLite, inside the caller's
  transaction so a load and a version flip commit together.
"""

from __future__ import annotations

import ast
import fcntl
import functools
import json
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import JSON, Connection, Engine, Table, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import OperationalError

from weatherinsight.errors import DatabaseUnavailableError, SchemaMissingError, WeatherInsightError
from weatherinsight.logs import get_logger
from weatherinsight.warehouse.tables import metadata, sync_feature_catalog

if TYPE_CHECKING:
    from alembic.config import Config

log = get_logger(__name__)
# Alembic logs every run at INFO ("Context impl …"); ensure_schema reports migrations itself.
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Key of the PostgreSQL advisory lock that serialises concurrent ``ensure_schema`` calls ("WImigr").
_PG_MIGRATION_LOCK = 0x57494D696772
#: Seconds a new PostgreSQL connection may take before it fails (libpq connect_timeout).
_PG_CONNECT_TIMEOUT_S = 10
_SQLITE_BUSY_TIMEOUT_MS = 30_000
# The API runs sync handlers on a 40-thread pool; the pool must not make them queue for connections
# (PostgreSQL's default max_connections of 100 leaves room for two such processes).
_POOL_SIZE = 10
_POOL_OVERFLOW = 35
#: Rows handed to the driver per round trip when loading an Arrow table.
_BATCH_ROWS = 10_000

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class WarehouseError(WeatherInsightError):
    """A database operation of the warehouse layer failed (bad table, bad columns, unreachable server)."""


def _on_connect_error(context: ExceptionContext) -> None:
    """A failed *connect* (server down, wrong host/port/credentials, unopenable SQLite file) becomes
    ``DatabaseUnavailableError`` naming the server and what to check; errors of statements pass unchanged."""
    if context.connection is not None or not isinstance(context.sqlalchemy_exception, OperationalError):
        return
    url = context.engine.url if context.engine is not None else None
    where = url.render_as_string(hide_password=True) if url is not None else "the database"
    reason = str(context.original_exception).strip().splitlines()[0] if context.original_exception else "?"
    raise DatabaseUnavailableError(
        f"cannot connect to the database {where}: {reason}",
        hint="check that the server runs and WEATHERINSIGHT_DATABASE_URL (host, port, user, database) is right",
    )


def normalize_url(url: str) -> str:
    """Use psycopg 3 for bare ``postgresql://`` / ``postgres://`` URLs (SQLAlchemy defaults to psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL, or None for in-memory databases."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers proceed while one writer commits; busy_timeout makes a second writer wait instead of
    # failing at once; SQLite leaves foreign keys off unless asked per connection.
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cur.close()


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            pool_size=_POOL_SIZE,
            max_overflow=_POOL_OVERFLOW,
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "handle_error", _on_connect_error)
        return engine
    if url.startswith("postgresql"):
        # A bounded connect: libpq waits forever by default, and an unreachable host (packets dropped, not
        # refused) would hold a DAG task or an API request — on the API's event loop, every request — for minutes.
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=_POOL_SIZE,
            max_overflow=_POOL_OVERFLOW,
            connect_args={"connect_timeout": _PG_CONNECT_TIMEOUT_S},
        )
        event.listen(engine, "handle_error", _on_connect_error)
        return engine
    return create_engine(url)


def get_engine(url: str) -> Engine:
    """The process-wide Engine for ``url`` (created once, then cached)."""
    url = normalize_url(url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every cached engine's pool (tests, forked workers)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config built in code: scripts inside the package, the open connection handed to env.py."""
    from alembic.config import Config  # lazy: only a migration needs Alembic (see ensure_schema)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _module_constant(tree: ast.Module, name: str) -> object:
    """The literal a migration script assigns to ``name`` at module level (``revision: str = "…"`` too)."""
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(target, ast.Name) and target.id == name and value is not None:
            return ast.literal_eval(value)
    raise WarehouseError(f"migration script defines no literal {name!r}")


@functools.cache
def _revision_graph() -> tuple[frozenset[str], str]:
    """Every migration revision shipped with the package and the head (the revision no other script revises),
    read once per process from the scripts' text (their ``revision`` and ``down_revision`` literals)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if not any(isinstance(n, (ast.Assign, ast.AnnAssign)) for n in tree.body):
            continue  # __init__.py
        revisions.add(str(_module_constant(tree, "revision")))
        down = _module_constant(tree, "down_revision")
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, (tuple, list)):  # a merge revision revises several
            revised.update(str(d) for d in down)
    heads = sorted(revisions - revised)
    if len(heads) != 1:  # pragma: no cover - the package ships one linear history
        raise WarehouseError(f"the migration scripts have {len(heads)} heads ({', '.join(heads)}), not one")
    return frozenset(revisions), heads[0]


def head_revision() -> str:
    """The newest migration revision shipped with the package. Reading the scripts' text instead of loading
    Alembic's ScriptDirectory keeps Alembic out of a process whose database is at head."""
    return _revision_graph()[1]


def _stored_revision(conn: Connection) -> str | None:
    """The revision recorded in ``alembic_version`` (None before the first migration)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = [str(r) for r in conn.execute(text("SELECT version_num FROM alembic_version")).scalars()]
    if len(rows) > 1:
        raise WarehouseError(f"alembic_version holds {len(rows)} rows ({', '.join(rows)}); expected one")
    return rows[0] if rows else None


def current_revision(engine_or_url: Engine | str) -> str | None:
    """The revision the database is at (None before the first migration)."""
    engine = get_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    with engine.connect() as conn:
        return _stored_revision(conn)


def missing_schema(engine: Engine) -> SchemaMissingError | None:
    """The error a reader raises when a statement failed because ``engine``'s database lacks this code's schema:
    never migrated, or at an older shipped revision. None when it is at head or at a revision this code does
    not ship (newer code migrated it), i.e. when the failure has another cause and must surface unchanged.

    Readers (the client's local back end, the API) call it only after a statement failed, so a healthy read
    pays nothing; they do not migrate themselves (``weatherinsight db upgrade`` does, as every writer does)."""
    with engine.connect() as conn:
        revision = _stored_revision(conn)
    shipped, head = _revision_graph()
    if revision == head or (revision is not None and revision not in shipped):
        return None
    return SchemaMissingError(engine.url.render_as_string(hide_password=True), revision, head)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection holding the lock that serialises schema migrations across processes."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            # Transaction-scoped: released by the commit that also makes the migrated schema visible.
            conn.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
            yield conn
        return
    path = _sqlite_file(str(engine.url)) if engine.dialect.name == "sqlite" else None
    if path is None:
        with engine.connect() as conn:
            yield conn
        return
    lock_path = path.with_name(path.name + ".migrate.lock")
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # a second process waits here until the first finished migrating
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _discard_interrupted_first_migration(conn: Connection) -> None:
    """Drop the empty tables a process killed during the very first migration left in an SQLite database.

    pysqlite runs DDL outside a transaction, so ``kill -9`` during the first ``upgrade`` leaves some tables
    and no revision; the next upgrade would then fail on "table already exists". Only when no revision is
    recorded *and* every table is empty (nothing can have been stored before the first migration finished)
    are they dropped, so the migration runs again from the start. A database with any row is left alone.
    """
    if conn.dialect.name != "sqlite" or _stored_revision(conn) is not None:
        return
    names = [n for n in inspect(conn).get_table_names() if not n.startswith("sqlite_")]
    if not names or any(conn.exec_driver_sql(f'SELECT 1 FROM "{n}" LIMIT 1').first() for n in names):
        return
    log.warning("schema_interrupted_migration_discarded", tables=len(names))
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    for name in names:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    conn.commit()


def ensure_schema(engine_or_url: Engine | str) -> None:
    """Bring the database to the newest schema (Alembic ``upgrade head``). Idempotent and process-safe.

    At head already, no migration runs and Alembic is not imported; the feature catalog is still synced
    (it follows the code, not the migrations) under the same lock."""
    engine = get_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    head = head_revision()
    with _migration_lock(engine) as conn:
        before = _stored_revision(conn)
        if before != head:
            from alembic import command  # lazy: only a database behind head needs Alembic

            _discard_interrupted_first_migration(conn)
            command.upgrade(alembic_config(conn), "head")
        sync_feature_catalog(conn)  # under the same lock: two processes never interleave delete and insert
        conn.commit()
    if before != head:
        log.info("schema migrated", database=engine.url.render_as_string(hide_password=True), to=head)


def downgrade_schema(engine_or_url: Engine | str, revision: str) -> str | None:
    """Run the ``downgrade()`` of every migration above ``revision`` (a shipped revision id, or ``base``) under
    the migration lock; returns the revision the database is at afterwards. Raises ``WarehouseError`` naming the
    revision when this code does not ship it, or when the database is not above it (nothing would run)."""
    engine = get_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    chain = sorted(_revision_graph()[0])  # linear history; ids start with their zero-padded place (0001_, …)
    if revision != "base" and revision not in chain:
        raise WarehouseError(
            f"unknown schema revision {revision!r}", hint=f"one of: base, {', '.join(chain)}"
        )
    with _migration_lock(engine) as conn:
        before = _stored_revision(conn)
        target = -1 if revision == "base" else chain.index(revision)
        if before is None or before not in chain or chain.index(before) <= target:
            raise WarehouseError(
                f"the database is at schema revision {before or 'none'}, not above {revision}: nothing to downgrade",
                hint="`weatherinsight db upgrade` brings it to this version's newest revision",
            )
        from alembic import command  # lazy: only a migration needs Alembic

        command.downgrade(alembic_config(conn), revision)
        conn.commit()
        after = _stored_revision(conn)
    log.info(
        "schema downgraded", database=engine.url.render_as_string(hide_password=True), frm=before, to=after
    )
    return after


# --------------------------------------------------------------------------------------------- bulk load


def _resolve_table(table: Table | str) -> Table:
    if isinstance(table, Table):
        return table
    try:
        return metadata.tables[table]
    except KeyError:
        raise WarehouseError(
            f"unknown table {table!r}", hint=f"known: {', '.join(metadata.tables)}"
        ) from None


def _columns_of(table: Table, names: Iterable[str]) -> list[str]:
    names = list(names)
    unknown = [n for n in names if n not in table.c]
    if unknown:
        raise WarehouseError(
            f"bulk insert into {table.name}: unknown column(s) {unknown}",
            hint=f"columns of {table.name}: {', '.join(table.c.keys())}",
        )
    return names


def _row_batches(
    table: Table, data: pa.Table | Sequence[Mapping[str, Any]]
) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
    """Column names and batches of value tuples, from an Arrow table or a list of dicts."""
    if isinstance(data, pa.Table):
        names = _columns_of(table, data.column_names)

        def arrow_batches() -> Iterator[list[tuple[Any, ...]]]:
            for batch in data.to_batches(max_chunksize=_BATCH_ROWS):
                cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                yield list(zip(*cols, strict=True))

        return names, arrow_batches()
    seen: dict[str, None] = {}
    for row in data:
        for key in row:
            seen.setdefault(key, None)
    names = _columns_of(table, seen)
    rows = [tuple(row.get(n) for n in names) for row in data]  # a key missing in one row → NULL
    return names, iter([rows[i : i + _BATCH_ROWS] for i in range(0, len(rows), _BATCH_ROWS)])


def _copy_postgres(
    conn: Connection, table: Table, names: list[str], batches: Iterator[list[tuple[Any, ...]]]
) -> int:
    from psycopg import sql  # lazy: psycopg is an optional extra (postgres)

    json_cols = [i for i, n in enumerate(names) if isinstance(table.c[n].type, JSON)]
    if not conn.in_transaction():
        conn.begin()  # the COPY must belong to the caller's (auto-begun) transaction, committed with it
    raw: Any = conn.connection.driver_connection
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    count = 0
    with raw.cursor() as cur, cur.copy(stmt) as copy:
        for rows in batches:
            for row in rows:
                if json_cols:
                    row = tuple(
                        json.dumps(v) if i in json_cols and v is not None else v for i, v in enumerate(row)
                    )
                copy.write_row(row)
            count += len(rows)
    return count


def bulk_insert(conn: Connection, table: Table | str, data: pa.Table | Sequence[Mapping[str, Any]]) -> int:
    """Insert many rows in the caller's transaction; returns the number of rows written.

    PostgreSQL: psycopg 3 ``COPY … FROM STDIN`` (text format). SQLite: ``executemany`` through SQLAlchemy.
    Columns are taken from the Arrow schema (or the union of the dicts' keys) and must exist in ``table``.
    """
    tbl = _resolve_table(table)
    names, batches = _row_batches(tbl, data)
    if not names:
        return 0
    if conn.dialect.name == "postgresql":
        return _copy_postgres(conn, tbl, names, batches)
    count = 0
    stmt = tbl.insert()
    for rows in batches:
        if rows:
            conn.execute(stmt, [dict(zip(names, r, strict=True)) for r in rows])
            count += len(rows)
    return count
