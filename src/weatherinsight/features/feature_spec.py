"""The shape of one feature catalog row (``FeatureSpec``) and how many decimals each unit is served with.

The rows themselves are data (``features.catalog_rows_daily_kl``, ``features.catalog_rows_hourly`` and rows
registered at run time); ``features.catalog`` is where everything reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["hourly", "daily"]
SqlType = Literal["float", "int", "str"]


@dataclass(frozen=True)
class FeatureSpec:
    """One curated feature column."""

    name: str
    product: str
    variable: str  # canonical input column (registry); the coverage gate uses this variable
    kind: Kind  # hourly-based or daily-based (docs/design.md §5) — decides the 80 % gate
    unit: str
    definition: str
    standard: str
    sql_type: SqlType = "float"
    #: A headline feature of its product: the quality check fails a quarter where too many stations have it
    #: NULL (``quality.checks``). Only features that are NULL when a station misses the coverage gate, never
    #: on good data (``sdii`` without a wet day, wind directions in a calm quarter are not critical).
    critical: bool = False

    @property
    def precision(self) -> int:
        """Decimal places served (values are rounded half-to-even on output; the database keeps full precision).

        The rule: counts are whole numbers; shares (unit ``1``) keep 3 decimals; every other measured unit keeps
        1 decimal, the resolution of the DWD hourly observations (0.1 °C, 0.1 mm, 0.1 m/s, 0.1 hPa, 1 %).
        """
        return PRECISION_BY_UNIT.get(self.unit, 1) if self.sql_type == "float" else 0


#: Decimal places served per unit (see ``FeatureSpec.precision``); a unit not listed keeps 1 decimal.
PRECISION_BY_UNIT: dict[str, int] = {
    "1": 3,
    "%": 1,
    "°": 0,
    "K": 1,
    "K·d": 1,
    "g/m³": 1,
    "hPa": 1,
    "h": 2,
    "okta": 2,
}
