"""Quarter parsing, bounds and arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from weatherinsight.errors import InvalidQuarterError
from weatherinsight.quarters import Quarter, parse_quarter_range, previous_quarter_of_run


def test_bounds_and_hours() -> None:
    q = Quarter.parse("2024Q1")
    assert q.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert q.end == datetime(2024, 4, 1, tzinfo=UTC)
    assert q.hours == 91 * 24 and q.days == 91  # leap year
    assert Quarter(2023, 1).hours == 90 * 24
    assert Quarter(2023, 4).next() == Quarter(2024, 1)
    assert Quarter(2024, 1).previous() == Quarter(2023, 4)


@pytest.mark.parametrize("text", ["2024Q5", "2024Q0", "24Q1", "2024", "Q1 2024", ""])
def test_bad_quarters(text: str) -> None:
    with pytest.raises(InvalidQuarterError):
        Quarter.parse(text)


def test_ranges() -> None:
    qs = parse_quarter_range("2023Q3..2024Q2")
    assert [str(q) for q in qs] == ["2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    with pytest.raises(InvalidQuarterError, match="ends before it starts"):
        parse_quarter_range("2024Q2..2023Q3")


def test_run_semantics() -> None:
    assert previous_quarter_of_run(datetime(2024, 1, 1, tzinfo=UTC)) == Quarter(2023, 4)
    assert previous_quarter_of_run(datetime(2024, 4, 1, tzinfo=UTC)) == Quarter(2024, 1)
