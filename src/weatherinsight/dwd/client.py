"""All outbound HTTP of WeatherInsight (house rule 2): DWD directory listings and file downloads.

Owns: crawling DWD's autoindex pages into :class:`RemoteEntry` rows; conditional GET (``If-None-Match`` /
``If-Modified-Since`` → 304 means "unchanged"); retries with exponential backoff on transient failures only
(429, 5xx, timeouts, connection resets, incomplete bodies, a body that fails verification), honouring
``Retry-After`` on 429/5xx; and a bound on concurrent requests (``settings.pools.api_calls``).
A 404 or another 4xx is permanent and raises :class:`DownloadError` at once.

Bodies are streamed in chunks, sha256-hashed on the way (the digest travels with the body, so nobody hashes
it again), never read whole from the socket: a body larger than ``max_bytes`` (``ingest.max_download_bytes``)
is refused from its ``Content-Length`` before any byte is read, or as soon as the stream passes the cap when
no length is declared — a hostile server cannot exhaust memory. httpx's per-request INFO lines are silenced
(``logs.quiet_per_request_loggers``); this module logs retries and rejected bodies.
A body that fails verification (corrupt zip, zip-slip names, zip bomb, no produkt member, a malformed station
list) is *terminal*: the same bytes would come again, so it raises at once, once, naming the reason.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import html
import random
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from weatherinsight.errors import DownloadError, DwdFormatError, TransientError
from weatherinsight.logs import get_logger, quiet_per_request_loggers
from weatherinsight.settings import Settings

log = get_logger(__name__)

_HREF = re.compile(r'<a\s+href="(?P<href>[^"]+)"[^>]*>[^<]*</a>(?P<tail>[^\n<]*)', re.IGNORECASE)
_TAIL = re.compile(r"(?P<date>\d{2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2})\s+(?P<size>\d+|-)")
_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
#: The default body cap: well above DWD's largest real zip (tens of MB).
DEFAULT_MAX_DOWNLOAD_BYTES = 512 << 20


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~80 ms, and every run (one per product)
    opens a client."""
    return httpx.create_ssl_context()


class BodyTooLargeError(DownloadError):
    """A body is larger than the configured cap (declared or streamed): refused, not retried."""


@dataclass(frozen=True)
class RemoteEntry:
    """One line of a directory listing."""

    name: str
    url: str
    is_dir: bool
    size: int | None = None
    modified: datetime | None = None


@dataclass(frozen=True)
class Fetched:
    """The outcome of a (conditional) GET: ``content`` is None when the server answered 304; ``sha256`` is the
    hex digest of ``content``, taken while it streamed in; ``checked`` what ``verify`` returned for it."""

    url: str
    status: int
    content: bytes | None
    etag: str | None
    last_modified: str | None
    attempts: int
    sha256: str | None = None
    checked: object = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def last_modified_at(self) -> datetime | None:
        return parse_http_date(self.last_modified)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; from ``settings.ingest``."""

    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        cfg = settings.ingest
        return cls(cfg.max_attempts, cfg.backoff_base_seconds, cfg.backoff_max_seconds, cfg.timeout_seconds)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with ±10 % jitter (so parallel workers do not retry in lock-step)."""
        delay = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return delay * random.uniform(0.9, 1.1)


def parse_http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return email.utils.parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def format_http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = parse_http_date(value)
    if when is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_listing(page: str, base_url: str) -> list[RemoteEntry]:
    """Entries of an autoindex page (DWD's nginx-style ``<pre>`` list or Apache's); ``../`` and sort links skipped."""
    out: list[RemoteEntry] = []
    seen: set[str] = set()
    for m in _HREF.finditer(page):
        href = html.unescape(m["href"])
        if href.startswith(("?", "#", "/", "../")) or "://" in href or href in ("./", ".."):
            continue
        name = urllib.parse.unquote(href.rstrip("/"))
        if not name or name in seen:
            continue
        seen.add(name)
        size: int | None = None
        modified: datetime | None = None
        tail = _TAIL.search(m["tail"])
        if tail:
            size = int(tail["size"]) if tail["size"].isdigit() else None
            modified = datetime.strptime(tail["date"], "%d-%b-%Y %H:%M").replace(tzinfo=UTC)
        out.append(
            RemoteEntry(name, urllib.parse.urljoin(base_url, href), href.endswith("/"), size, modified)
        )
    return out


