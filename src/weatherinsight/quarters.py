"""Calendar quarters in UTC: parsing (``2024Q1``), ranges (``2020Q1..2024Q4``), bounds and arithmetic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from weatherinsight.errors import InvalidQuarterError

#: The one quarter grammar (``2024Q1``), used by the CLI, the DAG params and the API (OpenAPI ``pattern``).
QUARTER_PATTERN = r"^([0-9]{4})Q([1-4])$"
_QUARTER_RE = re.compile(QUARTER_PATTERN)
_NEAR_MISS = re.compile(r"^[0-9]{4}Q[0-9]+$")


@dataclass(frozen=True, order=True)
class Quarter:
    """One calendar quarter; ``start``/``end`` are UTC instants, ``end`` exclusive."""

    year: int
    quarter: int

    def __post_init__(self) -> None:
        if not 1 <= self.quarter <= 4:
            raise InvalidQuarterError(f"{self.year}Q{self.quarter}", "quarter must be 1..4")
        if not 1800 <= self.year <= 2200:
            raise InvalidQuarterError(f"{self.year}Q{self.quarter}", "year must be 1800..2200")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        m = _QUARTER_RE.match(text.strip())
        if m:
            return cls(int(m.group(1)), int(m.group(2)))
        if _NEAR_MISS.match(text.strip()):  # e.g. 2024Q5: say which part is wrong
            raise InvalidQuarterError(text, "quarter must be 1..4")
        raise InvalidQuarterError(text, "expected YYYYQn")

    @classmethod
    def of(cls, moment: datetime | date) -> Quarter:
        return cls(moment.year, (moment.month - 1) // 3 + 1)

    @classmethod
    def last_complete(cls, today: date | None = None) -> Quarter:
        """The most recent quarter that has fully ended before ``today`` (UTC)."""
        today = today or datetime.now(UTC).date()
        return cls.of(today).previous()

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def label(self) -> str:
        return str(self)

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * (self.quarter - 1) + 1, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive end: the first instant of the next quarter (computed, not via ``next()``, so 2200Q4 — the
        last quarter the range allows — has an end too)."""
        year, month = (self.year + 1, 1) if self.quarter == 4 else (self.year, 3 * self.quarter + 1)
        return datetime(year, month, 1, tzinfo=UTC)

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / timedelta(hours=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def next(self) -> Quarter:
        return Quarter(self.year + (self.quarter == 4), self.quarter % 4 + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - (self.quarter == 1), (self.quarter - 2) % 4 + 1)


def quarter_range(first: Quarter, last: Quarter) -> list[Quarter]:
    """All quarters from ``first`` to ``last`` inclusive."""
    if last < first:
        raise InvalidQuarterError(f"{first}..{last}", "the range ends before it starts")
    out = [first]
    while out[-1] < last:
        out.append(out[-1].next())
    return out


def quarters_between(first: datetime | date, last: datetime | date) -> list[Quarter]:
    """The quarters touched by the instants ``first`` .. ``last`` (inclusive, in order)."""
    return quarter_range(Quarter.of(first), Quarter.of(last))


def parse_quarter_range(text: str) -> list[Quarter]:
    """Parse ``2020Q1..2024Q4`` (or a single ``2024Q1``) into the list of quarters."""
    if ".." in text:
        a, b = text.split("..", 1)
        return quarter_range(Quarter.parse(a), Quarter.parse(b))
    return [Quarter.parse(text)]


def previous_quarter_of_run(logical: datetime) -> Quarter:
    """The quarter that just ended when a run fires at ``logical`` (e.g. 2024-04-01 → 2024Q1)."""
    return Quarter.of(logical).previous()
