"""The staging inventory: which raw zips of one product the raw store holds, hashed, and what they claim.

Lists ``<raw_store>/dwd/<product>/<period>/`` (the layout of ``weatherinsight.storage.raw``), including older
releases kept in ``_history/`` (release precedence needs them), and reads each zip's directory to estimate
the hours it covers without decompressing it (planning a re-run then costs almost nothing).

Hashing every raw file on every run cost a no-op re-run seconds at archive scale (issue #19), so the sha256 of
each file is remembered in ``<staged_dir>/<product>/_hashes.json`` with the size and modification stamp it was
hashed at; a file whose stamp is unchanged is not read again. The raw store replaces files atomically (a new
file, so a new stamp), and staging still checks every byte it parses against the sha256.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from weatherinsight.dwd.files import find_zip_name, is_station_list, produkt_name_range
from weatherinsight.dwd.products import PERIODS, Product
from weatherinsight.errors import DwdFormatError
from weatherinsight.logs import get_logger
from weatherinsight.settings import Settings
from weatherinsight.storage import staged as staged_store
from weatherinsight.storage.raw import in_history, product_prefix, raw_filesystem
from weatherinsight.vocabulary import ProgressCallback, ProgressEvent, no_progress

log = get_logger(__name__)

#: The progress task reported while the raw files are hashed (total unknown).
INVENTORY_TASK = "inventory (hash raw files)"
#: The file (in the product's staged directory) that remembers each raw file's sha256 with its stamp.
HASH_CACHE = "_hashes.json"
#: The produkt entry's name range is a claim, not a fact (FORMAT §1.3); widen it by a day so the MEZ shift
#: and a last row past the named end can never escape the estimate.
ESTIMATE_MARGIN = timedelta(days=1)


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
        return in_history(self.rel)


@dataclass(frozen=True)
class Inventory:
    """A product's raw store contents: its zips, zips that are not its own (to quarantine), station lists."""

    inputs: list[RawInput]
    unrecognised: list[RawInput]
    station_lists: list[str]

    @property
    def everything(self) -> list[RawInput]:
        return [*self.inputs, *self.unrecognised]


def product_raw_root(settings: Settings, product: Product) -> tuple[Any, str]:
    """The raw store's filesystem and the product's directory in it."""
    fs, root = raw_filesystem(settings)
    return fs, product_prefix(root, product.name)


def file_stamp(info: Mapping[str, Any]) -> str | None:
    """A stored file's size and modification stamp from its fsspec ``info``; None when the store has no stamp.

    Local files give ``mtime``, S3 gives ``LastModified`` and ``ETag`` (a rewrite changes them).
    """
    marks = [str(info[k]) for k in ("mtime", "LastModified", "ETag") if info.get(k) is not None]
    return f"{info.get('size')}|{'|'.join(marks)}" if marks else None


def _load_hashes(path: Path | None) -> dict[str, list[str]]:
    """``{full path: [stamp, sha256]}``; empty when there is no cache or it cannot be read (then all is hashed)."""
    if path is None or not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in raw.items() if isinstance(v, list) and len(v) == 2} if isinstance(raw, dict) else {}
    )


