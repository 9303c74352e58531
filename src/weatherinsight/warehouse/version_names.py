"""Dataset version names: ``version_name`` and its one inverse ``parse_period_version_name`` (issue #18).

Names come from ``settings.versioning`` (``2024Q1_raw_v1``, ``2024Q1_staged_v1``, ``2024Q1_v1``); a month, season
or year writes its label in place of the pattern's ``{year}…{quarter}`` span (``2024-01_v1``, ``2024DJF_v1``,
``2024_v1``). Raw and staged versions are always quarters.
"""

from __future__ import annotations

import re

from weatherinsight.errors import WeatherInsightError
from weatherinsight.periods import PERIOD_PATTERN, Period, as_period
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse.tables import VERSION_KINDS


class VersionError(WeatherInsightError):
    """A dataset version cannot move to the requested state (unknown, or not PENDING any more)."""


def check_kind(kind: str) -> None:
    if kind not in VERSION_KINDS:
        raise VersionError(
            f"unknown dataset version kind {kind!r}", hint=f"use one of {', '.join(VERSION_KINDS)}"
        )


def _period_template(pattern: str) -> str:
    """``pattern`` with its ``{year}…{quarter}`` span replaced by ``{period}`` (the label of a non-quarter)."""
    head, _, rest = pattern.partition("{year}")
    _, _, tail = rest.partition("{quarter}")
    return head + "{period}" + tail


def version_name(settings: Settings, kind: str, quarter: Quarter | Period, number: int) -> str:
    """The name of version ``number`` of ``kind`` for a quarter or period (pattern from settings.versioning)."""
    check_kind(kind)
    pattern: str = getattr(settings.versioning, kind)
    p = as_period(quarter)
    if p.kind == "quarter":
        return pattern.format(year=p.year, quarter=p.number, version=number)
    return _period_template(pattern).format(period=p.label, version=number)


#: What each placeholder of a ``versioning`` pattern matches when a name is parsed back.
_PLACEHOLDERS = {
    "year": "(?P<year>[0-9]{4})",
    "quarter": "(?P<quarter>[1-4])",
    "version": "(?P<version>[0-9]+)",
}


def _name_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"\{(year|quarter|version)\}", pattern)
    # re.split with a group alternates literal text and placeholder names: escape the former.
    body = "".join(_PLACEHOLDERS[p] if i % 2 else re.escape(p) for i, p in enumerate(parts))
    return re.compile(f"^{body}$")


def _period_regex(pattern: str) -> re.Pattern[str]:
    # the period grammar without its anchors, as one named group; quarters are matched by _name_regex
    body = PERIOD_PATTERN[1:-1]
    parts = re.split(r"\{(period|version)\}", _period_template(pattern))
    regex = "".join(
        (f"(?P<period>{body})" if p == "period" else _PLACEHOLDERS[p]) if i % 2 else re.escape(p)
        for i, p in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def parse_period_version_name(pattern: str, name: str) -> tuple[Period, int]:
    """(period, version number) of ``name`` written with ``pattern`` (one of ``settings.versioning``).

    The one parser of version names: the inverse of ``version_name``. Raises ``VersionError`` when ``name``
    does not have the pattern's form.
    """
    m = _name_regex(pattern).match(name)
    if m is not None:
        return Period("quarter", int(m["year"]), int(m["quarter"])), int(m["version"])
    m = _period_regex(pattern).match(name)
    if m is not None:
        return Period.parse(m["period"]), int(m["version"])
    raise VersionError(
        f"{name!r} is not a version name of the form {pattern!r}",
        hint=f"e.g. {pattern.format(year=2024, quarter=1, version=1)} "
        f"or {_period_template(pattern).format(period='2024-01', version=1)}",
    )


def normal_version_name(period_kind: str, base_start: int, base_end: int, number: int) -> str:
    """A normals version's name: ``1991-2020_month_normals_v1`` (base years, period kind, number).

    Its dataset_versions row stores the period kind, ``year`` = the base's last year and number 1."""
    return f"{base_start}-{base_end}_{period_kind}_normals_v{number}"


def parse_version_name(pattern: str, name: str) -> tuple[Quarter, int]:
    """(quarter, version number) of a quarter's version ``name`` (raw and staged versions are quarters)."""
    period, number = parse_period_version_name(pattern, name)
    if period.kind != "quarter":
        raise VersionError(
            f"{name!r} names the {period.kind} {period}, not a quarter",
            hint=f"e.g. {pattern.format(year=2024, quarter=1, version=1)}",
        )
    return period.as_quarter(), number
