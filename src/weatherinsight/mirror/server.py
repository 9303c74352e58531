"""The HTTP mirror: serves a built mirror directory like opendata.dwd.de, with switchable fault injection.

Owns: index pages in DWD's autoindex style (``<a href>`` name, date, size), ``GET``/``HEAD``, ``ETag`` and
``Last-Modified``, conditional requests (``If-None-Match`` wins over ``If-Modified-Since``, → 304), and the
faults a fragile server shows — 429 with ``Retry-After``, 503, slow responses, a connection reset in the
middle of a body, a truncated body, an empty listing, and a listing naming a file that answers 404 — and the
hostile ones (issue #14): ``huge`` (a ``size``-byte body of zeros, streamed, with or without a declared
``Content-Length``), ``wrong_length`` (a ``Content-Length`` larger than the body sent) and ``corrupt`` (the
right length, garbage bytes: a deterministic verification failure).

Faults are rules matched against the request path (fnmatch patterns) and consumed ``times`` times (None =
for ever). Tests call ``server.faults.add(...)``; a running ``mirror serve`` takes the same rules as JSON on
``POST /_control/faults`` (``DELETE`` clears them). ``server.requests`` records (method, path, status).

It speaks HTTP/1.1 with keep-alive and TCP_NODELAY: every answer declares its length (304 and 204 carry
none and no body), and an answer whose body a fault breaks says ``Connection: close`` and closes, so a
client's pooled connection never carries a half-read body into the next request. ``server.connections``
counts accepted TCP connections.
"""

from __future__ import annotations

import email.utils
import fnmatch
import html
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from weatherinsight.mirror import MIRROR_PREFIX

FaultKind = Literal[
    "429", "503", "slow", "reset", "truncate", "empty_listing", "phantom", "huge", "wrong_length", "corrupt"
]
FAULT_KINDS: tuple[str, ...] = (
    "429",
    "503",
    "slow",
    "reset",
    "truncate",
    "empty_listing",
    "phantom",
    "huge",
    "wrong_length",
    "corrupt",
)
#: The body faults: they replace or break the body of a file answer.
_BODY_FAULTS = ("reset", "truncate", "huge", "wrong_length", "corrupt")
CONTROL_PATH = "/_control/faults"
_STATION_IN_NAME = re.compile(r"_\d{5}_")


@dataclass
class Fault:
    """One injected fault: ``kind`` on paths matching ``pattern``, ``times`` more times (None = always)."""

    kind: str
    pattern: str = "*"
    times: int | None = None
    retry_after: float = 1.0
    delay: float = 0.5
    #: The name a "phantom" listing adds; empty = a zip name of the directory with station 99999.
    phantom_name: str = ""
    #: "huge": bytes in the body, and whether ``Content-Length`` declares them (else the body ends at close).
    size: int = 2 << 30
    declare_length: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "pattern": self.pattern,
            "times": self.times,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "phantom_name": self.phantom_name,
            "size": self.size,
            "declare_length": self.declare_length,
        }


