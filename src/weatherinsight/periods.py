"""Calendar periods in UTC beside quarters: months, meteorological seasons, quarters and years.

One grammar (``PERIOD_PATTERN``) for every period label, used by the CLI, the DAG params, the API and the
version names:

* month ``2024-01``; quarter ``2024Q1``; year ``2024``;
* meteorological season ``2024DJF``, ``2024MAM``, ``2024JJA``, ``2024SON``. **DJF spans the year boundary:
  December belongs to the FOLLOWING year's winter** — ``2024DJF`` is 2023-12-01 .. 2024-02-29.

A ``Period`` is a kind plus a number within its year (month 1–12, season 1–4 = DJF, MAM, JJA, SON, quarter
1–4, year 1); ``start``/``end`` are UTC instants, ``end`` exclusive. ``Quarter`` (``quarters.py``) stays the
type of staging and of the quarterly pipeline; ``Period.from_quarter``/``as_quarter`` convert.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, cast, get_args

from weatherinsight.errors import InvalidPeriodError
from weatherinsight.quarters import Quarter, quarters_between

PeriodKind = Literal["month", "season", "quarter", "year"]
#: The period kinds, shortest first (the order of ``--period`` choices and of the pipeline's publishing).
PERIOD_KINDS: tuple[PeriodKind, ...] = get_args(PeriodKind)
#: Meteorological seasons in the order of their numbers 1..4.
SEASONS = ("DJF", "MAM", "JJA", "SON")
#: The one period grammar: ``YYYY``, ``YYYY-MM``, ``YYYYQn`` or ``YYYY`` + season (OpenAPI ``pattern`` too).
PERIOD_PATTERN = r"^([0-9]{4})(?:-(0[1-9]|1[0-2])|Q([1-4])|(DJF|MAM|JJA|SON))?$"
#: The kind grammar (``--period``, ``period=``).
PERIOD_KIND_PATTERN = r"^(month|season|quarter|year)$"
_PERIOD_RE = re.compile(PERIOD_PATTERN)
#: Periods of each kind in one year (their numbers run 1..count).
PERIOD_COUNT: dict[PeriodKind, int] = {"month": 12, "season": 4, "quarter": 4, "year": 1}
_MONTHS_LONG: dict[PeriodKind, int] = {"month": 1, "season": 3, "quarter": 3, "year": 12}


def parse_kind(text: str) -> PeriodKind:
    """``month``/``season``/``quarter``/``year`` (case-insensitive), else ``InvalidPeriodError``."""
    kind = text.strip().lower()
    if kind not in PERIOD_KINDS:
        raise InvalidPeriodError(
            text,
            f"unknown period kind; use one of {', '.join(PERIOD_KINDS)}",
            hint="month (2024-01), season (2024DJF = Dec 2023 to Feb 2024), quarter (2024Q1) or year (2024)",
        )
    return cast(PeriodKind, kind)


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class Period:
    """One month, meteorological season, quarter or year (see the module docstring)."""

    kind: PeriodKind
    year: int
    number: int = 1

    def __post_init__(self) -> None:
        if self.kind not in PERIOD_KINDS:
            raise InvalidPeriodError(
                str(self.kind), f"unknown period kind; use one of {', '.join(PERIOD_KINDS)}"
            )
        if not 1 <= self.number <= PERIOD_COUNT[self.kind]:
            raise InvalidPeriodError(
                f"{self.year} {self.kind} {self.number}",
                f"{self.kind} number must be 1..{PERIOD_COUNT[self.kind]}",
            )
        if not 1800 <= self.year <= 2200:
            raise InvalidPeriodError(f"{self.year}", "year must be 1800..2200")

    # ------------------------------------------------------------------ construction

    @classmethod
    def parse(cls, text: str) -> Period:
        """A period label of any kind (``2024-01``, ``2024DJF``, ``2024Q1``, ``2024``)."""
        m = _PERIOD_RE.match(text.strip())
        if m is None:
            raise InvalidPeriodError(text, "expected YYYY-MM, YYYYDJF|MAM|JJA|SON, YYYYQn or YYYY")
        year = int(m.group(1))
        if m.group(2):
            return cls("month", year, int(m.group(2)))
        if m.group(3):
            return cls("quarter", year, int(m.group(3)))
        if m.group(4):
            return cls("season", year, SEASONS.index(m.group(4)) + 1)
        return cls("year", year, 1)

    @classmethod
    def of(cls, kind: PeriodKind, moment: datetime | date) -> Period:
        """The period of ``kind`` that contains ``moment`` (December → the next year's DJF)."""
        month = moment.month
        if kind == "month":
            return cls(kind, moment.year, month)
        if kind == "quarter":
            return cls(kind, moment.year, (month - 1) // 3 + 1)
        if kind == "year":
            return cls(kind, moment.year, 1)
        if month == 12:
            return cls(kind, moment.year + 1, 1)
        return cls(kind, moment.year, (month // 3) % 4 + 1)

    @classmethod
    def from_quarter(cls, quarter: Quarter) -> Period:
        return cls("quarter", quarter.year, quarter.quarter)

    # ------------------------------------------------------------------ labels and bounds

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}Q{self.number}"
        if self.kind == "season":
            return f"{self.year}{SEASONS[self.number - 1]}"
        return f"{self.year}"

    @property
    def months(self) -> int:
        """Calendar months in the period (1, 3, 3 or 12)."""
        return _MONTHS_LONG[self.kind]

    @property
    def start(self) -> datetime:
        if self.kind == "season":
            year, month = _add_months(self.year, 1, 3 * (self.number - 1) - 1)  # DJF starts in December
        else:
            year, month = self.year, 1 + self.months * (self.number - 1)
        return datetime(year, month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive end: the first instant after the period."""
        year, month = _add_months(self.start.year, self.start.month, self.months)
        return datetime(year, month, 1, tzinfo=UTC)

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / timedelta(hours=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def sort_key(self) -> tuple[datetime, datetime]:
        """Chronological order: by start, then shorter first."""
        return (self.start, self.end)

    def as_quarter(self) -> Quarter:
        """The ``Quarter`` of a quarter period (``InvalidPeriodError`` for other kinds)."""
        if self.kind != "quarter":
            raise InvalidPeriodError(self.label, "not a quarter")
        return Quarter(self.year, self.number)

    @property
    def quarters(self) -> list[Quarter]:
        """The staged quarters the period's hours lie in (DJF: the previous year's Q4 and Q1)."""
        return quarters_between(self.start, self.end - timedelta(hours=1))

    def next(self) -> Period:
        return Period.of(self.kind, self.end)

    def previous(self) -> Period:
        return Period.of(self.kind, self.start - timedelta(hours=1))


def as_period(value: Period | Quarter) -> Period:
    """A ``Period`` for a ``Period`` or a ``Quarter`` (so quarter callers keep working unchanged)."""
    return value if isinstance(value, Period) else Period.from_quarter(value)


def periods_ending_in(quarter: Quarter, kinds: Sequence[PeriodKind] = PERIOD_KINDS) -> list[Period]:
    """The periods of ``kinds`` whose last day lies in ``quarter``: what a quarterly run can complete.

    Ordered by end, shorter first: 2024Q4 → 2024-10, 2024-11, 2024SON, 2024-12, 2024Q4, 2024; 2025Q1 → 2025-01,
    2025-02, 2025DJF (Dec 2024–Feb 2025), 2025-03, 2025Q1.
    """
    out: list[Period] = []
    for kind in kinds:
        p = Period.of(kind, quarter.start)
        while p.start < quarter.end:
            if quarter.start.date() <= p.last_day < quarter.end.date() and p not in out:
                out.append(p)
            p = p.next()
    return sorted(out, key=lambda p: (p.end, -p.start.timestamp()))  # by end, shorter first


def periods_overlapping(quarter: Quarter, kinds: Sequence[PeriodKind] = PERIOD_KINDS) -> list[Period]:
    """The periods of ``kinds`` that share hours with ``quarter``, ordered by end, shorter first.

    What newly staged data of ``quarter`` can complete: 2024Q1 → 2024-01, 2024-02, 2024DJF, 2024-03, 2024Q1,
    2024MAM, 2024 (a period is computed once every quarter it lies in is staged, whatever order they come in).
    """
    out: list[Period] = []
    for kind in kinds:
        p = Period.of(kind, quarter.start)
        while p.start < quarter.end:
            if p not in out:
                out.append(p)
            p = p.next()
    return sorted(out, key=lambda p: (p.end, -p.start.timestamp()))


def period_range(first: Period, last: Period) -> list[Period]:
    """All periods from ``first`` to ``last`` inclusive (both of one kind)."""
    if first.kind != last.kind:
        raise InvalidPeriodError(f"{first}..{last}", "both ends must be of one kind")
    if last.sort_key < first.sort_key:
        raise InvalidPeriodError(f"{first}..{last}", "the range ends before it starts")
    out = [first]
    while out[-1] != last:
        out.append(out[-1].next())
    return out


def periods_in_quarters(quarters: list[Quarter], kind: PeriodKind) -> list[Period]:
    """The periods of ``kind`` whose last day lies in one of ``quarters`` (a backfill's range), in order."""
    out: list[Period] = []
    for q in quarters:
        out.extend(p for p in periods_ending_in(q, (kind,)) if p not in out)
    return out
