"""The staging inventory: which raw zips of one product the raw store holds, hashed, and what they claim.

Lists ``<raw_store>/dwd/<product>/<period>/`` (the layout of ``weatherinsight.storage.raw``), including older
releases kept in ``_history/`` (release precedence needs them), and reads each zip's directory to estimate
the hours it covers without decompressing it (planning a re-run then costs almost nothing).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import PurePosixPath
from typing import Any

from weatherinsight.dwd.files import find_zip_name, is_station_list, produkt_name_range
from weatherinsight.dwd.products import PERIODS, Product
from weatherinsight.errors import DwdFormatError
from weatherinsight.settings import Settings
from weatherinsight.storage.raw import in_history, product_prefix, raw_filesystem
from weatherinsight.vocabulary import ProgressCallback, ProgressEvent, no_progress

#: The progress task reported while the raw files are hashed (total unknown).
INVENTORY_TASK = "inventory (hash raw files)"
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


def list_raw_inputs(
    settings: Settings, product: Product, *, progress: ProgressCallback = no_progress
) -> Inventory:
    """All raw zips of a product, hashed; plus unrecognised zips and the station-list paths.

    Unrecognised zips (a name we cannot read, or another product's code) are quarantined by the caller
    rather than skipped silently.
    """
    progress(ProgressEvent(INVENTORY_TASK))
    fs, base = product_raw_root(settings, product)
    if not fs.exists(base):
        return Inventory([], [], [])
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
        if is_station_list(name):
            lists.append(path)
            continue
        if ".zip" not in name.lower():
            continue
        data = fs.cat_file(path)
        digest = hashlib.sha256(data).hexdigest()
        found = find_zip_name(name)
        item = RawInput(
            path,
            rel,
            found.name if found else name,
            period,
            found.station_id if found else None,
            digest,
            len(data),
        )
        if found is None or found.code != product.code:
            bad.append(item)
        else:
            inputs.append(item)
        progress(ProgressEvent(INVENTORY_TASK, advance=1))
    return Inventory(inputs, bad, lists)


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