class FaultPlan:
    """Thread-safe list of fault rules; ``take`` consumes the first matching rule of the given kinds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self.fired: list[tuple[str, str]] = []

    def add(self, kind: str, pattern: str = "*", *, times: int | None = None, **options: Any) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        fault = Fault(kind=kind, pattern=pattern, times=times, **options)
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        """Drop every rule and the record of fired faults."""
        with self._lock:
            self._rules.clear()
            self.fired.clear()

    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def take(self, path: str, kinds: tuple[str, ...]) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.kind in kinds and fnmatch.fnmatchcase(path, rule.pattern):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._rules.remove(rule)
                    self.fired.append((rule.kind, path))
                    return rule
        return None


def _phantom_name(entries: list[tuple[str, bool, float, int]]) -> str:
    """A plausible zip name of this directory for a station that does not exist (99999)."""
    for name, is_dir, _, _ in entries:
        if not is_dir and _STATION_IN_NAME.search(name):
            return _STATION_IN_NAME.sub("_99999_", name, count=1)
    return "stundenwerte_ZZ_99999_akt.zip"


def etag_for(stat: os.stat_result) -> str:
    """Apache-like strong ETag from size and mtime (ns), so a replaced file gets a new one."""
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def _http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def render_index(url_path: str, entries: list[tuple[str, bool, float, int]]) -> bytes:
    """DWD's autoindex page: ``<a href="name">name</a>  DD-Mon-YYYY HH:MM  size`` lines in a ``<pre>``."""
    title = html.escape(url_path)
    lines = [
        "<html>",
        f"<head><title>Index of {title}</title></head>",
        "<body>",
        f'<h1>Index of {title}</h1><hr><pre><a href="../">../</a>',
    ]
    for name, is_dir, mtime, size in entries:
        shown = name + ("/" if is_dir else "")
        stamp = datetime.fromtimestamp(mtime, UTC).strftime("%d-%b-%Y %H:%M")
        pad = " " * max(1, 51 - len(shown))
        size_text = "-" if is_dir else str(size)
        lines.append(
            f'<a href="{urllib.parse.quote(shown)}">{html.escape(shown)}</a>{pad}{stamp} {size_text:>19}'
        )
    lines += ["</pre><hr></body>", "</html>", ""]
    return "\r\n".join(lines).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: MirrorHTTPServer
    # HTTP/1.1 keep-alive: a client reuses one connection for many requests, so every answer below carries a
    # Content-Length (304 and 204 have no body) or says ``Connection: close`` and closes.
    protocol_version = "HTTP/1.1"
    server_version = "WeatherInsightMirror/1.0"
    # TCP_NODELAY: headers and body go out as separate writes; Nagle would hold the body back for the
    # client's delayed ACK (≈ 40 ms) on every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log lives in server.requests; stderr noise would drown test output

    # --- helpers ---------------------------------------------------------------------------------------
    def _record(self, status: int) -> None:
        self.server.record(self.command, self.path, status)

    def _send_simple(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self._record(status)  # before the bytes go out, so a client that got the answer sees it logged
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status != 204:  # a 204 has no body and must not declare a length
            self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _resolve(self, url_path: str) -> Path | None:
        rel = urllib.parse.unquote(url_path).lstrip("/")
        target = (self.server.root / rel).resolve()
        root = self.server.root.resolve()
        if target != root and root not in target.parents:
            return None
        return target

    def _transient_faults(self, path: str) -> bool:
        fault = self.server.faults.take(path, ("429", "503", "slow"))
        if fault is None:
            return False
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        if fault.kind == "429":
            retry = (
                f"{fault.retry_after:g}"
                if fault.retry_after == int(fault.retry_after)
                else f"{fault.retry_after}"
            )
            self._send_simple(429, b"Too Many Requests\n", {"Retry-After": retry})
        else:
            self._send_simple(503, b"Service Unavailable\n")
        return True

    # --- verbs -----------------------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        with self.server.in_flight():
            self._serve()

    def do_GET(self) -> None:
        with self.server.in_flight():
            self._serve()

    def do_POST(self) -> None:
        if urllib.parse.urlsplit(self.path).path != CONTROL_PATH:
            self._send_simple(405, b"Method Not Allowed\n")
            return
        length = int(self.headers.get("Content-Length", "0"))
        try:
            payload = json.loads(self.rfile.read(length) or b"[]")
            rules = payload if isinstance(payload, list) else [payload]
            for r in rules:
                self.server.faults.add(**r)
        except (ValueError, TypeError) as exc:
            self._send_simple(400, f"bad fault rule: {exc}\n".encode())
            return
        body = json.dumps([r.to_json() for r in self.server.faults.rules()]).encode()
        self._send_simple(200, body)

    def do_DELETE(self) -> None:
        if urllib.parse.urlsplit(self.path).path != CONTROL_PATH:
            self._send_simple(405, b"Method Not Allowed\n")
            return
        self.server.faults.clear()
        self._send_simple(204)

    def _serve(self) -> None:
        url_path = urllib.parse.urlsplit(self.path).path
        if url_path == CONTROL_PATH:
            body = json.dumps([r.to_json() for r in self.server.faults.rules()]).encode()
            self._send_simple(200, body)
            return
        if self._transient_faults(url_path):
            return
        target = self._resolve(url_path)
        if (
            target is None
            or not target.exists()
            or any(p.startswith(".") for p in target.relative_to(self.server.root.resolve()).parts)
        ):
            self._send_simple(404, b"Not Found\n")
            return
        if target.is_dir():
            if not url_path.endswith("/"):
                self._send_simple(301, b"", {"Location": url_path + "/"})
                return
            self._serve_index(url_path, target)
            return
        self._serve_file(url_path, target)

    def _serve_index(self, url_path: str, directory: Path) -> None:
        entries: list[tuple[str, bool, float, int]] = []
        if self.server.faults.take(url_path, ("empty_listing",)) is None:
            for child in sorted(directory.iterdir(), key=lambda p: p.name):
                if child.name.startswith("."):
                    continue  # temp files of a release in progress and the manifest
                st = child.stat()
                entries.append((child.name, child.is_dir(), st.st_mtime, st.st_size))
            phantom = self.server.faults.take(url_path, ("phantom",))
            if phantom is not None:
                entries.append((phantom.phantom_name or _phantom_name(entries), False, time.time(), 12345))
                entries.sort(key=lambda e: e[0])
        body = render_index(url_path, entries)
        self._record(200)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve_file(self, url_path: str, target: Path) -> None:
        st = target.stat()
        etag = etag_for(st)
        last_modified = _http_date(st.st_mtime)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        not_modified = False
        if inm is not None:
            not_modified = etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        elif ims is not None:
            parsed = email.utils.parsedate_to_datetime(ims) if ims else None
            not_modified = parsed is not None and int(st.st_mtime) <= parsed.timestamp()
        headers = {"ETag": etag, "Last-Modified": last_modified, "Accept-Ranges": "none"}
        if not_modified:
            self._record(304)
            self.send_response(304)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            return
        data = target.read_bytes()
        broken = None if self.command == "HEAD" else self.server.faults.take(url_path, _BODY_FAULTS)
        if broken is not None and broken.kind in ("huge", "wrong_length", "corrupt"):
            self._hostile_body(broken, data, headers)
            return
        self._record(200 if broken is None else (-200 if broken.kind == "truncate" else -1))
        self.send_response(200)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/zip" if target.suffix == ".zip" else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        if broken is not None:
            self._close_after()
        self.end_headers()
        if self.command == "HEAD":
            return
        if broken is None:
            self.wfile.write(data)
            return
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        if broken.kind == "reset":
            # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer" mid-body.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _close_after(self) -> None:
        """Say ``Connection: close`` (sets ``close_connection``): the body that follows is broken or ends at
        close, so the connection cannot carry another request."""
        self.send_header("Connection", "close")

    def _hostile_body(self, fault: Fault, data: bytes, headers: dict[str, str]) -> None:
        """Answer 200 with a ``huge``, ``wrong_length`` or ``corrupt`` body (recorded as status 200)."""
        self._record(200)
        self.send_response(200)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/zip")
        if fault.kind == "corrupt":
            body = bytes((i * 7 + 13) % 256 for i in range(len(data)))  # same length, not a zip
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._close_after()
        if fault.kind == "wrong_length":
            self.send_header("Content-Length", str(len(data) + 4096))
            self.end_headers()
            self.wfile.write(data)  # 4 KiB short of what was declared, then the connection closes
            self.wfile.flush()
            return
        if fault.declare_length:
            self.send_header("Content-Length", str(fault.size))
        self.end_headers()
        chunk = bytes(1 << 20)
        sent = 0
        try:
            while sent < fault.size:
                n = min(len(chunk), fault.size - sent)
                self.wfile.write(chunk[:n])
                sent += n
        except OSError:
            pass  # the client stopped reading (as it should past its cap)


class MirrorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server over a mirror directory, with a fault plan and a request log."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root)
        self.faults = FaultPlan()
        self._log_lock = threading.Lock()
        self.requests: list[tuple[str, str, int]] = []
        self._in_flight = 0
        self.max_in_flight = 0
        #: TCP connections accepted: with keep-alive, far fewer than requests.
        self.connections = 0
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (timeouts in fault tests) is normal here; anything else is printed."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Count the accepted connection, then serve it on its own thread (``ThreadingHTTPServer``)."""
        with self._log_lock:
            self.connections += 1
        super().process_request(request, client_address)

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count requests being served; ``max_in_flight`` shows a client's real concurrency."""
        with self._log_lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._log_lock:
                self._in_flight -= 1

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is being served (e.g. a slow-fault handler a test stopped waiting for)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._log_lock:
                if self._in_flight == 0:
                    return True
            time.sleep(0.02)
        return False

    def record(self, method: str, path: str, status: int) -> None:
        with self._log_lock:
            self.requests.append((method, path, status))

    def clear_log(self) -> None:
        with self._log_lock:
            self.requests.clear()
            self.max_in_flight = 0
            self.connections = 0

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        host = self.server_address[0]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{self.port}/"

    @property
    def base_url(self) -> str:
        """The DWD-style base URL of the hourly tree (what ``settings.dwd_base_url`` should be)."""
        return self.url + MIRROR_PREFIX

    def start(self) -> MirrorHTTPServer:
        self._thread = threading.Thread(target=self.serve_forever, name=f"mirror:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MirrorHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(root: Path, host: str = "127.0.0.1", port: int = 0) -> MirrorHTTPServer:
    """Start a mirror server in a daemon thread and return it (``.base_url``, ``.faults``, ``.stop()``)."""
    return MirrorHTTPServer(root, host, port).start()
