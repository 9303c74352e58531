"""Start-up checks of configuration values that a type cannot express: the strict YAML reader (UTF-8, no
duplicated keys, not empty), the database URL, the data directory, the raw store URL and http(s) URLs.

Each check returns ``None`` when the value is usable, else one sentence saying what is wrong; the caller
(``weatherinsight.settings.load_settings``) turns it into a ``ConfigError`` naming the key and its source. Pure
functions of their arguments plus the filesystem and, for S3 credentials, the ``AWS_*`` environment — nothing is
created or connected to, so a check never leaves anything behind.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

#: The SQLAlchemy dialects WeatherInsight supports, with the drivers each may use and the module each needs.
SUPPORTED_DRIVERS: dict[str, dict[str, str]] = {
    "sqlite": {"pysqlite": "sqlite3"},
    "postgresql": {"psycopg": "psycopg", "psycopg2": "psycopg2"},
}
#: The driver a bare ``dialect://`` URL uses (warehouse.db.normalize_url gives PostgreSQL psycopg 3).
_DEFAULT_DRIVER = {"sqlite": "pysqlite", "postgresql": "psycopg", "postgres": "psycopg"}
#: JVM memory strings as Spark reads them: a whole number with an optional k/m/g/t unit (``512m``, ``4g``).
MEMORY_SIZE = re.compile(r"[1-9][0-9]*[kmgt]?b?", re.IGNORECASE)
#: Spark master URLs WeatherInsight accepts: local mode, a standalone cluster (several masters for HA), YARN,
#: Kubernetes. Spark itself only complains when the driver starts, with a JVM stack trace.
SPARK_MASTER = re.compile(
    r"local(\[(\*|[1-9][0-9]*)(,[0-9]+)?\])?"
    r"|spark://[A-Za-z0-9.-]+:[0-9]{1,5}(,[A-Za-z0-9.-]+:[0-9]{1,5})*"
    r"|yarn|k8s://\S+"
)
SPARK_MASTER_HINT = "write local[N], local[*], spark://host:7077 (a standalone cluster), yarn or k8s://…"


def spark_master_problem(value: str) -> str | None:
    """Why ``value`` is not a Spark master URL (``None`` when it is one)."""
    if SPARK_MASTER.fullmatch(value):
        return None
    return f"{value!r} is not a Spark master; {SPARK_MASTER_HINT}"


class YamlProblem(Exception):
    """A YAML file that cannot be used; ``key`` is the offending key (or a placeholder like ``(yaml)``)."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise YamlProblem(
                    str(key), f"duplicated key on line {line} (first given on line {seen[key]}); keep one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml_mapping(path: Path, data: bytes) -> dict[str, Any]:
    """The mapping in a YAML document; ``YamlProblem`` for non-UTF-8 bytes, bad YAML, a duplicated key, an empty
    document or a document that is not a mapping. An empty file is rejected rather than read as "all
    defaults": a config file that says nothing is almost always a truncated or mis-mounted one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlProblem("(encoding)", f"not UTF-8: byte {data[exc.start]:#04x} on line {line}") from None
    try:
        raw: Any = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" on line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlProblem("(yaml)", f"not valid YAML{where}: {problem}") from None
    if raw is None:
        raise YamlProblem(
            "(root)",
            "the file is empty; give the settings, or unset WEATHERINSIGHT_CONFIG_FILE for the defaults",
        )
    if not isinstance(raw, dict):
        raise YamlProblem("(root)", f"the file must hold a mapping of sections, not a {type(raw).__name__}")
    return raw


def database_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the curated database: malformed, an unsupported dialect or driver, a missing driver.

    Parsed with urllib rather than SQLAlchemy: this module sits in the foundation layer, which the DWD layer
    imports and which must not pull in the database toolkit (``.importlinter``)."""
    match = _DB_URL.fullmatch(url)
    if match is None:
        return f"malformed database URL {_redact(url)!r}; expected e.g. postgresql://user@host:5432/db"
    backend, driver = match["dialect"].lower(), (match["driver"] or "").lower()
    backend = "postgresql" if backend == "postgres" else backend
    if backend not in SUPPORTED_DRIVERS:
        return (
            f"unsupported database {backend!r} in {_redact(url)!r}; "
            f"supported: {', '.join(f'{d}://' for d in SUPPORTED_DRIVERS)}"
        )
    driver = driver or _DEFAULT_DRIVER[backend]
    module = SUPPORTED_DRIVERS[backend].get(driver)
    if module is None:
        return (
            f"unsupported driver {driver!r} for {backend}; supported: {', '.join(SUPPORTED_DRIVERS[backend])}"
        )
    if importlib.util.find_spec(module) is None:
        extra = (
            " (install the postgres extra: pip install 'weatherinsight[postgres]')"
            if module == "psycopg"
            else ""
        )
        return f"the database driver {module!r} for {backend} is not installed{extra}"
    if backend == "postgresql":
        return _server_problem(url)
    database = match["rest"].removeprefix("/").split("?", 1)[0]
    if database not in ("", ":memory:") and not database.startswith("file:"):
        return directory_problem(Path(database).parent, what="the SQLite file's directory")
    return None


