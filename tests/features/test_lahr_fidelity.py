"""Lahr (02812), real DWD files: our hourly parser and feature rules against DWD's own daily KL values.

The daily KL file is read here with a plain CSV reader (an independent reference, not our code). Checked on
2018-04-01 .. 2018-12-31 (275 days, every daily value present), as tests/data/dwd/PROVENANCE.md records:
TMK is the mean of the 24 hourly TT_TU stamped 00..23 UTC; RSK is the sum of hourly R1 stamped 07:00 of day D
through 06:00 of D+1 (DWD's 06–06 UTC precipitation day); TXK/TNK bound the hourly extremes. Our tg_mean and
precip_total are then compared with TMK and RSK per quarter.

The day-based indices (issue #17) are then checked against values computed here, in plain Python, from the KL
text: with the KL table staged they equal ETCCDI-style indices of TXK/TNK/RSK (``tx_tn_source`` and
``rr_source`` = ``daily_kl``); without it they follow the hourly rules (extremes and sums of the UTC day's
hourly readings, ``hourly``); with the KL values of some days removed those days fall back to hourly (``mixed``).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.features.lahr import (
    FIRST,
    KL,
    LAHR,
    LAST,
    MIXED_GAP,
    QUARTERS,
    RR,
    TU,
    quarter_days,
    staged,
    staged_kl,
)
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt import parse_produkt
from weatherinsight.engines import duckdb as duck
from weatherinsight.features.common import Rules
from weatherinsight.quarters import Quarter
from weatherinsight.settings import FeatureRules


def _daily_kl() -> dict[date, dict[str, float]]:
    text = (LAHR / KL).read_text(encoding="ascii")
    rows = csv.reader(io.StringIO(text), delimiter=";")
    header = [h.strip() for h in next(rows)]
    out: dict[date, dict[str, float]] = {}
    for row in rows:
        rec = dict(zip(header, (v.strip() for v in row), strict=True))
        day = datetime.strptime(rec["MESS_DATUM"], "%Y%m%d").date()
        if FIRST <= day <= LAST:
            out[day] = {k: float(rec[k]) for k in ("TMK", "TXK", "TNK", "RSK")}
    return out


def _hourly(product: str, name: str, column: str) -> dict[datetime, float]:
    table = parse_produkt((LAHR / name).read_bytes(), get_product(product), file_name=name)
    return {
        ts: v
        for ts, v in zip(table.column("ts").to_pylist(), table.column(column).to_pylist(), strict=True)
        if v is not None
    }


@pytest.fixture(scope="module")
def kl() -> dict[date, dict[str, float]]:
    return _daily_kl()


@pytest.fixture(scope="module")
def tt() -> dict[datetime, float]:
    return _hourly("air_temperature", TU, "temperature")


@pytest.fixture(scope="module")
def r1() -> dict[datetime, float]:
    return _hourly("precipitation", RR, "precipitation_height")


def _hours(start: datetime, n: int) -> list[datetime]:
    return [start + timedelta(hours=i) for i in range(n)]


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def test_dwd_daily_values_are_what_the_hourly_files_say(
    kl: dict[date, dict[str, float]], tt: dict[datetime, float], r1: dict[datetime, float]
) -> None:
    assert len(kl) == 275 and all(v != -999 for day in kl.values() for v in day.values())
    above_tnk = 0
    for day, v in kl.items():
        temps = [tt[h] for h in _hours(_midnight(day), 24)]
        assert abs(sum(temps) / 24 - v["TMK"]) <= 0.05 + 1e-9, day  # DWD rounds TMK to 0.1
        assert max(temps) <= v["TXK"], day  # TXK is the extreme of the continuous record
        above_tnk += min(temps) >= v["TNK"]
        rain = sum(r1[h] for h in _hours(_midnight(day) + timedelta(hours=7), 24))
        assert rain == pytest.approx(v["RSK"], abs=1e-6), day  # 07:00 D .. 06:00 D+1 UTC
    assert above_tnk == 274


@pytest.mark.parametrize("q", QUARTERS, ids=str)
def test_tg_mean_and_precip_total_agree_with_tmk_and_rsk(
    q: Quarter, kl: dict[date, dict[str, float]], r1: dict[datetime, float]
) -> None:
    rules = Rules.from_config(q, FeatureRules())
    days = [d for d in kl if q.start.date() <= d < q.end.date()]
    assert len(days) == (q.end.date() - q.start.date()).days
    temp = duck.compute(staged("air_temperature", TU), "air_temperature", rules).to_pylist()
    assert [r["station_id"] for r in temp] == [2812]
    tmk_mean = sum(kl[d]["TMK"] for d in days) / len(days)
    assert abs(temp[0]["tg_mean"] - tmk_mean) <= 0.05  # TMK's 0.1 rounding, averaged
    precip = duck.compute(staged("precipitation", RR), "precipitation", rules).to_pylist()[0]
    # Our day is the UTC calendar day, DWD's the 06–06 UTC day: the quarter sums differ by exactly the rain
    # stamped 00:00..06:00 on the quarter's first day minus that on the next quarter's first day.
    by_month_start: dict[str, float] = defaultdict(float)
    for label, start in (("first", _midnight(q.start.date())), ("next", _midnight(q.end.date()))):
        by_month_start[label] = sum(r1.get(h, 0.0) for h in _hours(start, 7))
    rsk_sum = sum(kl[d]["RSK"] for d in days)
    expected = rsk_sum + by_month_start["first"] - by_month_start["next"]
    assert precip["precip_total"] == pytest.approx(expected, abs=1e-6)


# ---- day-based indices from DWD's daily values (issue #17) ------------------------------------------------


def _longest(flags: list[bool]) -> int:
    best = run = 0
    for f in flags:
        run = run + 1 if f else 0
        best = max(best, run)
    return best


def _expected_temperature(tx: list[float], tn: list[float]) -> dict[str, object]:
    n = len(tx)
    return {
        "tx_mean": sum(tx) / n,
        "tn_mean": sum(tn) / n,
        "txx": max(tx),
        "tnn": min(tn),
        "dtr_mean": sum(a - b for a, b in zip(tx, tn, strict=True)) / n,
        "frost_days": sum(v < 0 for v in tn),
        "ice_days": sum(v < 0 for v in tx),
        "summer_days": sum(v > 25 for v in tx),
        "hot_days": sum(v >= 30 for v in tx),
        "tropical_nights": sum(v > 20 for v in tn),
    }


def _expected_precipitation(rr: list[float]) -> dict[str, object]:
    wet = [v for v in rr if v >= 1.0]
    return {
        "wet_days": len(wet),
        "heavy_precip_days": sum(v >= 10 for v in rr),
        "very_heavy_precip_days": sum(v >= 20 for v in rr),
        "rx1day": max(rr),
        "rx5day": max(sum(rr[i : i + 5]) for i in range(len(rr) - 4)),
        "sdii": sum(wet) / len(wet) if wet else None,
        "max_dry_spell_days": _longest([v < 1.0 for v in rr]),
        "max_wet_spell_days": _longest([v >= 1.0 for v in rr]),
    }


def _hourly_days(
    series: dict[datetime, float], days: list[date]
) -> tuple[list[float], list[float], list[float]]:
    """Per UTC day (all 24 hours present in these files): max, min and sum of the hourly readings."""
    hi, lo, total = [], [], []
    for d in days:
        vals = [series[h] for h in _hours(_midnight(d), 24)]
        hi.append(round(max(vals), 9))
        lo.append(round(min(vals), 9))
        total.append(round(sum(vals), 9))
    return hi, lo, total


def _assert_close(row: dict[str, object], expected: dict[str, object]) -> None:
    for name, want in expected.items():
        got = row[name]
        if isinstance(want, float):
            assert got == pytest.approx(want, abs=1e-9), name
        else:
            assert got == want, name


@pytest.mark.parametrize("q", QUARTERS, ids=str)
@pytest.mark.parametrize("case", ["daily_kl", "hourly", "mixed"])
def test_day_indices_follow_dwd_daily_values_with_hourly_fallback(
    q: Quarter,
    case: str,
    kl: dict[date, dict[str, float]],
    tt: dict[datetime, float],
    r1: dict[datetime, float],
) -> None:
    rules = Rules.from_config(q, FeatureRules())
    days = quarter_days(q)
    hx, hn, _ = _hourly_days(tt, days)
    _, _, hr = _hourly_days(r1, days)
    if case == "hourly":
        daily = None
        tx, tn, rr = hx, hn, hr
    else:
        gap = frozenset(days[:MIXED_GAP]) if case == "mixed" else frozenset()
        daily = staged_kl(gap)
        tx = [hx[i] if d in gap else kl[d]["TXK"] for i, d in enumerate(days)]
        tn = [hn[i] if d in gap else kl[d]["TNK"] for i, d in enumerate(days)]
        rr = [hr[i] if d in gap else kl[d]["RSK"] for i, d in enumerate(days)]
    temp = duck.compute(staged("air_temperature", TU), "air_temperature", rules, daily=daily).to_pylist()
    precip = duck.compute(staged("precipitation", RR), "precipitation", rules, daily=daily).to_pylist()
    assert [r["station_id"] for r in temp + precip] == [2812, 2812]
    _assert_close(temp[0], {**_expected_temperature(tx, tn), "tx_tn_source": case})
    _assert_close(precip[0], {**_expected_precipitation(rr), "rr_source": case})
    # tg_mean and precip_total stay hourly-derived whatever the day source (they agree with TMK/RSK above)
    assert temp[0]["tg_mean"] == pytest.approx(
        sum(sum(tt[h] for h in _hours(_midnight(d), 24)) / 24 for d in days) / len(days), abs=1e-9
    )
    assert precip[0]["precip_total"] == pytest.approx(sum(hr), abs=1e-6)


def test_issue_17_measurements_2018q2(kl: dict[date, dict[str, float]]) -> None:
    """The numbers the issue measured: summer days 31 (hourly) vs 35 (DWD), wet days 20 vs 25 in 2018Q2."""
    rules = Rules.from_config(QUARTERS[0], FeatureRules())
    tu, rr, daily = staged("air_temperature", TU), staged("precipitation", RR), staged_kl()
    hourly_t = duck.compute(tu, "air_temperature", rules).to_pylist()[0]
    official_t = duck.compute(tu, "air_temperature", rules, daily=daily).to_pylist()[0]
    assert (hourly_t["summer_days"], official_t["summer_days"]) == (31, 35)
    hourly_r = duck.compute(rr, "precipitation", rules).to_pylist()[0]
    official_r = duck.compute(rr, "precipitation", rules, daily=daily).to_pylist()[0]
    assert (hourly_r["wet_days"], official_r["wet_days"]) == (20, 25)
