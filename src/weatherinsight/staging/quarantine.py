"""The quarantine directory: copies of bad raw files under ``<quarantine_dir>/<product>/<period>/``.

The raw copy stays where it is (nothing is deleted because of bad data); each quarantine copy is named with
its sha256 prefix so two different bad versions of one name never overwrite each other, and a
``.reason.txt`` beside it says why (and, after a successful retry, when it was released).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from weatherinsight.dwd.products import Product
from weatherinsight.settings import Settings
from weatherinsight.staging.inventory import RawInput
from weatherinsight.storage.raw import raw_filesystem


@dataclass(frozen=True)
class QuarantinedFile:
    """A bad raw file kept in quarantine: its path in the raw store, DWD name, reason and quarantine copy."""

    rel: str
    file_name: str
    reason: str
    quarantine_path: str
    sha256: str = ""


def quarantine_path(settings: Settings, product: Product, item: RawInput) -> Path:
    """Where ``quarantine`` keeps a bad file's bytes (its reason file sits beside it, ``.reason.txt``)."""
    name = f"{item.sha256[:12]}_{PurePosixPath(item.rel).name}"
    return Path(settings.quarantine_dir) / product.name / item.period / name


def _reason_file(path: Path) -> Path:
    return path.with_name(path.name + ".reason.txt")


def quarantine(settings: Settings, product: Product, item: RawInput, reason: str) -> QuarantinedFile:
    """Copy a bad file's bytes to the quarantine directory with a reason file."""
    fs, _ = raw_filesystem(settings)
    target = quarantine_path(settings, product, item)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():  # the bytes kept by an earlier run are never rewritten
        tmp = target.with_name(f".{target.name}.part")
        tmp.write_bytes(fs.cat_file(item.path))
        os.replace(tmp, target)
    _reason_file(target).write_text(
        f"file: {item.rel}\nsha256: {item.sha256}\nproduct: {product.name}\n"
        f"quarantined_at: {datetime.now(UTC).isoformat()}\nreason: {reason}\n",
        encoding="utf-8",
    )
    return QuarantinedFile(item.rel, item.file_name, reason, str(target), item.sha256)


def note_released(settings: Settings, product: Product, item: RawInput) -> None:
    """Append to the quarantine copy's reason file that a retry staged the file (the copy itself stays)."""
    reason = _reason_file(quarantine_path(settings, product, item))
    if reason.exists():
        with reason.open("a", encoding="utf-8") as fh:
            fh.write(f"released_at: {datetime.now(UTC).isoformat()} (parsed again and staged by a retry)\n")
