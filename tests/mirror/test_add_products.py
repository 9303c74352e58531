"""``add_products`` extends a built mirror (e.g. with the daily KL a benchmark mirror lacked): the files it
adds are byte for byte those of a mirror built with every product from the start, and nothing else changes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from weatherinsight.mirror.layout import load_spec
from weatherinsight.mirror.simulate import add_products, build_mirror

TODAY = date(2026, 11, 25)
KW = {"stations": 3, "years": 1, "seed": 11, "today": TODAY, "workers": 1}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_added_products_equal_a_build_with_them(tmp_path: Path) -> None:
    both = tmp_path / "both"
    build_mirror(both, products=("wind", "daily_climate"), **KW)  # type: ignore[arg-type]
    grown = tmp_path / "grown"
    build_mirror(grown, products=("wind",), **KW)  # type: ignore[arg-type]
    wind_only = _files(grown)
    added = add_products(grown, ["wind", "daily_climate"], workers=1)
    assert added.spec.products == ("wind", "daily_climate") == load_spec(grown).products
    assert added.files == 3 * 2 + 2  # a zip per station and period, a station list per period
    after = _files(grown)
    assert after == _files(both)
    assert {k: v for k, v in after.items() if k in wind_only and not k.endswith(".json")} == {
        k: v for k, v in wind_only.items() if not k.endswith(".json")
    }
    assert add_products(grown, ["daily_climate"]).files == 0  # nothing left to add
    with pytest.raises(ValueError, match="unknown product"):
        add_products(grown, ["nope"])
