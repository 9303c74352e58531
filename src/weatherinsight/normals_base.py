"""The base years of a climate normal: the default (WMO) base, how ``FIRST..LAST`` is parsed and how many valid
years a normal needs. Small and free of the warehouse, so ``weatherinsight normals --help`` shows the default
without loading SQLAlchemy; ``weatherinsight.normals`` computes the normals with these rules.
"""

from __future__ import annotations

import math
import re

from weatherinsight.errors import WeatherInsightError

#: The WMO standard climatological normal period (WMO-No. 1203).
DEFAULT_BASE = (1991, 2020)
#: Share of the base years a normal needs valid values in (rounded up: 24 of 30).
MIN_SHARE = 0.8
_BASE_RE = re.compile(r"^\s*([0-9]{4})\s*\.\.\s*([0-9]{4})\s*$")


class NormalsError(WeatherInsightError):
    """A normals request that cannot be served (bad base, unknown feature, nothing published)."""


def parse_base(text: str, *, name: str = "--base") -> tuple[int, int]:
    """``1991..2020`` → (1991, 2020); ``NormalsError`` naming the parameter ``name`` otherwise (the CLI's
    ``--base``, the API's ``normals_base``)."""
    m = _BASE_RE.match(text)
    if m is None or int(m.group(1)) > int(m.group(2)):
        raise NormalsError(
            f"invalid {name} {text!r}: expected FIRST..LAST years, FIRST ≤ LAST",
            hint=f"e.g. {name} {DEFAULT_BASE[0]}..{DEFAULT_BASE[1]} (the WMO standard normal period)",
        )
    return int(m.group(1)), int(m.group(2))


def required_years(base: tuple[int, int]) -> int:
    """Valid yearly values a normal needs: ⌈80 % of the base years⌉ (24 of 30)."""
    return math.ceil(MIN_SHARE * (base[1] - base[0] + 1) - 1e-9)
