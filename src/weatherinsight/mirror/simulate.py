"""The DWD-compatible archive generator: ``build_mirror`` writes the tree, ``release_recent`` the next release.

Layout: ``<root>/climate_environment/CDC/observations_germany/climate/hourly/<product>/{historical,recent}/``
(the daily KL product under ``climate/daily/kl/``, ``mirror.daily_kl``)
with one zip per station and period plus the station list in each period (FORMAT §1). Historical files end
on 31 Dec of last year; recent files hold the 550 days that end yesterday (relative to ``today``), so they
overlap the historical ones; release N+1 shifts the window by a day, upgrades QN 1→3/10 on the oldest
eight QN=1 days and revises one value of the primary variable (FORMAT §3). Deterministic for a seed: the
same arguments give the same bytes. Files are replaced atomically, so a server can serve while it runs.
The spec, manifest and paths are in ``mirror.layout``, one station's files in ``mirror.station_files``;
progress is reported as ``ProgressEvent``s (task ``release <N> stations``, one advance per station).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

from weatherinsight.dwd.products import DAILY_PRODUCTS, PRODUCTS, get_product
from weatherinsight.mirror import metadata
from weatherinsight.mirror.layout import (
    MANIFEST,
    BuildSummary,
    MirrorSpec,
    atomic_write,
    load_spec,
    product_dir,
)
from weatherinsight.mirror.station_files import worker, write_station
from weatherinsight.mirror.stations import SimStation, make_stations
from weatherinsight.vocabulary import ProgressCallback, ProgressEvent, no_progress


def _write_station_lists(
    root: Path, spec: MirrorSpec, stations: list[SimStation], periods: tuple[str, ...]
) -> list[str]:
    paths = []
    for name in spec.products:
        product = get_product(name)
        rows = [(st, st.start, st.last_day(spec.yesterday)) for st in stations]
        # LF for TU, CRLF for the others: both occur in real copies (FORMAT §1.4).
        text = metadata.station_list(product, rows, crlf=product.name != "air_temperature")
        for period in periods:
            path = product_dir(root, product, period) / product.station_list_name
            atomic_write(path, text)
            paths.append(str(path.relative_to(root)))
    return paths


def _run(
    root: Path,
    spec: MirrorSpec,
    periods: tuple[str, ...],
    *,
    progress: ProgressCallback,
    workers: int | None,
    only_active: bool,
) -> BuildSummary:
    stations = make_stations(spec.stations, first_year=spec.first_year, today=spec.today, seed=spec.seed)
    todo = [st for st in stations if not (only_active and st.closed is not None)]
    summary = BuildSummary(root, spec)
    started = time.perf_counter()
    n_workers = workers if workers is not None else (min(2, os.cpu_count() or 1) if len(todo) > 8 else 1)
    results: Iterator[tuple[int, int, int, list[str]]]
    pool: ProcessPoolExecutor | None = None
    if n_workers > 1:
        pool = ProcessPoolExecutor(max_workers=n_workers)
        results = pool.map(worker, [(str(root), spec, st, periods) for st in todo], chunksize=1)
    else:
        results = (write_station(root, spec, st, periods) for st in todo)
    try:
        task = f"release {spec.release} stations"
        progress(ProgressEvent(task, total=len(todo)))
        for files, rows, nbytes, paths in results:
            summary.files += files
            summary.rows += rows
            summary.bytes += nbytes
            summary.written.extend(paths)
            progress(ProgressEvent(task, advance=1))
    finally:
        if pool is not None:
            pool.shutdown()
    summary.written.extend(_write_station_lists(root, spec, stations, periods))
    summary.files += len(spec.products) * len(periods)
    (root / MANIFEST).write_text(spec.to_json(), encoding="utf-8")
    summary.seconds = time.perf_counter() - started
    return summary


def build_mirror(
    root: Path,
    *,
    stations: int = 5,
    years: int = 2,
    seed: int = 0,
    today: date | None = None,
    products: tuple[str, ...] | list[str] | None = None,
    progress: ProgressCallback = no_progress,
    workers: int | None = None,
    compresslevel: int = 1,
) -> BuildSummary:
    """Write a fresh mirror of ``stations`` × ``years`` (+ this year up to yesterday) × products under ``root``."""
    names = tuple(products) if products else (*PRODUCTS, *DAILY_PRODUCTS)
    unknown = [p for p in names if p not in PRODUCTS and p not in DAILY_PRODUCTS]
    if unknown:
        raise ValueError(f"unknown product(s) {unknown}")
    if years < 1:
        raise ValueError("years must be at least 1 (historical files need one full year)")
    spec = MirrorSpec(
        stations=stations,
        years=years,
        seed=seed,
        today=today or datetime.now(UTC).date(),
        products=names,
        compresslevel=compresslevel,
    )
    return _run(root, spec, ("historical", "recent"), progress=progress, workers=workers, only_active=False)


def add_products(
    root: Path,
    products: tuple[str, ...] | list[str],
    *,
    progress: ProgressCallback = no_progress,
    workers: int | None = None,
) -> BuildSummary:
    """Add ``products`` to the mirror at ``root`` (same stations, seed, years and release), e.g. the daily KL
    a mirror built for hourly products only lacks: their files hold what a build with them from the start
    holds (the data depend on the station and seed, not on which products are built). The manifest then
    names them too; products the mirror has are skipped."""
    prev = load_spec(root)
    new = tuple(p for p in products if p not in prev.products)
    unknown = [p for p in new if p not in PRODUCTS and p not in DAILY_PRODUCTS]
    if unknown:
        raise ValueError(f"unknown product(s) {unknown}")
    if not new:
        return BuildSummary(root, prev)
    summary = _run(
        root,
        MirrorSpec(**{**asdict(prev), "products": new}),
        ("historical", "recent"),
        progress=progress,
        workers=workers,
        only_active=False,
    )
    merged = MirrorSpec(**{**asdict(prev), "products": (*prev.products, *new)})
    atomic_write(
        root / MANIFEST, merged.to_json().encode()
    )  # _run wrote the manifest of the new products alone
    summary.spec = merged
    return summary


def release_recent(
    root: Path, *, progress: ProgressCallback = no_progress, workers: int | None = None
) -> BuildSummary:
    """Write the next daily release of every active station's recent file (and the station lists).

    The window moves one day on; QN 1 becomes 3 (10 for wind) on the oldest eight un-controlled days; one
    primary value per file is revised by +0.1. Closed stations' files stay as they are.
    """
    prev = load_spec(root)
    spec = MirrorSpec(**{**asdict(prev), "release": prev.release + 1})
    return _run(root, spec, ("recent",), progress=progress, workers=workers, only_active=True)
