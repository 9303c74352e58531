"""The daily staging state: ``<staged_dir>/<product>/_daily_state.json`` (issue #19, the no-op re-run).

What the last successful ``stage_daily`` run learnt without which a re-run would have to parse every zip again:
the raw inputs it saw (each file's path, sha256, period and name — what ``fingerprint`` uses), the files it
quarantined (with the reason) and, per station, the files it staged and the quarters its merged rows fell in.
From that, every quarter's input fingerprint is computed without opening a zip. The file is written atomically
once a run has published its quarters; a missing, garbled or other-format file reads as "no state", so the run
parses everything (never a wrong skip).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weatherinsight.errors import WeatherInsightError
from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter
from weatherinsight.staging.inventory import Inventory, RawInput
from weatherinsight.staging.state import fingerprint
from weatherinsight.storage import staged as staged_store

log = get_logger(__name__)
STATE_FILE = "_daily_state.json"
#: Bump when the file's layout changes: an older file then reads as "no state" (one full run).
STATE_FORMAT = 1


def daily_state_path(staged_dir: Path, product: str) -> Path:
    """Where one daily product's staging state lives."""
    return staged_store.product_dir(Path(staged_dir), product) / STATE_FILE


def inputs_key(inventory: Inventory) -> list[list[str]]:
    """Every stored input (unrecognised and ``_history`` files included) as sorted [rel, sha256, period, name]."""
    return sorted([i.rel, i.sha256, i.period, i.file_name] for i in inventory.everything)


@dataclass
class StationEntry:
    """One station as the last run staged it: its parsed files and the quarters its merged rows fell in."""

    files: list[tuple[str, str, str]] = field(default_factory=list)  # (sha256, period, name)
    quarters: list[str] = field(default_factory=list)


@dataclass
class DailyState:
    """The inputs of the last successful run, what it quarantined and what each station contributed."""

    inputs: list[list[str]] = field(default_factory=list)
    #: [rel, reason] of every file the run quarantined, in the order it reported them
    quarantined: list[list[str]] = field(default_factory=list)
    stations: dict[int, StationEntry] = field(default_factory=dict)

    def add_station(self, station: int, items: Iterable[RawInput], quarters: Iterable[Quarter]) -> None:
        self.stations[station] = StationEntry(
            [(i.sha256, i.period, i.file_name) for i in items], sorted({str(q) for q in quarters})
        )

    def fingerprints(self) -> dict[Quarter, str]:
        """Every quarter with staged rows → its input fingerprint (the files of the stations with rows in it)."""
        files: dict[str, list[tuple[str, str, str]]] = {}
        for entry in self.stations.values():
            for q in entry.quarters:
                files.setdefault(q, []).extend(entry.files)
        return {Quarter.parse(q): fingerprint(Quarter.parse(q), f) for q, f in sorted(files.items())}

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the previous state (or none), never a torn one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        body = {
            "format": STATE_FORMAT,
            "inputs": self.inputs,
            "quarantined": self.quarantined,
            "stations": {
                str(s): {"files": [list(f) for f in e.files], "quarters": e.quarters}
                for s, e in sorted(self.stations.items())
            },
        }
        tmp.write_text(json.dumps(body, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)


def load_daily_state(path: Path) -> DailyState | None:
    """The saved state; None when there is none or it cannot be read as this format (then all is parsed)."""
    if not path.exists():
        return None
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != STATE_FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {STATE_FORMAT}")
        inputs = [[str(x) for x in row] for row in raw["inputs"]]
        if any(len(row) != 4 for row in inputs):
            raise ValueError("an input is not [rel, sha256, period, name]")
        quarantined = [[str(rel), str(reason)] for rel, reason in raw["quarantined"]]
        stations: dict[int, StationEntry] = {}
        for sid, e in raw["stations"].items():
            files = [(str(sha), str(period), str(name)) for sha, period, name in e["files"]]
            quarters = [str(Quarter.parse(q)) for q in e["quarters"]]
            stations[int(sid)] = StationEntry(files, quarters)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, WeatherInsightError) as exc:
        log.warning("stage_daily.state_unreadable", path=str(path), error=str(exc))
        return None
    return DailyState(inputs, quarantined, stations)
