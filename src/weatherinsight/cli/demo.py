"""The README's main job (``make demo`` → ``python -m weatherinsight.cli.demo``): the whole pipeline, offline.

1. Build a DWD-compatible mirror (≈ 50 stations × 3 years × every registered product) under ``./demo/mirror``
   (reused when it already exists with the same size; ``--fresh`` rebuilds everything).
2. Serve it on loopback (``127.0.0.1``, a free port) with the project's HTTP mirror server.
3. Run ingest → process → aggregate for the latest complete quarter(s) on the embedded default
   (SQLite ``./demo/data/weatherinsight.db`` + DuckDB), products in parallel, with Rich progress.
4. Run the five data-quality checks and print the per quarter × product summary and the findings.

The quality thresholds are scaled to the demo mirror's size (the production YAML asks for ≥ 100 rows and
≥ 50 stations per quarter; a 50-station mirror cannot meet 100 rows) — the demo says so in its output. No
internet is needed; a re-run is a no-op except for what changed (dataset versions stay ``_v1``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import yaml
from rich.panel import Panel
from rich.table import Table

from weatherinsight import pipeline
from weatherinsight.cli._common import console
from weatherinsight.cli.progress import progress_bars
from weatherinsight.cli.report import summary_table
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.logs import configure_logging
from weatherinsight.mirror.layout import MANIFEST, load_spec
from weatherinsight.mirror.server import serve
from weatherinsight.mirror.simulate import build_mirror
from weatherinsight.pipeline.backfill import backfill
from weatherinsight.quality.checks import QualityReport
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings, load_settings

DEFAULT_DIR = Path("demo")
SEED = 20240601


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m weatherinsight.cli.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="working directory (default ./demo)")
    ap.add_argument("--stations", type=int, default=50, help="stations in the mirror (default 50)")
    ap.add_argument("--years", type=int, default=3, help="years of history in the mirror (default 3)")
    ap.add_argument("--quarters", type=int, default=2, help="latest complete quarters to process (default 2)")
    ap.add_argument("--fresh", action="store_true", help="delete the demo directory and start over")
    args = ap.parse_args(argv)
    if args.stations < 1 or args.years < 1 or args.quarters < 1:
        ap.error("--stations, --years and --quarters must be at least 1")
    return args


def _demo_config(settings_dir: Path, stations: int) -> Path:
    """The repo YAML with quality thresholds scaled to the mirror (80 % of its stations)."""
    raw = yaml.safe_load(load_settings().config_file.read_text(encoding="utf-8"))
    floor = max(1, int(stations * 0.8))
    raw["quality_thresholds"].update({"min_rows_per_quarter": floor, "min_stations_per_quarter": floor})
    path = settings_dir / "weatherinsight-demo.yaml"
    path.write_text(
        "# Written by `python -m weatherinsight.cli.demo`: the packaged weatherinsight.yaml with quality thresholds\n"
        "# scaled to the demo mirror's station count.\n" + yaml.safe_dump(raw, sort_keys=False),
        encoding="utf-8",
    )
    return path


def _demo_env(root: Path, settings: Settings) -> Path:
    """``demo.env``: the demo's settings as WEATHERINSIGHT_* variables, so `make api`, `check` and the client use
    the demo's database and its scaled quality thresholds (not the production ones) after the demo."""
    path = root / "demo.env"
    path.write_text(
        "# Written by `make demo`: source it (set -a; . demo/demo.env; set +a) before follow-up commands.\n"
        f"WEATHERINSIGHT_DATA_DIR={settings.data_dir}\n"
        f"WEATHERINSIGHT_DATABASE_URL={settings.database_url}\n"
        f"WEATHERINSIGHT_RAW_STORE_URL={settings.raw_store_url}\n"
        f"WEATHERINSIGHT_CONFIG_FILE={settings.config_file}\n",
        encoding="utf-8",
    )
    return path


def _mirror(root: Path, stations: int, years: int) -> None:
    if (root / MANIFEST).exists():
        spec = load_spec(root)
        if spec.stations == stations and spec.years == years:
            console.print(f"[dim]reusing the mirror in {root} ({stations} stations × {years} years)[/]")
            return
        shutil.rmtree(root)
    console.rule(f"1 · building a DWD mirror: {stations} stations × {years} years × {len(PRODUCTS)} products")
    with progress_bars(console=console, prefix="[bold]mirror[/] ") as report:
        summary = build_mirror(root, stations=stations, years=years, seed=SEED, progress=report)
    console.print(
        f"{summary.files:,} files, {summary.rows:,} hourly rows, {summary.bytes / 1e6:.1f} MB in "
        f"{summary.seconds:.1f} s → {root}"
    )