def _save_hashes(path: Path, hashes: dict[str, list[str]]) -> None:
    """Save the cache; a failure only costs the next run its hashing (the run itself reports write errors)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for left in path.parent.glob(f".{path.name}.*"):  # a killed run's temp file (we hold the stage lock)
            left.unlink(missing_ok=True)
        tmp.write_text(json.dumps(hashes, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a crash leaves the old cache (or none), never a torn one
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        log.warning("stage.hash_cache_not_saved", path=str(path), error=str(exc))


def list_raw_inputs(
    settings: Settings,
    product: Product,
    *,
    progress: ProgressCallback = no_progress,
    hash_cache: Path | None = None,
) -> Inventory:
    """All raw zips of a product, hashed; plus unrecognised zips and the station-list paths.

    Unrecognised zips (a name we cannot read, or another product's code) are quarantined by the caller
    rather than skipped silently. With ``hash_cache`` (a ``HASH_CACHE`` path; only under the product's staging
    lock), a file whose size and modification stamp are those it was last hashed at is not read again.
    """
    progress(ProgressEvent(INVENTORY_TASK))
    fs, base = product_raw_root(settings, product)
    if not fs.exists(base):
        return Inventory([], [], [])
    inputs: list[RawInput] = []
    bad: list[RawInput] = []
    lists: list[str] = []
    known = _load_hashes(hash_cache)
    hashes: dict[str, list[str]] = {}
    # A fresh listing: the stamps below decide whether a file is read again, so a listing cached by this
    # process's filesystem instance (s3fs keeps one) must not stand in for the store's current state.
    fs.invalidate_cache(base)
    found_files: dict[str, Any] = fs.find(base, detail=True)
    for path in sorted(found_files):
        rel = path[len(base) + 1 :] if path.startswith(base + "/") else PurePosixPath(path).name
        parts = rel.split("/")
        period = parts[0]
        if period not in PERIODS or len(parts) < 2:
            continue
        name = parts[-1]
        if name.startswith(".") or name.endswith(".part"):
            continue  # the raw store's in-flight temp files
        if is_station_list(name):
            lists.append(path)
            continue
        if ".zip" not in name.lower():
            continue
        info = found_files[path]
        stamp = file_stamp(info)
        cached = known.get(path)
        if stamp is not None and cached is not None and cached[0] == stamp and info.get("size") is not None:
            digest, size = cached[1], int(info["size"])
        else:
            data = fs.cat_file(path)
            digest, size = hashlib.sha256(data).hexdigest(), len(data)
        if stamp is not None:
            hashes[path] = [stamp, digest]
        found = find_zip_name(name)
        item = RawInput(
            path,
            rel,
            found.name if found else name,
            period,
            found.station_id if found else None,
            digest,
            size,
        )
        if found is None or found.code != product.code:
            bad.append(item)
        else:
            inputs.append(item)
        progress(ProgressEvent(INVENTORY_TASK, advance=1))
    if hash_cache is not None and hashes != known:
        _save_hashes(hash_cache, hashes)
    return Inventory(inputs, bad, lists)


def hash_cache_path(settings: Settings, product: Product) -> Path:
    """The product's ``HASH_CACHE`` file, in its staged directory."""
    return staged_store.product_dir(Path(settings.staged_dir), product.name) / HASH_CACHE


def list_for_run(
    settings: Settings, product: Product, *, progress: ProgressCallback = no_progress
) -> Inventory:
    """``list_raw_inputs`` as a staging run lists (it holds the product's staging lock): with the hash cache."""
    return list_raw_inputs(
        settings, product, progress=progress, hash_cache=hash_cache_path(settings, product)
    )


def estimate_range(data: bytes) -> tuple[datetime, datetime] | None:
    """The hour range a zip's produkt entry name claims, widened by a margin; None when it cannot tell.

    Reads only the zip directory (no decompression).
    """
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    for n in names:
        try:
            claim = produkt_name_range(n)
        except DwdFormatError:
            return None  # the first produkt name found decides, as it always has
        if claim is not None:
            first = datetime.combine(claim[0], time(), UTC)
            last = datetime.combine(claim[1], time(), UTC) + timedelta(hours=23)
            return first - ESTIMATE_MARGIN, last + ESTIMATE_MARGIN
    return None


def group_by_station(items: Iterable[RawInput]) -> dict[int, list[RawInput]]:
    """The inputs per station id (``-1`` for files whose name carries none), in station order."""
    groups: dict[int, list[RawInput]] = {}
    for i in items:
        groups.setdefault(i.station_id if i.station_id is not None else -1, []).append(i)
    return dict(sorted(groups.items()))
