"""Fetching one file: a conditional GET with the last validators, verified, then committed to the raw store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from weatherinsight.dwd.client import DwdClient, format_http_date
from weatherinsight.dwd.files import ZipMember
from weatherinsight.dwd.products import Product
from weatherinsight.ingest.dating import ProduktMember, produkt_member
from weatherinsight.ingest.plan import Target, aware
from weatherinsight.ingest.verify import verifier
from weatherinsight.storage.raw import Committed, RawStore


@dataclass(frozen=True)
class Outcome:
    """What fetching one target did (the raw_files row to write, if any)."""

    target: Target
    outcome: str  # new | changed | unchanged
    size: int
    sha256: str | None
    etag: str | None
    last_modified: datetime | None
    storage_path: str | None
    downloaded: int
    #: The produkt member and the days its name claims, learnt while verifying the download (None without
    #: one): recorded on the raw_files row, so dating never opens the stored zip.
    member: ProduktMember | None = None
    #: When the GET (200 or 304) was sent: recorded with the listing's size and modified time of the target
    #: (``ingest.plan.listing_unchanged``). Taken before the first attempt — retries only make it earlier
    #: than the answer, never later.
    validated_at: datetime | None = None


def fetch_one(
    client: DwdClient, store: RawStore, product: Product, target: Target, max_bytes: int
) -> Outcome:
    """Fetch ``target`` unless unchanged since the recorded ETag/Last-Modified, and store verified bytes."""
    known = target.known
    etag = known["etag"] if known else None
    lm = aware(known["last_modified"]) if known else None
    verify = verifier(target.entry.name, max_bytes, target.zip_name is not None)
    sent = datetime.now(UTC)
    fetched = client.fetch(
        target.entry.url, etag=etag, last_modified=format_http_date(lm) if lm else None, verify=verify
    )
    if fetched.not_modified:
        return Outcome(
            target, "unchanged", known["size"] if known else 0, None, etag, lm, None, 0, validated_at=sent
        )
    assert fetched.content is not None
    committed = store.commit(
        product.name, target.period, target.entry.name, fetched.content, sha256=fetched.sha256
    )
    return Outcome(
        target,
        _against_row(committed, known),
        committed.size,
        committed.sha256,
        fetched.etag,
        fetched.last_modified_at,
        store.display(committed.path),
        len(fetched.content),
        _member(fetched.checked, target.entry.url),
        sent,
    )


def _against_row(committed: Committed, known: dict[str, Any] | None) -> str:
    """The outcome of ``committed`` against the file's recorded row: bytes the store already held ("unchanged")
    that differ from the row's sha256 are a ``changed`` version all the same.

    A run killed after ``RawStore.commit`` replaced the file but before the batch recording it was flushed
    leaves the new bytes stored under the old row (its validators too, so the file is fetched again); the
    commit before the kill kept the old bytes under ``_history/`` first. Recording them as ``changed``
    supersedes the old row, so the row holds the stored bytes' sha256 and size and the raw version of the
    quarters they touch moves on. (Stored bytes without any row are recorded as new: ``record._effective``.)"""
    if committed.outcome == "unchanged" and known is not None and known["sha256"] != committed.sha256:
        return "changed"
    return committed.outcome


def _member(checked: object, url: str) -> ProduktMember | None:
    """The produkt member among the members the verifier returned (a station list has none)."""
    if not isinstance(checked, list) or not checked:
        return None
    return produkt_member((m.name for m in checked if isinstance(m, ZipMember)), url)