def _quality_table(reports: list[QualityReport]) -> Table:
    """Failed checks per quarter (every result is stored in ``quality_check_results``)."""
    table = Table(title="Data-quality findings (27 checks per quarter)")
    table.add_column("quarter", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    for name in ("check", "product", "column"):
        table.add_column(name, overflow="fold")
    table.add_column("measured", justify="right", no_wrap=True)
    table.add_column("limit", justify="right", no_wrap=True)
    for r in reports:
        if not r.fatal and not r.warnings:
            table.add_row(str(r.quarter), "[green]ok", f"all {len(r.findings)} passed", "", "", "", "")
        for f in (*r.fatal, *r.warnings):
            table.add_row(
                str(r.quarter),
                "[red]FATAL" if f.severity == "fatal" else "[yellow]warning",
                f.check,
                f.product,
                f.column or "",
                "" if f.measured is None else f"{f.measured:g}",
                "" if f.threshold is None else f"{f.threshold:g}",
            )
    return table


def run(args: argparse.Namespace) -> int:
    """The demo itself; returns the exit code: 0 when every quarter × product was published and verified.

    Quality findings are shown, not turned into a failing exit code: on the simulated data they are the
    checks doing their job (see the message printed with them).
    """
    started = time.monotonic()
    root = args.dir.resolve()
    if args.fresh and root.exists():
        shutil.rmtree(root)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    _mirror(root / "mirror", args.stations, args.years)

    last = Quarter.last_complete()
    quarters = [last]
    while len(quarters) < args.quarters:
        quarters.insert(0, quarters[0].previous())

    server = serve(root / "mirror")
    try:
        settings: Settings = load_settings(
            data_dir=data,
            database_url=f"sqlite:///{data / 'weatherinsight.db'}",
            raw_store_url=str(data / "raw"),
            dwd_base_url=server.base_url,
            config_file=_demo_config(root, args.stations),
        )
        env_path = _demo_env(root, settings)
        console.rule(f"2 · mirror served on {server.url} (loopback only)")
        console.rule(
            f"3 · pipeline {quarters[0]}..{quarters[-1]}: ingest → process → aggregate (DuckDB → SQLite)"
        )
        with progress_bars(console=console) as progress:
            report = backfill(settings, quarters, progress=progress)
    finally:
        server.stop()
    console.print(summary_table(report, title="WeatherInsight demo: quarter × product"))

    console.rule("4 · data-quality checks")
    t = settings.quality_thresholds
    console.print(
        f"[dim]thresholds scaled to the demo mirror: rows ≥ {t.min_rows_per_quarter}, stations ≥ "
        f"{t.min_stations_per_quarter}, NULLs ≤ {t.max_null_percentage} % "
        "(production: rows ≥ 100, stations ≥ 50)[/]"
    )
    reports = [pipeline.quality_check(settings, q) for q in quarters]
    console.print(_quality_table(reports))

    fatal = sum(len(r.fatal) for r in reports)
    if fatal:
        console.print(
            f"[yellow]The checks caught {fatal} fatal finding(s) in the simulated data.[/] The mirror plants DWD's "
            "quirks on purpose (a station closed this year with a one-day recent file, a station whose pressure is "
            "all -999, …), and their quarters fail the coverage gate, so their features are NULL. In Airflow these "
            "findings fail weatherinsight_data_quality and send the alert e-mail; `weatherinsight check <quarter>` "
            "shows every result."
        )
    ok = report.ok
    console.print(
        Panel.fit(
            "\n".join(
                [
                    f"{'[green]pipeline succeeded' if ok else '[red]pipeline failed'}[/] for "
                    f"{len(report.outcomes)} quarter × product in {time.monotonic() - started:.0f} s; "
                    f"quality: {fatal} fatal, {sum(len(r.warnings) for r in reports)} warning(s)",
                    f"curated database: {settings.database_url}",
                    f"staged Parquet:   {settings.staged_dir}",
                    f"raw store:        {settings.raw_store_url}",
                    "",
                    f"settings for follow-up commands: {env_path} (the demo's data and quality thresholds)",
                    "",
                    "Serve the API:  make api   (or: set -a; . " + str(env_path) + "; set +a; "
                    "uv run --frozen weatherinsight api serve)",
                    "Explorer:       http://127.0.0.1:8000/   (map, stations, quarters, datasets)",
                    "API:            http://127.0.0.1:8000/v1/stations   docs: http://127.0.0.1:8000/docs",
                    f"Check again:    set -a; . {env_path}; set +a; uv run --frozen weatherinsight check {quarters[-1]}",
                    f"Query:          set -a; . {env_path}; set +a; uv run --frozen weatherinsight stations --near 51.0,10.0 --radius-km 200",
                    "Python (with the settings above in the environment):",
                    "  from weatherinsight import Client",
                    "  near = Client().stations(near=(51.0, 10.0), radius_km=200)",
                    f"  df = Client().features('air_temperature', stations=near.station_id, start='{quarters[0]}')",
                    "",
                    "Re-run: `make demo` again is a no-op for unchanged inputs; `--fresh` starts over.",
                ]
            ),
            title="WeatherInsight demo",
        )
    )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> None:
    configure_logging("ERROR")  # the demo narrates with Rich; only errors go to the log
    sys.exit(run(_parse(argv)))


if __name__ == "__main__":
    main()
