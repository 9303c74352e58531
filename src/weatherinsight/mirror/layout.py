"""The on-disk layout of a simulated DWD mirror: the spec kept in its manifest, what a build wrote, the
directory of each product and period, and the atomic file replacement every writer uses."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from weatherinsight.errors import NotAMirrorError, StorageError
from weatherinsight.mirror import MIRROR_PREFIX

if TYPE_CHECKING:  # the registry loads pyarrow; `weatherinsight mirror status` needs none of it
    from weatherinsight.dwd.products import Product

MANIFEST = ".weatherinsight-mirror.json"
RECENT_DAYS = 550


@dataclass(frozen=True)
class MirrorSpec:
    """What a mirror was built with (stored in the manifest so releases can continue it)."""

    stations: int
    years: int
    seed: int
    today: date
    products: tuple[str, ...]
    release: int = 1
    compresslevel: int = 1

    @property
    def first_year(self) -> int:
        return self.today.year - self.years

    @property
    def release_today(self) -> date:
        return self.today + timedelta(days=self.release - 1)

    @property
    def yesterday(self) -> date:
        return self.release_today - timedelta(days=1)

    @property
    def historical_end(self) -> date:
        return date(self.today.year - 1, 12, 31)

    def to_json(self) -> str:
        d = asdict(self)
        d["today"] = self.today.isoformat()
        d["products"] = list(self.products)
        return json.dumps(d, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MirrorSpec:
        d = json.loads(text)
        d["today"] = date.fromisoformat(d["today"])
        d["products"] = tuple(d["products"])
        return cls(**d)


@dataclass
class BuildSummary:
    """What a build or a release wrote."""

    root: Path
    spec: MirrorSpec
    files: int = 0
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    written: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def hourly_root(root: Path) -> Path:
    """The hourly directory (``climate_environment/CDC/observations_germany/climate/hourly``) of a mirror."""
    return root / MIRROR_PREFIX


def product_dir(root: Path, product: Product, period: str) -> Path:
    """The directory of ``product``'s zips and station list for ``period`` (``climate/<resolution>/<dir>``)."""
    return hourly_root(root).parent / product.path / period


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` through a temporary file, so a server never serves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a served mirror is world-readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_mirror(root: Path) -> Path:
    """``root`` when it is a built mirror (a directory with a manifest), else ``NotAMirrorError`` naming it."""
    if not root.exists():
        problem = "no such directory"
    elif not root.is_dir():
        raise NotAMirrorError(str(root), "it is a file", hint="give the directory of a built mirror")
    elif not (root / MANIFEST).is_file():
        problem = f"no {MANIFEST} in it"
    else:
        return root
    raise NotAMirrorError(str(root), problem, hint=f"build one with `weatherinsight mirror build {root}`")


def check_build_target(root: Path) -> Path:
    """``root`` when a mirror may be built there: a new or empty directory, or a built mirror (rebuilt in place).

    Anything else is refused (``StorageError`` naming it) rather than filled with DWD files.
    """
    if root.exists() and not root.is_dir():
        raise StorageError(str(root), "it is a file, not a directory", hint="give a new or empty directory")
    if root.is_dir() and not (root / MANIFEST).is_file() and any(root.iterdir()):
        raise StorageError(
            str(root),
            f"it holds other files and no {MANIFEST} (it is not a built mirror)",
            hint="give a new or empty directory, or a built mirror to rebuild",
        )
    return root


def load_spec(root: Path) -> MirrorSpec:
    """The spec a mirror was built with, from its manifest (``NotAMirrorError`` when ``root`` is none)."""
    return MirrorSpec.from_json((check_mirror(root) / MANIFEST).read_text(encoding="utf-8"))
