"""DWD's official daily KL values in the feature definitions: merging the period's framed KL days
(``framing.frame_days``) with the hourly-derived days (issue #17).

A day-based index (TX/TN indices of air_temperature, the daily precipitation indices) takes, per station and
day, DWD's daily KL value where the station has one (TXK/TNK: extremes of the continuous record; RSK: the
06–06 UTC climatological day) and the hourly-derived value of a valid day (``common.daily``: extremes or sum
of the UTC day's hourly readings) otherwise. The row's source column (``tx_tn_source``, ``rr_source``; built
by :func:`day_source`) says which: ``daily_kl`` when every
day came from KL, ``hourly`` when none did, ``mixed`` otherwise. Written once in Ibis, run by both engines.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from weatherinsight.features.common import KEY, gate

#: The values of ``day_source`` (catalog and docs/design.md §5).
FROM_KL, FROM_HOURLY, MIXED = "daily_kl", "hourly", "mixed"
#: The merged day table's flag column: 1 where the day's value is DWD's daily KL value.
FLAG = "from_kl"


def merge_days(
    hourly: ir.Table, hourly_cols: dict[str, str], kl: ir.Table | None, kl_cols: dict[str, str]
) -> ir.Table:
    """Per station and day: ``station_id, d, <names>, from_kl``.

    ``hourly`` are valid hourly-derived days (``common.daily``), ``hourly_cols`` maps each output name to its
    column there, ``kl_cols`` to the KL column. A KL day counts only where every listed KL value is present;
    then all of the day's values come from KL, else from the valid hourly day (when there is one).
    """
    h = hourly.select(KEY, "d", **{name: hourly[col] for name, col in hourly_cols.items()})
    if kl is None:
        return h.mutate(**{FLAG: ibis.literal(0, "int64")})
    present = [kl[col].notnull() for col in kl_cols.values()]
    k = kl.filter(*present).select(
        _ks=kl[KEY], _kd=kl.d, **{f"_k_{name}": kl[col].cast("float64") for name, col in kl_cols.items()}
    )
    j = h.outer_join(k, [h[KEY] == k._ks, h.d == k._kd])
    use_kl = j._ks.notnull()
    cols = {name: ibis.ifelse(use_kl, j[f"_k_{name}"], j[name].cast("float64")) for name in hourly_cols}
    return j.select(
        **{KEY: ibis.coalesce(j._ks, j[KEY]), "d": ibis.coalesce(j._kd, j.d)},
        **cols,
        **{FLAG: ibis.ifelse(use_kl, 1, 0).cast("int64")},
    )


def day_source(n_days: ir.IntegerValue, n_kl: ir.IntegerValue, minimum: int) -> ir.StringValue:
    """``daily_kl`` / ``hourly`` / ``mixed`` from the station's day count and KL day count; NULL where the
    day-based indices are (fewer than ``minimum`` days)."""
    n_kl = n_kl.fill_null(0)
    label = ibis.cases((n_kl == n_days, FROM_KL), (n_kl == 0, FROM_HOURLY), else_=MIXED)
    out: ir.StringValue = gate(label, n_days, minimum)
    return out