#: ``dialect[+driver]://rest`` as SQLAlchemy writes database URLs.
_DB_URL = re.compile(
    r"(?P<dialect>[A-Za-z][A-Za-z0-9]*)(?:\+(?P<driver>[A-Za-z0-9_]+))?://(?P<rest>.*)", re.DOTALL
)


def _server_problem(url: str) -> str | None:
    """A server URL's port, when given, is a number (no host means libpq's local socket, which is fine)."""
    try:
        urlsplit(url).port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError as exc:
        return f"malformed database URL {_redact(url)!r}: {exc}; expected e.g. postgresql://user@host:5432/db"
    return None


def _redact(url: str) -> str:
    """The URL without its password (error messages end up in logs)."""
    return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", url)


def directory_problem(path: Path, *, what: str = "the data directory") -> str | None:
    """Why ``path`` cannot be used as a writable directory: it is a file, or it (or the nearest existing
    parent it would be created in) is not a writable directory."""
    if path.exists():
        if not path.is_dir():
            return f"{what} {str(path)!r} is a file, not a directory"
        if not os.access(path, os.W_OK | os.X_OK):
            return f"{what} {str(path)!r} is not writable"
        return None
    parent = path
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        return f"{what} {str(path)!r} cannot be created: {str(parent)!r} is a file"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{what} {str(path)!r} cannot be created: {str(parent)!r} is not writable"
    return None


#: Environment variables or files through which botocore can find S3 credentials without a network call.
_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


def http_url_problem(url: str, expected: str, *, what: str = "URL") -> str | None:
    """Why ``url`` is not an http(s) URL with a host (``expected`` shows the form wanted), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"malformed {what} {url!r}: expected {expected}"
    return None


def raw_store_problem(url: str, options: dict[str, Any], endpoint: str | None) -> str | None:
    """Why ``url`` cannot be the raw store: an unsupported scheme, an ``s3://`` URL without a bucket, without
    s3fs, without credentials botocore could find, or with a malformed endpoint; a local path that is a file."""
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme in ("", "file"):
        local = Path(url.removeprefix("file://"))
        return directory_problem(local, what="the raw store")
    if scheme not in ("s3", "s3a"):
        return f"unsupported raw store scheme {scheme + '://'!r} in {url!r}; use a local path or s3://bucket/prefix"
    if not urlsplit(url).netloc:
        return f"no bucket in {url!r}; expected s3://bucket/prefix"
    if importlib.util.find_spec("s3fs") is None:
        return "s3:// needs s3fs (install the s3 extra: pip install 'weatherinsight[s3]')"
    if endpoint is not None and (
        problem := http_url_problem(endpoint, "http(s)://host:port", what="S3 endpoint")
    ):
        return problem
    if not _s3_credentials_found(options):
        return (
            f"no S3 credentials for {url!r}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, "
            'or give WEATHERINSIGHT_RAW_STORE_OPTIONS=\'{"key": …, "secret": …}\' (or {"anon": true})'
        )
    return None


def _s3_credentials_found(options: dict[str, Any]) -> bool:
    if options.get("anon") or (options.get("key") and options.get("secret")) or options.get("profile"):
        return True
    if any(os.environ.get(name) for name in _AWS_ENV):
        return True
    shared = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or str(Path.home() / ".aws" / "credentials")
    return Path(shared).is_file()
