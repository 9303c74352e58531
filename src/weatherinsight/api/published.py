"""What the API serves, held in the API process: which curated version of each (product, quarter) is published,
and the published rows of every station asked for.

Published versions are immutable (a new publish is a new version name, docs/design.md §4), so cached rows stay exact for
as long as the set of AVAILABLE curated versions is unchanged. That set is re-read from ``dataset_versions`` at
most every ``refresh_seconds`` (``WEATHERINSIGHT_API_DATA_REFRESH_SECONDS``, default 1 s; 0 = on every request);
when a product's versions changed, every cached station of that product is dropped. A publish is therefore served
within ``refresh_seconds`` — the responses' ``Cache-Control: max-age`` already lets clients keep data far longer.
A product (un)registered at run time (``features.catalog.catalog_generation`` changed) drops every cached station:
full rows follow the product's catalog rows, which may differ when it is registered again.

Station rows are full curated rows (every column of :func:`full_columns`, in that order) of all published quarters,
ordered by (year, quarter, station_id); the cache is an LRU bounded by the number of rows held
(``WEATHERINSIGHT_API_STATION_CACHE_ROWS``, default 100,000; a row is ≈ 0.8–1 kB as Python objects — measured:
4,000 air_temperature rows hold 3.3 MB).

Thread-safe: sync routes call it from the thread pool, the hot path from the event loop. ``peek`` never touches
the database (the hot path answers only what is already here and leaves everything else to the routes).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, select

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.catalog import (
    COVERAGE_COLUMNS,
    catalog_generation,
    features_for,
    on_catalog_change,
)
from weatherinsight.warehouse import lineage
from weatherinsight.warehouse.tables import CURATED_KEY_COLUMNS, curated_table, dataset_versions

Row = tuple[Any, ...]
#: (year, quarter) → AVAILABLE curated version name, for one product.
Versions = dict[tuple[int, int], str]

FIXED_COLUMNS = (*CURATED_KEY_COLUMNS, *(c for c, _, _ in COVERAGE_COLUMNS), "computed_at")


@functools.cache
def full_columns(product: str) -> tuple[str, ...]:
    """Every column the API serves for ``product``: keys, coverage/QN fields, computed_at, then the features."""
    return (*FIXED_COLUMNS, *(f.name for f in features_for(product)))


on_catalog_change(full_columns.cache_clear)  # a product registered again may have other features


class PublishedCache:
    def __init__(
        self,
        engine: Engine,
        *,
        refresh_seconds: float = 1.0,
        max_rows: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self.max_rows = max_rows
        self._clock = clock
        self._lock = threading.Lock()
        self._versions: dict[str, Versions] | None = None
        self._checked_at = float("-inf")
        # per product, bumped when its cached rows are dropped; a product registered later starts at 0
        self._generation: defaultdict[str, int] = defaultdict(int)
        #: the catalog's generation the cached rows were read under (full rows follow the catalog's features)
        self._catalog = catalog_generation()
        self._stations: OrderedDict[tuple[str, int], tuple[Row, ...]] = OrderedDict()
        self._rows = 0

    # ------------------------------------------------------------------------------------ published versions

    def fresh(self) -> bool:
        """True while the last read of the published versions is younger than ``refresh_seconds`` and no product
        was (un)registered since (which changes the products and their full rows)."""
        return (
            self._versions is not None
            and self._catalog == catalog_generation()
            and self._clock() - self._checked_at < self.refresh_seconds
        )

    def refresh(self) -> None:
        """Re-read the published versions if due; drop the cached stations of every product whose set changed,
        and every cached station after a product was (un)registered."""
        if self.fresh():
            return
        catalog = catalog_generation()
        dv = dataset_versions.c
        current: dict[str, Versions] = {p: {} for p in PRODUCTS}
        with self.engine.connect() as conn:
            for product, year, quarter, name in conn.execute(
                select(dv.product, dv.year, dv.quarter, dv.version_name).where(
                    dv.kind == "curated", dv.status == lineage.AVAILABLE, dv.period_kind == "quarter"
                )
            ):
                if product in current:
                    current[product][(year, quarter)] = name
        with self._lock:
            previous = self._versions
            self._versions = current
            self._checked_at = self._clock()
            if catalog != self._catalog:
                # rows read under other catalog rows: drop all, and let no load in flight store its rows
                self._catalog = catalog
                for product in {*self._generation, *current}:
                    self._generation[product] += 1
                self._stations.clear()
                self._rows = 0
                return
            if previous is None:
                return
            for product, versions in current.items():
                if previous.get(product) != versions:
                    self._generation[product] += 1
                    self._drop_product(product)

    def versions(self, product: str) -> Versions:
        """The published (year, quarter) → version name of ``product`` (refreshed if due)."""
        self.refresh()
        assert self._versions is not None
        return self._versions[product]

    # ------------------------------------------------------------------------------------ station rows

    def peek(self, product: str, station_id: int) -> tuple[Row, ...] | None:
        """The cached rows of one station, or None when not cached or the published versions are due a re-read."""
        if not self.fresh():
            return None
        key = (product, station_id)
        with self._lock:
            rows = self._stations.get(key)
            if rows is not None:
                self._stations.move_to_end(key)
            return rows

    def rows_for(self, product: str, station_ids: Sequence[int]) -> list[Row]:
        """Published rows of these stations, ordered by (year, quarter, station_id); loads what is not cached."""
        self.refresh()
        wanted = sorted(set(station_ids))
        found: dict[int, tuple[Row, ...]] = {}
        with self._lock:
            generation = self._generation[product]
            for station in wanted:
                rows = self._stations.get((product, station))
                if rows is not None:
                    self._stations.move_to_end((product, station))
                    found[station] = rows
        missing = [s for s in wanted if s not in found]
        if missing:
            loaded = self._load(product, missing)
            found.update(loaded)
            with self._lock:
                # A refresh that saw a publish while we were reading may have dropped this product: rows read
                # before that publish must not be stored under the new generation.
                if self._generation[product] == generation:
                    for station, rows in loaded.items():
                        self._store((product, station), rows)
        if len(wanted) == 1:
            return list(found[wanted[0]])
        merged = [r for s in wanted for r in found[s]]
        merged.sort(key=lambda r: (r[1], r[2], r[0]))  # (year, quarter, station_id)
        return merged

    def _load(self, product: str, station_ids: list[int]) -> dict[int, tuple[Row, ...]]:
        table = curated_table(product)
        stmt = (
            select(*(table.c[c] for c in full_columns(product)))
            .select_from(lineage.published_from(product))
            .where(table.c.station_id.in_(station_ids), table.c.period_kind == "quarter")
            .order_by(table.c.year, table.c.quarter, table.c.station_id)
        )
        out: dict[int, list[Row]] = {s: [] for s in station_ids}
        with self.engine.connect() as conn:
            for row in conn.execute(stmt):
                out[row[0]].append(tuple(row))
        return {s: tuple(rows) for s, rows in out.items()}

    def _store(self, key: tuple[str, int], rows: tuple[Row, ...]) -> None:
        if len(rows) > self.max_rows:
            return
        old = self._stations.pop(key, None)
        if old is not None:
            self._rows -= max(1, len(old))
        self._stations[key] = rows
        self._rows += max(1, len(rows))  # an empty station still costs an entry
        while self._stations and self._rows > self.max_rows:
            _, dropped = self._stations.popitem(last=False)
            self._rows -= max(1, len(dropped))

    def _drop_product(self, product: str) -> None:
        for key in [k for k in self._stations if k[0] == product]:
            self._rows -= max(1, len(self._stations.pop(key)))

    def __len__(self) -> int:
        return len(self._stations)

    @property
    def rows(self) -> int:
        """Rows held (an empty station counts as one)."""
        return self._rows
