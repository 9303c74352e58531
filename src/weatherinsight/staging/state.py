"""The staging state store: ``<staged_dir>/<product>/_state.json``.

What the previous runs staged — every file seen (by path and sha256, with the hour range it covered or why
it was quarantined) and every quarter's input fingerprint, row count and version. Planning compares the raw
store against it; a run saves it atomically once its partitions are committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from weatherinsight.quarters import Quarter
from weatherinsight.staging.inventory import RawInput
from weatherinsight.staging.worker import FileOutcome
from weatherinsight.storage import staged as staged_store

#: Bump when staging output for the same inputs changes (forces every quarter to be rewritten once).
STAGE_FORMAT_VERSION = "1"
STATE_FILE = "_state.json"


def state_path(staged_dir: Path, product: str) -> Path:
    """Where one product's staging state lives."""
    return staged_store.product_dir(staged_dir, product) / STATE_FILE


@dataclass
class StagingState:
    """What the previous runs staged: every file seen (by path + sha256) and every quarter's fingerprint."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # rel → outcome dict
    quarters: dict[str, dict[str, Any]] = field(default_factory=dict)  # "2021Q3" → fingerprint/rows/version

    @classmethod
    def load(cls, path: Path) -> StagingState:
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(files=raw.get("files", {}), quarters=raw.get("quarters", {}))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(
            json.dumps(
                {"files": self.files, "quarters": self.quarters}, indent=1, sort_keys=True, default=str
            ),
            encoding="utf-8",
        )
        os.replace(tmp, path)  # atomic: a crash leaves the old state, never a torn one

    def known(self, item: RawInput) -> dict[str, Any] | None:
        entry = self.files.get(item.rel)
        if entry and entry.get("sha256") == item.sha256:
            return entry
        # A file moved into _history keeps its bytes: find it by content.
        for e in self.files.values():
            if e.get("sha256") == item.sha256 and e.get("file_name") == item.file_name:
                return e
        return None

    @property
    def quarantined_count(self) -> int:
        return sum(1 for e in self.files.values() if not e.get("ok"))

    def remember(self, outcome: FileOutcome) -> None:
        """Store what a run learnt about one file."""
        self.files[outcome.rel] = outcome_to_state(outcome)

    def forget_quarantined(self, items: Iterable[RawInput]) -> dict[str, dict[str, Any]]:
        """Drop the entries of the quarantined files among ``items`` so that planning parses them again.

        Returns the dropped entries by the file's current path: a file the run then does not reach (outside
        the requested quarters) gets its entry back (``restore``), so it stays quarantined, not forgotten.
        """
        retrying: dict[str, dict[str, Any]] = {}
        for item in items:
            entry = self.known(item)
            if entry is not None and not entry.get("ok"):
                retrying[item.rel] = {**entry, "rel": item.rel}
        keys = {(e.get("sha256"), e.get("file_name")) for e in retrying.values()}
        self.files = {
            rel: e
            for rel, e in self.files.items()
            if e.get("ok") or (e.get("sha256"), e.get("file_name")) not in keys
        }
        return retrying

    def restore(self, entries: dict[str, dict[str, Any]]) -> None:
        """Put back the forgotten entries the run did not reach (they stay quarantined)."""
        for rel, entry in entries.items():
            self.files.setdefault(rel, entry)

    def keep_only(self, rels: Iterable[str]) -> None:
        """Forget the files no longer in the raw store."""
        present = set(rels)
        self.files = {rel: e for rel, e in self.files.items() if rel in present}

    def current_versions(self, requested: set[Quarter] | None) -> dict[str, str]:
        """The staged version now in place per quarter (those requested, or all)."""
        return {
            q: str(v["version"])
            for q, v in sorted(self.quarters.items())
            if v.get("version") and (requested is None or Quarter.parse(q) in requested)
        }


def outcome_to_state(o: FileOutcome) -> dict[str, Any]:
    """A file outcome as a JSON-ready state entry."""
    d = asdict(o)
    for k in ("first", "last", "release"):
        d[k] = d[k].isoformat() if d[k] is not None else None
    return d


def entry_range(entry: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """The hour range a state entry covered; None for a quarantined file or one without rows."""
    if not entry.get("ok") or not entry.get("first") or not entry.get("last"):
        return None
    return datetime.fromisoformat(entry["first"]), datetime.fromisoformat(entry["last"])


def fingerprint(quarter: Quarter, files: Iterable[tuple[str, str, str]]) -> str:
    """Input fingerprint of one quarter: the staging format and the (sha256, period, name) of its files."""
    h = hashlib.sha256(f"stage-v{STAGE_FORMAT_VERSION}|{quarter}".encode())
    for sha, period, name in sorted(set(files)):
        h.update(f"|{sha}:{period}:{name}".encode())
    return h.hexdigest()
