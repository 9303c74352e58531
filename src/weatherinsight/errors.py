"""Typed errors raised at every boundary of WeatherInsight.

Each error names *what* went wrong, *where* (URL, file, line, station, product, quarter) and *what to do
next*, and says whether retrying can help (``transient``) or not (permanent).
"""

from __future__ import annotations


class WeatherInsightError(Exception):
    """Base class. ``transient`` tells callers whether a retry may succeed."""

    transient: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ConfigError(WeatherInsightError):
    """A setting or the YAML configuration is invalid; names the key and the file."""

    def __init__(self, key: str, problem: str, *, source: str) -> None:
        self.key = key
        self.source = source
        super().__init__(
            f"invalid configuration: {key}: {problem} (in {source})", hint="fix the value and restart"
        )


class UnknownProductError(WeatherInsightError):
    """A product name or DWD code that the registry does not know."""

    def __init__(self, product: str, known: list[str]) -> None:
        self.product = product
        super().__init__(f"unknown product {product!r}", hint=f"known products: {', '.join(known)}")


class DwdFormatError(WeatherInsightError):
    """A DWD file does not have the format we expect. Names the file and (when known) the line."""

    def __init__(self, file: str, problem: str, *, line: int | None = None, hint: str | None = None) -> None:
        self.file = file
        self.line = line
        self.problem = problem
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(
            f"bad DWD file {where}: {problem}",
            hint=hint or "the file is quarantined; re-fetch it or report it to DWD if it persists",
        )


class InvalidQuarterError(WeatherInsightError):
    """A quarter string or range that cannot be parsed (e.g. ``2024Q5``)."""

    def __init__(self, text: str, problem: str) -> None:
        self.text = text
        super().__init__(
            f"invalid quarter {text!r}: {problem}", hint="write quarters as YYYYQn, n in 1..4, e.g. 2024Q1"
        )


class InvalidPeriodError(WeatherInsightError):
    """A period string or kind that cannot be parsed (e.g. ``2024-13``, ``2024DFJ``, ``--period week``)."""

    def __init__(self, text: str, problem: str, *, hint: str | None = None) -> None:
        self.text = text
        super().__init__(
            f"invalid period {text!r}: {problem}",
            hint=hint
            or "write periods as YYYY-MM (month), YYYYDJF/MAM/JJA/SON (season), YYYYQn (quarter) or YYYY (year)",
        )


class TransientError(WeatherInsightError):
    """A failure that may go away on retry (HTTP 429/5xx, timeouts, connection resets)."""

    transient = True


class DownloadError(WeatherInsightError):
    """A download failed for good (after retries, or with a permanent status such as 404)."""

    def __init__(self, url: str, problem: str, *, transient: bool = False) -> None:
        self.url = url
        self.transient = transient
        super().__init__(
            f"download failed for {url}: {problem}", hint="check the mirror/base URL or retry later"
        )


class DatabaseUnavailableError(WeatherInsightError):
    """The database server cannot be reached or refuses the connection; a retry can help (``transient``)."""

    transient = True


class SchemaMissingError(WeatherInsightError):
    """A reader found the curated database without its schema: never migrated (no ``alembic_version``) or at an
    older revision than this code's; retrying does not help, migrating does."""

    def __init__(self, database: str, revision: str | None, head: str) -> None:
        self.database = database
        self.revision = revision
        state = (
            "has no WeatherInsight schema (it was never migrated)"
            if revision is None
            else f"is at schema revision {revision}, older than this version's {head}"
        )
        super().__init__(
            f"the curated database {database} {state}",
            hint="run `weatherinsight db upgrade` with the same WEATHERINSIGHT_DATABASE_URL",
        )


class SparkUnavailableError(WeatherInsightError):
    """No master of a standalone Spark cluster answers; a retry can help once it is up (``transient``)."""

    transient = True

    def __init__(self, master: str, problem: str) -> None:
        self.master = master
        super().__init__(
            f"Spark master {master} is not reachable: {problem}",
            hint="start the cluster (docs/runbook.md, Spark) or fix spark.master / --master",
        )


class RunFailedError(WeatherInsightError):
    """A pipeline step failed as a whole, e.g. because the share of failed files passed the threshold."""


class NotAMirrorError(WeatherInsightError):
    """A directory given as a built DWD mirror that is missing, not a directory or has no manifest."""

    def __init__(self, path: str, problem: str, *, hint: str) -> None:
        self.path = path
        super().__init__(f"{path} is not a built mirror: {problem}", hint=hint)


class StorageError(WeatherInsightError):
    """Writing to local or object storage failed (disk full, permission denied, read-only); names the path."""

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        self.path = path
        super().__init__(
            f"cannot write {path}: {problem}", hint=hint or "free space or fix permissions there"
        )
