"""periods.py: the one period grammar, bounds (DJF across the year boundary), and what a quarter completes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from weatherinsight.errors import InvalidPeriodError
from weatherinsight.periods import Period, parse_kind, period_range, periods_ending_in, periods_in_quarters
from weatherinsight.quarters import Quarter


@pytest.mark.parametrize(
    ("text", "kind", "number", "start", "end", "days", "hours", "quarters"),
    [
        ("2024-01", "month", 1, datetime(2024, 1, 1), datetime(2024, 2, 1), 31, 744, ["2024Q1"]),
        ("2024-02", "month", 2, datetime(2024, 2, 1), datetime(2024, 3, 1), 29, 696, ["2024Q1"]),
        ("2024-12", "month", 12, datetime(2024, 12, 1), datetime(2025, 1, 1), 31, 744, ["2024Q4"]),
        ("2024DJF", "season", 1, datetime(2023, 12, 1), datetime(2024, 3, 1), 91, 2184, ["2023Q4", "2024Q1"]),
        ("2023DJF", "season", 1, datetime(2022, 12, 1), datetime(2023, 3, 1), 90, 2160, ["2022Q4", "2023Q1"]),
        ("2024MAM", "season", 2, datetime(2024, 3, 1), datetime(2024, 6, 1), 92, 2208, ["2024Q1", "2024Q2"]),
        ("2024SON", "season", 4, datetime(2024, 9, 1), datetime(2024, 12, 1), 91, 2184, ["2024Q3", "2024Q4"]),
        ("2024Q1", "quarter", 1, datetime(2024, 1, 1), datetime(2024, 4, 1), 91, 2184, ["2024Q1"]),
        (
            "2024",
            "year",
            1,
            datetime(2024, 1, 1),
            datetime(2025, 1, 1),
            366,
            8784,
            [f"2024Q{i}" for i in range(1, 5)],
        ),
    ],
)
def test_parse_and_bounds(
    text: str,
    kind: str,
    number: int,
    start: datetime,
    end: datetime,
    days: int,
    hours: int,
    quarters: list[str],
) -> None:
    p = Period.parse(text)
    assert (p.kind, p.year, p.number, p.label, str(p)) == (kind, int(text[:4]), number, text, text)
    assert (p.start, p.end) == (start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))
    assert (p.days, p.hours) == (days, hours)
    assert [str(q) for q in p.quarters] == quarters


def test_december_belongs_to_the_following_winter() -> None:
    assert Period.of("season", date(2023, 12, 31)) == Period.parse("2024DJF")
    assert Period.of("season", date(2024, 2, 29)) == Period.parse("2024DJF")
    assert Period.of("season", date(2024, 3, 1)) == Period.parse("2024MAM")
    assert Period.parse("2024DJF").previous() == Period.parse("2023SON")
    assert Period.parse("2023SON").next() == Period.parse("2024DJF")
    assert Period.parse("2024-12").next() == Period.parse("2025-01")


def test_quarter_round_trip() -> None:
    q = Quarter(2024, 3)
    assert Period.from_quarter(q).as_quarter() == q
    assert str(Period.from_quarter(q)) == str(q) == "2024Q3"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2024-13", "expected YYYY-MM"),
        ("2024DFJ", "expected YYYY-MM"),
        ("2024Q5", "expected YYYY-MM"),
        ("24-01", "expected YYYY-MM"),
    ],
)
def test_bad_labels_are_one_typed_message(text: str, problem: str) -> None:
    with pytest.raises(InvalidPeriodError) as err:
        Period.parse(text)
    assert str(err.value).startswith(f"invalid period {text!r}: {problem}")


def test_kinds() -> None:
    assert parse_kind("Month") == "month"
    with pytest.raises(
        InvalidPeriodError, match="unknown period kind; use one of month, season, quarter, year"
    ):
        parse_kind("week")


def test_what_each_quarterly_run_completes() -> None:
    labels = {
        q: [str(p) for p in periods_ending_in(Quarter.parse(q))] for q in ("2025Q1", "2024Q2", "2024Q4")
    }
    assert labels == {
        # DJF 2025 (Dec 2024 – Feb 2025) ends in 2025Q1: its February is covered by the Q1 run
        "2025Q1": ["2025-01", "2025-02", "2025DJF", "2025-03", "2025Q1"],
        "2024Q2": ["2024-04", "2024-05", "2024MAM", "2024-06", "2024Q2"],
        "2024Q4": ["2024-10", "2024-11", "2024SON", "2024-12", "2024Q4", "2024"],
    }


def test_ranges() -> None:
    assert [str(p) for p in period_range(Period.parse("2023SON"), Period.parse("2024MAM"))] == [
        "2023SON",
        "2024DJF",
        "2024MAM",
    ]
    quarters = [Quarter(2024, 1), Quarter(2024, 2)]
    assert [str(p) for p in periods_in_quarters(quarters, "season")] == ["2024DJF", "2024MAM"]
    assert [str(p) for p in periods_in_quarters(quarters, "year")] == []
    with pytest.raises(InvalidPeriodError, match="both ends must be of one kind"):
        period_range(Period.parse("2024-01"), Period.parse("2024"))
