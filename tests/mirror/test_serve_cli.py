"""`weatherinsight mirror serve` as a real process: index pages, HEAD, conditional GET and a CLI fault."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fixtures.core import free_port


def test_mirror_serve_process(mirror_dir: Path) -> None:
    port = free_port()
    cli = Path(sys.executable).with_name("weatherinsight")
    proc = subprocess.Popen(
        [str(cli), "mirror", "serve", str(mirror_dir), "--port", str(port), "--fault", "503:*_akt.zip:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/climate_environment/CDC/observations_germany/climate/hourly/"
    try:
        deadline = time.monotonic() + 120
        index = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                index = httpx.get(base + "air_temperature/recent/", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert index is not None and index.status_code == 200, proc.poll()
        assert "<title>Index of" in index.text
        zips = sorted(p.name for p in (mirror_dir.glob("**/air_temperature/recent/*_akt.zip")))
        assert zips and all(f'href="{name}"' in index.text for name in zips)

        url = base + "air_temperature/recent/" + zips[0]
        assert httpx.get(url, timeout=10).status_code == 503  # the one injected fault from --fault
        head = httpx.head(url, timeout=10)
        size = next(p for p in mirror_dir.glob("**/air_temperature/recent/" + zips[0])).stat().st_size
        assert head.status_code == 200 and int(head.headers["content-length"]) == size
        full = httpx.get(url, timeout=10)
        assert full.status_code == 200 and len(full.content) == size
        again = httpx.get(url, headers={"If-None-Match": full.headers["etag"]}, timeout=10)
        assert again.status_code == 304 and again.content == b""
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode is not None
