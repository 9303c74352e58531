"""Benchmark: the web explorer at full scale in headless Debian chromium (issue #16).

    uv run --frozen python benchmarks/explorer.py [--stations 600] [--quarters 100] [--runs 3] [--json FILE]

1. Seeds a SQLite curated database through the warehouse layer: ``--stations`` stations spread over Germany's
   bounding box (every state name used) and ``--quarters`` published ``air_temperature`` quarters, every station
   in every quarter (600 × 100 = 60,000 rows, every catalog feature filled).
2. Serves it with uvicorn on 127.0.0.1 and opens each page in /usr/bin/chromium (Playwright): the map (600
   points), a station page (100 quarters × 14 charts) and the quarter page (600-row table, 14 histograms).
3. Reports per page the median over ``--runs`` fresh loads of (a) *render*: from the route starting to the page
   being drawn, data fetched from the API included, and (b) *load to drawn*: from navigation start (HTML, CSS,
   scripts and data) to the first frame after drawing (layout and paint included). Target: load to drawn < 1000 ms for every page; exits 1 when a page misses it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for the tests' row builder and server thread

from tests.api.conftest import ServerThread  # noqa: E402
from tests.warehouse.curated_rows import curated_row  # noqa: E402

from weatherinsight.api.app import create_app  # noqa: E402
from weatherinsight.quarters import Quarter  # noqa: E402
from weatherinsight.settings import Settings  # noqa: E402
from weatherinsight.warehouse import db, lineage  # noqa: E402
from weatherinsight.warehouse.tables import curated_table, station_metadata  # noqa: E402

PRODUCT = "air_temperature"
TARGET_MS = 1000
DEBUG = False
STATES = (
    "Baden-Württemberg", "Bayern", "Berlin", "Brandenburg", "Bremen", "Hamburg", "Hessen",
    "Mecklenburg-Vorpommern", "Niedersachsen", "Nordrhein-Westfalen", "Rheinland-Pfalz", "Saarland",
    "Sachsen", "Sachsen-Anhalt", "Schleswig-Holstein", "Thüringen",
)  # fmt: skip


def seed(url: str, settings: Settings, stations: int, quarters: int) -> Quarter:
    """Fill the database; returns the newest quarter."""
    db.ensure_schema(url)
    engine = db.get_engine(url)
    ids = list(range(1, stations + 1))
    with engine.begin() as conn:
        db.bulk_insert(
            conn,
            station_metadata,
            [
                {
                    "product": PRODUCT,
                    "station_id": s,
                    "name": f"Station {s}",
                    "state": STATES[s % len(STATES)],
                    "height": float(s % 900),
                    "lat": 47.4 + (s * 37 % 760) / 100,
                    "lon": 6.0 + (s * 53 % 880) / 100,
                    "valid_from": date(1990, 1, 1),
                }
                for s in ids
            ],
        )
    q = Quarter(2000, 1)
    for i in range(quarters):
        if i:
            q = q.next()
        with engine.begin() as conn:
            v = lineage.begin_version(conn, settings, "curated", PRODUCT, q, fingerprint=f"bench-{stations}")
            rows = [curated_row(PRODUCT, s, q, v.version_name, seed=i) for s in ids]
            db.bulk_insert(conn, curated_table(PRODUCT), rows)
            lineage.publish_version(conn, v, row_count=len(rows))
    return q


def measure(base: str, pages: list[tuple[str, str]], runs: int) -> list[dict[str, object]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        for fragment, name in pages:
            render, total, points = [], [], 0
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.goto(f"{base}/#{fragment}")
                page.wait_for_selector(f"body[data-rendered='{name}']", state="attached", timeout=60_000)
                render.append(int(page.evaluate("Number(document.body.dataset.renderMs)")))
                total.append(int(page.evaluate("Number(document.body.dataset.drawnAt)")))
                points = int(page.evaluate("document.querySelectorAll('circle').length"))
                if DEBUG:
                    print(
                        name,
                        page.evaluate(
                            "performance.getEntriesByType('resource').map(e => [e.name.slice(-60), Math.round(e.startTime), Math.round(e.duration)])"
                        ),
                    )
                context.close()
            results.append(
                {
                    "page": name,
                    "fragment": fragment,
                    "svg_points": points,
                    "render_ms": statistics.median(render),
                    "load_to_drawn_ms": statistics.median(total),
                }
            )
        browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=600)
    parser.add_argument("--quarters", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="wi-explorer-bench-") as tmp:
        data_dir = Path(tmp)
        url = f"sqlite:///{data_dir / 'weatherinsight.db'}"
        settings = Settings(data_dir=data_dir, database_url=url, raw_store_url=str(data_dir / "raw"))
        with console.status(f"seeding {args.stations} stations × {args.quarters} quarters"):
            last = seed(url, settings, args.stations, args.quarters)
        app = create_app(settings)
        pages = [
            ("/map", "map"),
            (f"/station/{args.stations // 2}", "station"),
            (f"/quarter/{PRODUCT}/{last.year}/{last.quarter}", "quarter"),
        ]
        with ServerThread(app) as server, console.status("loading pages in chromium"):
            results = measure(server.url, pages, args.runs)
        app.state.api.engine.dispose()
        db.dispose_engines()
    table = Table(
        title=f"explorer: {args.stations} stations × {args.quarters} quarters (median of {args.runs})"
    )
    for col in ("page", "svg points", "render ms", "load to drawn ms", f"< {TARGET_MS} ms"):
        table.add_column(col, justify="right" if col != "page" else "left")
    for r in results:
        ok = float(r["load_to_drawn_ms"]) < TARGET_MS  # type: ignore[arg-type]
        table.add_row(
            str(r["page"]),
            str(r["svg_points"]),
            str(r["render_ms"]),
            str(r["load_to_drawn_ms"]),
            "yes" if ok else "NO",
        )
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0 if all(float(r["load_to_drawn_ms"]) < TARGET_MS for r in results) else 1  # type: ignore[arg-type]


if __name__ == "__main__":
    raise SystemExit(main())
