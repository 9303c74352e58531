"""Shared building blocks of the feature definitions: the rules and their counts (``Rules``, ``Shape``), valid
days, coverage gates, spells. The period framing itself is ``features/framing.py``.

Every product definition (``features/<product>.py``) is written ONCE as Ibis expressions over the staged
table and executed unchanged by both engines (``engines/duckdb.py`` and ``engines/spark.py``) — house rule 3.
Ibis was chosen over a sqlglot-transpiled SQL text because docs/design.md §2 records it giving identical numbers on
DuckDB and PySpark (window functions and exact quantiles included) and because it was verified here
(``ibis.pyspark.connect`` on pyspark 4.0.5). The parity test in ``tests/features/test_parity.py`` proves it.

Time is framed in integers so no engine's time zone can shift a day: ``h`` is the hour index since the
period start (UTC epoch seconds // 3600) and ``d = h // 24`` the UTC day index. Builders see only a ``Shape``
(the period's counts), never the period. The period is a quarter, a
month, a meteorological season or a year (``periods.py``); every threshold below follows its length. The rules
are docs/design.md §5:

* a valid hour has a non-NULL value of the feature's own variable; a valid day has ≥ ``min_valid_hours_per_day``
  valid hours; daily mean/max/min/sum are rounded to 9 decimals before any threshold comparison;
* hourly-based features are NULL unless the variable's valid hours ≥ ``min_hourly_coverage`` × hours_expected,
  daily-based ones unless its valid days ≥ ``min_daily_coverage`` × the period's days; counts are never scaled;
* an invalid (or missing) day ends a spell; 5-day windows need five consecutive valid days inside the period.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from weatherinsight.dwd.products import Product
from weatherinsight.features.catalog import features_for
from weatherinsight.periods import Period
from weatherinsight.quarters import Quarter
from weatherinsight.settings import FeatureRules

#: Decimal places of daily values before threshold comparisons (docs/design.md §5).
DAILY_DECIMALS = 9
KEY = "station_id"
COVERAGE_NAMES = (
    "hours_expected",
    "hours_valid",
    "days_valid",
    "coverage",
    "qn_min",
    "qn_max",
    "share_recent",
)


def _min_count(share: float, total: int) -> int:
    # round first so 0.8 × 90 (float 72.00000000000001) needs 72, not 73
    return math.ceil(round(share * total, 9))


@dataclass(frozen=True)
class Shape:
    """What a feature definition may depend on: the period's counts, never the period itself.

    Two periods of the same length (every 91-day quarter, every 30-day month) have the same ``Shape``, so the
    compiled feature SQL — a pure function of (product definition, ``Shape``, framed input schemas) — can be
    reused across them (``engines/sql_cache.py``). The period's dates enter only the framing stage
    (``features/framing.py``), whose output tables have fixed names and schemas.
    """

    hours_expected: int
    days_expected: int
    #: Valid hours a valid day needs (already scaled to the product's hours per day, ``Rules.for_product``).
    min_valid_hours_per_day: int
    #: Valid hours an hourly-based feature needs.
    min_hours: int
    #: Valid days a daily-based feature needs.
    min_days: int


@dataclass(frozen=True)
class Rules:
    """The §5 thresholds for one period (a ``Period`` or a ``Quarter``), resolved to integer counts."""

    period: Period | Quarter
    min_valid_hours_per_day: int = 20
    min_hourly_coverage: float = 0.8
    min_daily_coverage: float = 0.8
    #: ``(station_id, latitude °N)`` of the stations whose location is known at the quarter's end, sorted;
    #: only definitions that need a station fact (``features/sun.py``) read it (``needs_latitude``).
    latitudes: tuple[tuple[int, float], ...] = ()

    @classmethod
    def from_config(
        cls, period: Period | Quarter, features: FeatureRules, latitudes: Mapping[int, float] | None = None
    ) -> Rules:
        return cls(
            period,
            features.min_valid_hours_per_day,
            features.min_hourly_coverage,
            features.min_daily_coverage,
            tuple(sorted((int(k), float(v)) for k, v in (latitudes or {}).items())),
        )

    def for_product(self, product: Product) -> Rules:
        """These rules with the valid-day threshold scaled to the hours the product writes per day
        (``Product.day_hours``: 20 of 24 → 15 of the sun product's 18 daytime hours)."""
        if product.day_hours == 24:
            return self
        scaled = _min_count(self.min_valid_hours_per_day / 24, product.day_hours)
        return replace(self, min_valid_hours_per_day=scaled)

    @property
    def hours_expected(self) -> int:
        return self.period.hours

    @property
    def days_expected(self) -> int:
        return self.period.days

    @property
    def min_hours(self) -> int:
        """Valid hours an hourly-based feature needs."""
        return _min_count(self.min_hourly_coverage, self.hours_expected)

    @property
    def min_days(self) -> int:
        """Valid days a daily-based feature needs."""
        return _min_count(self.min_daily_coverage, self.days_expected)

    def shape(self) -> Shape:
        """The counts of these rules (call on ``for_product``'s result for a product's scaled day threshold)."""
        return Shape(
            self.hours_expected,
            self.days_expected,
            self.min_valid_hours_per_day,
            self.min_hours,
            self.min_days,
        )

    @property
    def start_epoch(self) -> int:
        return int(self.period.start.timestamp())

    @property
    def end_epoch(self) -> int:
        return int(self.period.end.timestamp())


def hour_label(rules: Rules, h: int) -> str:
    """The UTC hour of hour index ``h`` of the period, for messages."""
    return (rules.period.start + timedelta(hours=int(h))).strftime("%Y-%m-%d %H:%M")


def r9(value: ir.NumericValue) -> ir.NumericValue:
    return value.round(DAILY_DECIMALS)


def daily(p: ir.Table, variable: str | ir.Value, shape: Shape) -> ir.Table:
    """Valid days of one variable: ``station_id, d, n, mean, max, min, sum`` (values rounded to 9 decimals).

    ``variable`` is a column name or an expression over ``p`` (e.g. a difference of two columns).
    """
    x = p[variable] if isinstance(variable, str) else variable
    src = p.mutate(_x=x)
    src = src.filter(src._x.notnull())
    days = src.group_by([KEY, "d"]).aggregate(
        n=src._x.count(),
        mean=r9(src._x.mean()),
        max=r9(src._x.max()),
        min=r9(src._x.min()),
        sum=r9(src._x.sum()),
    )
    return days.filter(days.n >= shape.min_valid_hours_per_day)


def longest_run(days: ir.Table, flag: ir.BooleanValue, name: str) -> ir.Table:
    """Per station, the longest run of consecutive day indices where ``flag`` holds (gaps-and-islands).

    Only days present in ``days`` (valid days) can be in a run, so an invalid or missing day ends it.
    """
    hits = days.filter(flag)
    w = ibis.window(group_by=KEY, order_by="d")
    hits = hits.mutate(_rn=ibis.row_number().over(w))
    hits = hits.mutate(_grp=hits.d - hits._rn)
    runs = hits.group_by([KEY, "_grp"]).aggregate(_len=hits.d.count())
    return runs.group_by(KEY).aggregate(**{name: runs._len.max()})


def max_window_sum(days: ir.Table, column: str, width: int, name: str) -> ir.Table:
    """Per station, the largest sum of ``column`` over ``width`` consecutive valid days (NULL if none)."""
    w = ibis.window(group_by=KEY, order_by="d", preceding=width - 1, following=0)
    win = days.mutate(_s=days[column].sum().over(w), _n=days.d.count().over(w), _d0=days.d.min().over(w))
    full = win.filter(win._n == width, win._d0 == win.d - (width - 1))
    return full.group_by(KEY).aggregate(**{name: full._s.max()})


def attach(base: ir.Table, *parts: ir.Table) -> ir.Table:
    """Left-join per-station tables onto ``base`` by station_id (stations without rows in a part get NULLs)."""
    out = base
    for i, part in enumerate(parts):
        k = f"_k{i}"
        right = part.rename({k: KEY})
        out = out.left_join(right, out[KEY] == right[k]).drop(k)
    return out


def gate(value: ir.Value, n: ir.IntegerValue, minimum: int) -> ir.Value:
    """``value`` where ``n`` (valid hours or days) reaches ``minimum``, else NULL (docs/design.md §5)."""
    return ibis.ifelse(n.fill_null(0) >= minimum, value, ibis.null(value.type()))


def count_or_zero(value: ir.Value) -> ir.Value:
    """A count/sum that is absent after a left join means zero qualifying values (the gate decides NULL)."""
    return value.fill_null(0)


def coverage(p: ir.Table, product: Product, shape: Shape) -> ir.Table:
    """The coverage columns (docs/design.md §4/§5): primary variable's valid hours/days; qn and recent share over all rows."""
    primary = p[product.primary]
    rows = p.group_by(KEY).aggregate(
        hours_valid=primary.count(),
        qn_min=p.qn.min(),
        qn_max=p.qn.max(),
        _rows=p.count(),
        _recent=p.recent.sum(),
    )
    pdays = daily(p, product.primary, shape)
    ndays = pdays.group_by(KEY).aggregate(days_valid=pdays.d.count())
    j = attach(rows, ndays)
    return j.select(
        KEY,
        hours_expected=ibis.literal(shape.hours_expected, "int64"),
        hours_valid=j.hours_valid.cast("int64"),
        days_valid=count_or_zero(j.days_valid).cast("int64"),
        coverage=j.hours_valid.cast("float64") / shape.hours_expected,
        qn_min=j.qn_min.cast("int64"),
        qn_max=j.qn_max.cast("int64"),
        share_recent=j._recent.cast("float64") / j._rows.cast("float64"),
    )


def stations(p: ir.Table) -> ir.Table:
    """Every station with at least one staged row in the period (each gets one output row)."""
    return p.select(KEY).distinct()


def finish(cov: ir.Table, features: ir.Table, product: Product) -> ir.Table:
    """The output rows: station_id, coverage columns, then the product's features in catalog order and types."""
    j = attach(cov, features)
    out: dict[str, Any] = {KEY: j[KEY]}
    for name in COVERAGE_NAMES:
        out[name] = j[name]
    casts = {"float": "float64", "int": "int64", "str": "string"}
    for spec in features_for(product.name):
        out[spec.name] = j[spec.name].cast(casts[spec.sql_type])
    return j.select(**out).order_by(KEY)