class DwdClient:
    """A thread-safe HTTP client for DWD's open-data server (or a mirror) with retries and a concurrency bound."""

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        concurrency: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.max_bytes = max_bytes
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.policy.timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=True,
            headers={"User-Agent": "weatherinsight-ingest/1"},
            verify=_tls_context(),
        )
        self.retries = 0
        self._count_lock = threading.Lock()
        quiet_per_request_loggers()

    @classmethod
    def from_settings(cls, settings: Settings) -> DwdClient:
        return cls(
            policy=RetryPolicy.from_settings(settings),
            concurrency=settings.pools.api_calls,
            max_bytes=settings.ingest.max_download_bytes,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DwdClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- public -------------------------------------------------------------------------------------
    def list_directory(self, url: str) -> list[RemoteEntry]:
        """The entries of one index page; raises DownloadError when it cannot be read after retries."""
        if not url.endswith("/"):
            url += "/"
        fetched = self.fetch(url)
        assert fetched.content is not None  # no conditional headers were sent, so no 304
        return parse_listing(fetched.content.decode("utf-8", errors="replace"), url)

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        verify: Callable[[bytes], object] | None = None,
    ) -> Fetched:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are given) with retries.

        ``verify`` checks the complete body (e.g. zip integrity) and raises :class:`DwdFormatError` when it is
        broken; that is terminal — the same bytes would come again — so a :class:`DownloadError` naming the
        reason is raised at once, without another request. What it returns is kept as ``Fetched.checked``. A body over ``max_bytes`` raises
        :class:`BodyTooLargeError` (not retried either). After the last attempt of transient failures a
        :class:`DownloadError` names the URL and the last problem.
        """
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        problem = "no attempt made"
        for attempt in range(1, self.policy.max_attempts + 1):
            delay: float | None = None
            try:
                with self._slots, self._http.stream("GET", url, headers=headers) as response:
                    status = response.status_code
                    if status == 304:
                        return Fetched(
                            url, 304, None, response.headers.get("ETag", etag), last_modified, attempt
                        )
                    if status == 200:
                        body, digest = self._read_capped(url, response)
                    elif status in _TRANSIENT_STATUS:
                        problem = f"HTTP {status}"
                        delay = retry_after_seconds(response.headers.get("Retry-After"))
                    else:
                        raise DownloadError(url, f"HTTP {status} (permanent, not retried)")
                if status == 200:
                    checked = verify(body) if verify is not None else None
                    return Fetched(
                        url,
                        200,
                        body,
                        response.headers.get("ETag"),
                        response.headers.get("Last-Modified"),
                        attempt,
                        digest,
                        checked,
                    )
            except httpx.TimeoutException as exc:
                problem = f"timeout ({type(exc).__name__})"
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                problem = f"connection problem: {exc}"
            except TransientError as exc:
                problem = str(exc)
            except DwdFormatError as exc:
                log.warning("download_rejected", url=url, reason=exc.problem, attempt=attempt)
                raise DownloadError(
                    url, f"downloaded body failed verification (not retried): {exc.problem}"
                ) from exc
            except httpx.HTTPError as exc:  # e.g. an unsupported URL scheme: retrying cannot help
                raise DownloadError(url, f"{type(exc).__name__}: {exc}") from exc
            if attempt == self.policy.max_attempts:
                break
            wait = self.policy.backoff(attempt) if delay is None else min(delay, self.policy.backoff_max)
            with self._count_lock:
                self.retries += 1
            log.info("retrying", url=url, attempt=attempt, problem=problem, wait_s=round(wait, 3))
            self._sleep(wait)
        raise DownloadError(
            url, f"gave up after {self.policy.max_attempts} attempts; last problem: {problem}", transient=True
        )

    def _read_capped(self, url: str, response: httpx.Response) -> tuple[bytes, str]:
        """The body of ``response`` and its sha256, streamed in chunks and refused past ``max_bytes``.

        A larger body is refused from its declared length before any byte is read, or as soon as the stream
        passes the cap, so at most ``max_bytes`` are ever held.
        """
        declared = response.headers.get("Content-Length")
        expected = int(declared) if declared is not None and declared.isdigit() else None
        if expected is not None and expected > self.max_bytes:
            raise BodyTooLargeError(
                url,
                f"declared Content-Length {expected} bytes exceeds the cap of {self.max_bytes} bytes "
                "(ingest.max_download_bytes); not downloaded",
            )
        got = 0
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        for chunk in response.iter_bytes():  # as the transport delivers them: no re-chunking copies
            got += len(chunk)
            if got > self.max_bytes:
                raise BodyTooLargeError(
                    url,
                    f"body passed the cap of {self.max_bytes} bytes (ingest.max_download_bytes) "
                    "while streaming; download stopped",
                )
            digest.update(chunk)
            chunks.append(chunk)
        if expected is not None and got != expected and "Content-Encoding" not in response.headers:
            raise TransientError(f"incomplete body: {got} of {expected} bytes")
        return b"".join(chunks), digest.hexdigest()
