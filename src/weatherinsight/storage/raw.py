"""The raw store: DWD files byte for byte under ``<raw_store>/dwd/<product>/<period>/<file name>`` (docs/design.md §4).

Owns where raw files live and how they are written. The store is any fsspec URL (a local directory by
default, ``s3://bucket/prefix`` for S3/MinIO). A write never leaves a partial file: locally the bytes go to a
hidden temp name in the same directory and are renamed over the target (atomic on POSIX); on object stores a
single PUT of the verified bytes is atomic by itself. A replaced file's older bytes are first copied to
``<period>/_history/<sha256[:16]>_<file name>`` — never deleted.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from weatherinsight.settings import Settings

HISTORY_DIR = "_history"


def product_key(product: str) -> str:
    """One product's directory relative to the store root: ``dwd/<product>``."""
    return f"dwd/{product}"


def product_prefix(root: str, product: str) -> str:
    """Where one product's files live under a store root: ``<root>/dwd/<product>``."""
    return f"{root}/{product_key(product)}"


def in_history(rel: str) -> bool:
    """True for a path (relative to the product prefix) inside a ``_history`` directory."""
    return f"/{HISTORY_DIR}/" in f"/{rel}"


def raw_filesystem(settings: Settings) -> tuple[Any, str]:
    """The raw store's fsspec filesystem and root path (without a trailing slash); nothing is created."""
    fs, root = fsspec.core.url_to_fs(settings.raw_store_url, **raw_store_options(settings))
    return fs, str(root).rstrip("/")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Committed:
    """What ``commit`` did: ``outcome`` is ``new``, ``changed`` or ``unchanged``."""

    path: str
    sha256: str
    size: int
    outcome: str
    history_path: str | None = None


class RawStore:
    """The raw file store behind one fsspec URL."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.url = url.rstrip("/")
        self.fs, root = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        self.root = root.rstrip("/")
        self.local = isinstance(self.fs, LocalFileSystem)
        if self.local:
            self.fs.makedirs(self.root, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> RawStore:
        return cls(settings.raw_store_url, raw_store_options(settings))

    # --- paths ------------------------------------------------------------------------------------------
    def key(self, product: str, period: str, name: str) -> str:
        return f"{product_key(product)}/{period}/{name}"

    def path(self, product: str, period: str, name: str) -> str:
        return f"{self.root}/{self.key(product, period, name)}"

    def history_path(self, product: str, period: str, name: str, sha256: str) -> str:
        return f"{product_prefix(self.root, product)}/{period}/{HISTORY_DIR}/{sha256[:16]}_{name}"

    def display(self, path: str) -> str:
        """A path as a URL people can paste (``s3://…`` for object stores)."""
        if self.local:
            return path
        protocol = self.fs.protocol[0] if isinstance(self.fs.protocol, tuple) else self.fs.protocol
        return f"{protocol}://{path}"

    # --- reading ---------------------------------------------------------------------------------------
    def exists(self, product: str, period: str, name: str) -> bool:
        return bool(self.fs.exists(self.path(product, period, name)))

    def read(self, product: str, period: str, name: str) -> bytes:
        data: bytes = self.fs.cat_file(self.path(product, period, name))
        return data

    def list_files(self, product: str, period: str) -> list[str]:
        """File names stored for (product, period); ``_history`` and temp files excluded."""
        base = f"{product_prefix(self.root, product)}/{period}"
        if not self.fs.exists(base):
            return []
        out = []
        for info in self.fs.ls(base, detail=True):
            name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            if info.get("type") == "file" and not name.startswith("."):
                out.append(name)
        return sorted(out)

    def history(self, product: str, period: str) -> list[str]:
        base = f"{product_prefix(self.root, product)}/{period}/{HISTORY_DIR}"
        if not self.fs.exists(base):
            return []
        return sorted(str(p).rsplit("/", 1)[-1] for p in self.fs.ls(base, detail=False))

    # --- writing ---------------------------------------------------------------------------------------
    def _put_atomic(self, path: str, data: bytes) -> None:
        if not self.local:
            self.fs.pipe_file(path, data)  # one PUT: the object appears complete or not at all
            return
        directory, name = os.path.split(path)
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.part")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            # No fsync per file: the rename is what makes an interrupted run safe (the target is either the
            # old or the new complete file); fsync would cost ~10 ms a file and only matters on power loss.
            os.replace(tmp, path)
        except BaseException as exc:
            if os.path.exists(tmp):
                os.unlink(tmp)
            if isinstance(exc, OSError) and exc.filename is None:
                exc.filename = path  # a full disk fails the write, which names no file: name the target
            raise

    def commit(
        self, product: str, period: str, name: str, data: bytes, *, sha256: str | None = None
    ) -> Committed:
        """Store verified bytes as the current version; an older, different version goes to ``_history``.

        ``sha256`` is the digest of ``data`` when the caller already took it (the HTTP client hashes a body
        while it streams in), so the bytes are not hashed twice."""
        digest = sha256 or sha256_hex(data)
        path = self.path(product, period, name)
        if not self.fs.exists(path):
            self._put_atomic(path, data)
            return Committed(path, digest, len(data), "new")
        old = self.fs.cat_file(path)
        old_digest = sha256_hex(old)
        if old_digest == digest:
            return Committed(path, digest, len(data), "unchanged")
        history = self.history_path(product, period, name, old_digest)
        if not self.fs.exists(history):
            self._put_atomic(history, old)
        self._put_atomic(path, data)
        return Committed(path, digest, len(data), "changed", history)


def raw_store_options(settings: Settings) -> dict[str, Any]:
    """fsspec storage options for the raw store (S3 endpoint for MinIO/moto, plus any explicit options)."""
    options: dict[str, Any] = dict(getattr(settings, "raw_store_options", None) or {})
    endpoint = getattr(settings, "s3_endpoint_url", None)
    if endpoint and settings.raw_store_url.startswith(("s3://", "s3a://")):
        options.setdefault("endpoint_url", endpoint)
    return options
