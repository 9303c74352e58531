"""The simulated station catalogue: ids, names, states, coordinates, location history and archive quirks.

Deterministic for a seed. A few stations get fixed roles so every built mirror holds the quirks of the
real archive (FORMAT §1.3, §2.8, §4): MEZ periods (one reaching into the recent window), station moves,
a station closed this year whose recent file holds one day, a station whose pressure file is all -999,
and a station that starts in the middle of the first year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

_PREFIXES = ("Groß", "Klein", "Ober", "Nieder", "Bad ", "Alt", "Neu", "Hohen", "Mittel", "")
_ROOTS = (
    "münster",
    "bach",
    "feld",
    "hausen",
    "dorf",
    "bühl",
    "kirchen",
    "heim",
    "rüti",
    "weiler",
    "brück",
    "stätten",
    "au",
    "berg",
    "öd",
)
_STEMS = ("Lind", "Eich", "Roth", "Wald", "Sonn", "Stein", "Mühl", "Fürst", "Hirsch", "Kreuz", "Asch", "Wies")
_SUFFIXES = (
    "",
    "",
    "",
    " (Flugplatz)",
    ", Kr. Süd",
    " (Sternwarte)",
    "-Nord",
    " (Landeplatz)",
    "/Ost",
    ", Stadt",
)
STATES = (
    "Baden-Württemberg",
    "Bayern",
    "Berlin",
    "Brandenburg",
    "Bremen",
    "Hamburg",
    "Hessen",
    "Mecklenburg-Vorpommern",
    "Niedersachsen",
    "Nordrhein-Westfalen",
    "Rheinland-Pfalz",
    "Saarland",
    "Sachsen",
    "Sachsen-Anhalt",
    "Schleswig-Holstein",
    "Thüringen",
)

#: Products whose Metadaten_Parameter of the MEZ-role stations declare MEZ periods.
MEZ_RECENT_PRODUCT = "wind"
MEZ_HISTORICAL_PRODUCT = "air_temperature"
ALL_MISSING_PRODUCT = "pressure"


@dataclass(frozen=True)
class Location:
    """One row of Metadaten_Geographie: a location period (``until`` None = the current location)."""

    since: date
    until: date | None
    lat: float
    lon: float
    height: float


@dataclass(frozen=True)
class SimStation:
    """One simulated station and its quirks."""

    index: int
    station_id: int
    name: str
    state: str
    start: date
    #: Last day with data (a closed station) or None (active: data up to yesterday).
    closed: date | None
    locations: tuple[Location, ...]
    #: product name → last day (inclusive) whose timestamps are MEZ; UTC afterwards.
    mez_until: dict[str, date] = field(default_factory=dict)
    #: products whose recent file carries -999 in every value column.
    all_missing: tuple[str, ...] = ()

    @property
    def current(self) -> Location:
        return self.locations[-1]

    def last_day(self, yesterday: date) -> date:
        return self.closed if self.closed is not None else yesterday


def _name(rng: np.random.Generator) -> str:
    prefix = _PREFIXES[rng.integers(len(_PREFIXES))]
    stem = _STEMS[rng.integers(len(_STEMS))]
    root = _ROOTS[rng.integers(len(_ROOTS))]
    suffix = _SUFFIXES[rng.integers(len(_SUFFIXES))]
    body = (
        (stem + root)
        if not prefix
        else (prefix + (stem.lower() if not prefix.endswith(" ") else stem) + root)
    )
    # Names with a space occur often in the real list (124/660); the prefix "Bad " gives some.
    return (body + suffix)[:40]


def make_stations(n: int, *, first_year: int, today: date, seed: int) -> list[SimStation]:
    """``n`` stations with unique ids, sorted by id; the fixed quirk roles go to the first indices."""
    if n < 1:
        raise ValueError("at least one station is needed")
    rng = np.random.default_rng([seed, 7041])
    ids = np.sort(rng.choice(np.arange(1, 20000), size=n, replace=False))
    yesterday = today - timedelta(days=1)
    first_day = date(first_year, 1, 1)
    out: list[SimStation] = []
    for i, sid in enumerate(ids.tolist()):
        lat = float(np.round(rng.uniform(47.5, 54.8), 4))
        lon = float(np.round(rng.uniform(6.0, 14.9), 4))
        # Higher ground in the south, as in Germany.
        height = float(np.round(max(0.0, (55.0 - lat) * rng.uniform(10, 110) + rng.normal(0, 30)), 0))
        role = i % 5 if n >= 5 else i
        start = first_day
        closed: date | None = None
        mez: dict[str, date] = {}
        all_missing: tuple[str, ...] = ()
        locations = [Location(first_day - timedelta(days=3650), None, lat, lon, height)]
        if role == 0:
            # Like FF 02773: wind in MEZ well into the recent window.
            mez[MEZ_RECENT_PRODUCT] = yesterday - timedelta(days=200)
        elif role == 1:
            # A station that moved twice; the last move inside the simulated span.
            move1 = first_day - timedelta(days=2000)
            move2 = first_day + timedelta(days=200)
            locations = [
                Location(
                    first_day - timedelta(days=5000),
                    move1 - timedelta(days=1),
                    lat + 0.021,
                    lon - 0.013,
                    height + 6,
                ),
                Location(move1, move2 - timedelta(days=1), lat + 0.004, lon + 0.002, height + 1),
                Location(move2, None, lat, lon, height),
            ]
            mez[MEZ_HISTORICAL_PRODUCT] = first_day + timedelta(days=120)
        elif role == 2 and today.timetuple().tm_yday > 40:
            # Closed earlier this year: no historical file for this year, a one-day recent file.
            closed = date(today.year, 1, 1) + timedelta(days=(today.timetuple().tm_yday - 2) // 2)
        elif role == 3:
            all_missing = (ALL_MISSING_PRODUCT,)
        elif role == 4:
            start = date(first_year, 4, 1)
        if locations[0].until is None:
            locations = [Location(locations[0].since, None, lat, lon, height)]
        out.append(
            SimStation(
                index=i,
                station_id=int(sid),
                name=_name(rng),
                state=STATES[int(rng.integers(len(STATES)))],
                start=start,
                closed=closed,
                locations=tuple(locations),
                mez_until=mez,
                all_missing=all_missing,
            )
        )
    return out
