"""Benchmark: the whole pipeline at archive scale — full load, 20-quarter backfill, one quarter, no-op (issue #19).

    uv run --frozen python benchmarks/archive.py [--stations 500] [--years 10] [--products all]
        [--backfill-quarters 20] [--periods quarter|all] [--no-baseline] [--only full backfill quarter]
        [--workdir DIR]

1. Builds (or reuses) a simulated DWD mirror of ``stations × years × products`` (``weatherinsight.mirror``,
   seed 7, "today" = the day it was built), with the daily KL files the products' day-based indices read
   (air_temperature and precipitation: a reused mirror without them gets them added, nothing rebuilt), and
   serves it with ``weatherinsight.mirror.server`` on 127.0.0.1 in
   a separate process.
2. **limit**: every produkt member of the mirror streamed through ``zipfile`` + ``pyarrow.csv`` into one Parquet
   file per product (no validation, no precedence, no partitions): the parse limit, in produkt bytes/s.
3. Each phase runs in its own child process (its peak RSS is its own, from ``wait4``), into a fresh data dir
   unless said otherwise:

   * **full**: first full load — ingest every file, stage all history, aggregate every complete quarter;
   * **backfill**: ``pipeline.backfill`` of the last N complete quarters (ingest each, stage once, aggregate
     each); **baseline**: the same quarters the way a backfill ran before issue #19, ``run_quarter`` quarter
     after quarter (every quarter's staging parsed each file again) — same run, same mirror;
   * **quarter**: ``run_quarter`` of the last complete quarter; **noop**: the same again in the same data dir.

``--periods quarter`` publishes quarters only (``features.periods`` empty: the issue's original scope);
``all`` (the default) also the months, seasons and years the quarters complete. A phase fails loudly when a
daily input failed (no AVAILABLE staged daily version for one of its quarters) — the pipeline itself only logs
that and falls back to hourly-derived days, which would measure a different workload.

For each phase the report gives wall time, peak RSS, and the share of the parse limit: the time the limit
needs for the produkt bytes the phase had to read (every file whose range touches its quarters, once) over the
phase's wall time; and the CPU seconds of the phase (``cpu_s``) and of the mirror server meanwhile
(``server_cpu_s``): on a 2-core machine their sum / 2 is a floor under the wall time. Sizes are parameters because the issue's size (500 stations; 30 years for one product,
10 years for five) takes long on a shared 2-core machine; the defaults are that size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from _ports import free_port

if TYPE_CHECKING:
    from weatherinsight.pipeline.reports import RunReport
    from weatherinsight.settings import Settings

SEED = 7


def ensure_mirror(workdir: Path, stations: int, years: int, products: list[str]) -> Path:
    """The mirror under ``workdir/mirror`` with ``products`` and the daily inputs they read: rebuilt when its
    size or hourly products differ; a missing daily input is added (its files only)."""
    from weatherinsight.features.day_sources import daily_inputs
    from weatherinsight.mirror.layout import MANIFEST, load_spec
    from weatherinsight.mirror.simulate import add_products, build_mirror

    mirror = workdir / "mirror"
    wanted = [*products, *daily_inputs(products)]
    if (mirror / MANIFEST).exists():
        spec = load_spec(mirror)
        same_size = (spec.stations, spec.years, spec.seed) == (stations, years, SEED)
        if same_size and set(products) <= set(spec.products) <= set(wanted):
            missing = [p for p in wanted if p not in spec.products]
            if missing:
                t0 = time.monotonic()
                added = add_products(mirror, missing, workers=2)
                print(
                    f"mirror: added {', '.join(missing)} ({added.files} files) in {time.monotonic() - t0:.0f} s"
                )
            return mirror
        shutil.rmtree(mirror)
    t0 = time.monotonic()
    summary = build_mirror(mirror, stations=stations, years=years, seed=SEED, products=wanted, workers=2)
    print(
        f"mirror built: {summary.files} files, {summary.rows} rows in {time.monotonic() - t0:.0f} s",
        flush=True,
    )
    return mirror


def mirror_today(mirror: Path) -> str:
    from weatherinsight.mirror.layout import load_spec

    return load_spec(mirror).today.isoformat()


def produkt_members(mirror: Path, products: list[str]) -> list[tuple[Path, str, int, str, str]]:
    """Every zip's produkt member: (zip, member, uncompressed bytes, first day, last day as the name says)."""
    from weatherinsight.dwd.files import produkt_name_range
    from weatherinsight.dwd.products import get_product
    from weatherinsight.mirror.layout import hourly_root

    out = []
    for name in products:
        for zpath in sorted((hourly_root(mirror) / get_product(name).directory).glob("*/*.zip")):
            with zipfile.ZipFile(zpath) as zf:
                info = next(i for i in zf.infolist() if i.filename.startswith("produkt_"))
            claim = produkt_name_range(info.filename)
            assert claim is not None, info.filename
            out.append((zpath, info.filename, info.file_size, claim[0].isoformat(), claim[1].isoformat()))
    return out


def bytes_for(members: list[tuple[Path, str, int, str, str]], first_day: str, last_day: str) -> int:
    """Produkt bytes a run over ``first_day..last_day`` has to read: each touching file once."""
    return sum(size for _z, _m, size, a, b in members if a <= last_day and b >= first_day)


def phase_limit(workdir: Path, products: list[str]) -> dict[str, float]:
    """zipfile + pyarrow.csv → Parquet, one writer per product, no transformation."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    members = produkt_members(workdir / "mirror", products)
    out = workdir / "limit"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows = 0
    writers: dict[str, pq.ParquetWriter] = {}
    t0 = time.monotonic()
    for zpath, member, _size, _a, _b in members:
        product = zpath.parent.parent.name
        with zipfile.ZipFile(zpath) as zf, zf.open(member) as stream:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=8 << 20),
                parse_options=pacsv.ParseOptions(delimiter=";"),
            )
            for batch in reader:
                writer = writers.get(product)
                if writer is None:
                    writer = writers[product] = pq.ParquetWriter(out / f"{product}.parquet", batch.schema)
                elif batch.schema != writer.schema:
                    batch = batch.cast(writer.schema)
                writer.write_batch(batch)
                rows += batch.num_rows
    for w in writers.values():
        w.close()
    seconds = time.monotonic() - t0
    shutil.rmtree(out, ignore_errors=True)
    return {"rows": rows, "bytes": sum(m[2] for m in members), "seconds": seconds}


#: ``--periods``: what a phase publishes beside quarters (``features.periods``).
PERIODS = {"quarter": (), "all": ("month", "season", "year")}


def _settings(workdir: Path, name: str, base_url: str, *, fresh: bool) -> Settings:
    from weatherinsight.settings import load_settings

    data = workdir / f"data-{name}"
    if fresh:
        shutil.rmtree(data, ignore_errors=True)
    settings = load_settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'wi.db'}",
        dwd_base_url=base_url,
        raw_store_url=str(data / "raw"),
    )
    kinds = PERIODS[os.environ.get("WI_BENCH_PERIODS", "all")]
    return settings.model_copy(update={"features": settings.features.model_copy(update={"periods": kinds})})


def _check_daily(settings: Settings, products: list[str], quarters: list[str], phase: str) -> None:
    """Fail loudly when a daily input the products read has no AVAILABLE staged version for a quarter: the
    pipeline only logs such a failure (and falls back to hourly-derived days)."""
    from weatherinsight.features.day_sources import daily_inputs
    from weatherinsight.warehouse import db, lineage

    for daily in daily_inputs(products):
        with db.get_engine(settings.database_url).connect() as conn:
            have = {
                f"{v.year}Q{v.quarter}"
                for v in lineage.list_versions(conn, kind="staged", product=daily, statuses=["AVAILABLE"])
                if v.period_kind == "quarter"
            }
        missing = [q for q in quarters if q not in have]
        if missing:
            raise SystemExit(
                f"{phase}: daily input {daily} has no staged version for {len(missing)} of {len(quarters)} "
                f"quarter(s) ({', '.join(missing[:4])}{' …' if len(missing) > 4 else ''}): its ingest or staging failed (see the log), or the "
                "mirror lacks climate/daily/kl"
            )


def _check(report: RunReport, phase: str, settings: Settings, products: list[str]) -> dict[str, float]:
    failed = report.failed
    if failed:
        raise SystemExit(f"{phase}: {len(failed)} quarter × product failed: {failed[0].error}")
    _check_daily(settings, products, sorted({o.quarter for o in report.outcomes}), phase)
    outcomes = report.outcomes
    return {
        "pairs": len(outcomes),
        "succeeded": sum(1 for o in outcomes if o.status == "succeeded"),
        "unchanged": sum(1 for o in outcomes if o.status == "unchanged"),
    }


def phase_full(workdir: Path, products: list[str], base_url: str, quarters: list[str]) -> dict[str, float]:
    from weatherinsight.dwd.products import get_product
    from weatherinsight.features.day_sources import daily_inputs
    from weatherinsight.ingest import ingest_product
    from weatherinsight.pipeline import steps
    from weatherinsight.quarters import Quarter
    from weatherinsight.staging import stage_daily, stage_product

    settings = _settings(workdir, "full", base_url, fresh=True)
    dailies = daily_inputs(products)
    t0 = time.monotonic()
    for name in [*dailies, *products]:
        ingest_product(settings, name)
    t1 = time.monotonic()
    rows = 0
    for name in dailies:  # before the products that read them aggregate
        rows += sum(stage_daily(settings, get_product(name)).rows_by_quarter.values())
    for name in products:
        rows += stage_product(settings, get_product(name)).rows_written
    t2 = time.monotonic()
    _check_daily(settings, products, quarters, "full")
    n = 0
    for name in products:
        for q in quarters:
            steps.aggregate(settings, name, Quarter.parse(q))
            n += 1
    t3 = time.monotonic()
    return {
        "seconds": t3 - t0,
        "ingest_s": t1 - t0,
        "stage_s": t2 - t1,
        "aggregate_s": t3 - t2,
        "staged_rows": rows,
        "aggregated": n,
    }


def phase_backfill(
    workdir: Path, products: list[str], base_url: str, quarters: list[str]
) -> dict[str, float]:
    from weatherinsight.pipeline.backfill import backfill
    from weatherinsight.quarters import Quarter

    settings = _settings(workdir, "backfill", base_url, fresh=True)
    t0 = time.monotonic()
    report = backfill(settings, [Quarter.parse(q) for q in quarters], products=products)
    return {"seconds": time.monotonic() - t0, **_check(report, "backfill", settings, products)}


def phase_baseline(
    workdir: Path, products: list[str], base_url: str, quarters: list[str]
) -> dict[str, float]:
    from weatherinsight.pipeline import run_quarter
    from weatherinsight.pipeline.reports import RunReport
    from weatherinsight.quarters import Quarter

    settings = _settings(workdir, "baseline", base_url, fresh=True)
    t0 = time.monotonic()
    outcomes = []
    for q in quarters:
        outcomes += run_quarter(settings, Quarter.parse(q), products=products).outcomes
    return {"seconds": time.monotonic() - t0, **_check(RunReport(outcomes), "baseline", settings, products)}


def phase_quarter(workdir: Path, products: list[str], base_url: str, quarters: list[str]) -> dict[str, float]:
    from weatherinsight.pipeline import run_quarter
    from weatherinsight.quarters import Quarter

    settings = _settings(workdir, "quarter", base_url, fresh=True)
    t0 = time.monotonic()
    report = run_quarter(settings, Quarter.parse(quarters[-1]), products=products)
    return {"seconds": time.monotonic() - t0, **_check(report, "quarter", settings, products)}


def phase_noop(workdir: Path, products: list[str], base_url: str, quarters: list[str]) -> dict[str, float]:
    from weatherinsight.pipeline import run_quarter
    from weatherinsight.quarters import Quarter

    settings = _settings(workdir, "quarter", base_url, fresh=False)
    t0 = time.monotonic()
    report = run_quarter(settings, Quarter.parse(quarters[-1]), products=products)
    out = {"seconds": time.monotonic() - t0, **_check(report, "noop", settings, products)}
    if out["unchanged"] != out["pairs"]:
        raise SystemExit(f"noop: {out['pairs'] - out['unchanged']} pair(s) were not unchanged")
    return out


PHASES = {
    "full": phase_full,
    "backfill": phase_backfill,
    "baseline": phase_baseline,
    "quarter": phase_quarter,
    "noop": phase_noop,
}


#: Log events that open and close one step (keyed by product and, for aggregations, the period).
_STEP_EVENTS = {
    "ingest.start": ("ingest", True),
    "ingest.finish": ("ingest", False),
    "stage.start": ("stage", True),
    "stage.done": ("stage", False),
    "stage.noop": ("stage", False),
    "aggregate_start": ("aggregate", True),
    "aggregate_published": ("aggregate", False),
    "aggregate_unchanged": ("aggregate", False),
}
_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \[\w+\s*\] (\S+)\s*(.*)$")


def busy_seconds(log_path: Path) -> dict[str, float]:
    """Per step kind (ingest, stage, aggregate) the wall seconds during which at least one such step ran
    (the union of its steps' intervals, from the phase's INFO log; 1 s resolution; products overlap, so the
    kinds do too)."""
    open_at: dict[tuple[str, str, str], datetime] = {}
    spans: dict[str, list[tuple[datetime, datetime]]] = {"ingest": [], "stage": [], "aggregate": []}
    for line in log_path.read_text(errors="replace").splitlines():
        m = _LOG_LINE.match(line)
        if m is None or m.group(2) not in _STEP_EVENTS:
            continue
        kind, opens = _STEP_EVENTS[m.group(2)]
        fields = dict(re.findall(r"(\w+)=(\S+)", m.group(3)))
        key = (kind, fields.get("product", ""), fields.get("quarter", ""))
        at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
        if opens:
            open_at[key] = at
        elif key in open_at:
            spans[kind].append((open_at.pop(key), at))
    out = {}
    for kind, items in spans.items():
        total, end = 0.0, None
        for a, b in sorted(items):
            if end is None or a > end:
                total += (b - a).total_seconds()
                end = b
            elif b > end:
                total += (b - end).total_seconds()
                end = b
        out[kind] = total
    return out


class RssSampler:
    """Samples a child's resident set (``/proc/<pid>/status`` VmRSS) twice a second in a thread, so a phase's
    peak RSS can be matched to the steps its INFO log shows running at that moment (``--logs``)."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.samples: list[tuple[str, int]] = []
        self._path = Path(f"/proc/{pid}/status")
        self._done = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self._interval):
            try:
                text = self._path.read_text()
            except OSError:  # the child has exited
                return
            m = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
            if m:
                self.samples.append(
                    (datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-4], int(m.group(1)) // 1024)
                )

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def peak_at(self) -> str:
        """The local time (as the INFO log writes it) of the highest sample; "" without samples."""
        return max(self.samples, key=lambda s: s[1])[0] if self.samples else ""

    def write(self, path: Path) -> None:
        path.write_text("time\trss_mib\n" + "".join(f"{t}\t{m}\n" for t, m in self.samples))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (``/proc/<pid>/stat``); 0.0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def run_child(
    phase: str, args: argparse.Namespace, base_url: str, quarters: list[str], server_pid: int | None = None
) -> dict[str, float]:
    """Run one phase in a child process; returns its JSON result with its peak RSS in MiB, its CPU seconds
    (user + system, from ``wait4``) and, given the mirror server's pid, the CPU seconds the server spent
    meanwhile: on a 2-core machine (CPU seconds of both) / 2 bounds the phase's wall time from below."""
    server_cpu = cpu_seconds(server_pid) if server_pid else 0.0
    cmd = [sys.executable, __file__, "--phase", phase, "--workdir", str(args.workdir), "--base-url", base_url]
    cmd += ["--products", *args.products, "--quarters", *quarters]
    level = "INFO" if args.logs else "WARNING"
    env = {**os.environ, "WEATHERINSIGHT_LOG_LEVEL": level, "WI_BENCH_PERIODS": args.periods}
    log_path = args.logs / f"{phase}.log" if args.logs else None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path or os.devnull, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err if log_path else None, env=env)
        sampler = RssSampler(proc.pid) if log_path is not None else None
        assert proc.stdout is not None
        out = proc.stdout.read()
        if sampler is not None:
            sampler.stop()
        _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"phase {phase} failed with exit code {os.waitstatus_to_exitcode(status)}")
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    result["peak_rss_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    if server_pid:
        result["server_cpu_s"] = cpu_seconds(server_pid) - server_cpu
    if log_path is not None:  # the pipeline logs to stdout: everything before the result line
        with open(log_path, "ab") as f:
            f.write(b"\n".join(out.strip().splitlines()[:-1]) + b"\n")
        result.update({f"busy_{k}_s": v for k, v in busy_seconds(log_path).items()})
    if sampler is not None and log_path is not None:
        sampler.write(log_path.with_suffix(".rss.tsv"))
        print(
            f"{phase}: RSS samples in {log_path.with_suffix('.rss.tsv')}, highest at {sampler.peak_at()}",
            flush=True,
        )
    print(f"{phase}: {json.dumps(result)}", flush=True)
    return result


def _serve(mirror: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    from weatherinsight.mirror import MIRROR_PREFIX

    port = free_port()
    code = (
        "import sys, time; from pathlib import Path; from weatherinsight.mirror.server import serve; "
        "serve(Path(sys.argv[1]), port=int(sys.argv[2])); time.sleep(10**6)"
    )
    server = subprocess.Popen([sys.executable, "-c", code, str(mirror), str(port)], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/{MIRROR_PREFIX}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"mirror server at {url} did not come up")


def main() -> None:
    from weatherinsight.dwd.products import PRODUCTS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=500)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--products", nargs="+", default=list(PRODUCTS))
    ap.add_argument("--backfill-quarters", type=int, default=20)
    ap.add_argument(
        "--periods",
        choices=sorted(PERIODS),
        default="all",
        help="publish quarters only, or also the months, seasons and years they complete (default all)",
    )
    ap.add_argument("--no-baseline", action="store_true", help="skip the quarter-after-quarter baseline")
    ap.add_argument(
        "--no-limit",
        action="store_true",
        help="skip the limit phase (no share of the limit is reported; for a re-run right after one that had it)",
    )
    ap.add_argument(
        "--only",
        nargs="+",
        choices=["full", "backfill", "quarter"],
        default=["full", "backfill", "quarter"],
        help="run only these phases (quarter includes the no-op re-run)",
    )
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/wi-bench-archive"))
    ap.add_argument(
        "--logs",
        type=Path,
        help="write each phase's INFO log to LOGS/<phase>.log, report the busy seconds per step kind and sample its RSS into LOGS/<phase>.rss.tsv",
    )
    ap.add_argument("--phase", choices=["limit", *PHASES], help=argparse.SUPPRESS)
    ap.add_argument("--base-url", help=argparse.SUPPRESS)
    ap.add_argument("--quarters", nargs="*", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase == "limit":
        print(json.dumps(phase_limit(args.workdir, args.products)))
        return
    if args.phase:
        print(json.dumps(PHASES[args.phase](args.workdir, args.products, args.base_url, args.quarters)))
        return

    from weatherinsight.mirror.layout import load_spec
    from weatherinsight.quarters import Quarter, quarter_range

    args.workdir.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    started = datetime.now(UTC)
    mirror = ensure_mirror(args.workdir, args.stations, args.years, args.products)
    spec = load_spec(mirror)
    members = produkt_members(mirror, args.products)
    last = Quarter.last_complete(spec.today)
    first_day = min(m[3] for m in members)
    every = [str(q) for q in quarter_range(Quarter.of(datetime.fromisoformat(first_day)), last)]
    recent = every[-args.backfill_quarters :]
    limit = None if args.no_limit else run_child_limit(args)
    server, base_url = _serve(mirror)
    results: dict[str, dict[str, float]] = {}
    try:
        if "full" in args.only:
            results["full"] = run_child("full", args, base_url, every, server.pid)
        if "backfill" in args.only:
            results["backfill"] = run_child("backfill", args, base_url, recent, server.pid)
            if not args.no_baseline:
                results["baseline"] = run_child("baseline", args, base_url, recent, server.pid)
        if "quarter" in args.only:
            results["quarter"] = run_child("quarter", args, base_url, recent[-1:], server.pid)
            results["noop"] = run_child("noop", args, base_url, recent[-1:], server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    rate = limit["bytes"] / limit["seconds"] if limit else None
    spans = {
        "full": every,
        "backfill": recent,
        "baseline": recent,
        "quarter": recent[-1:],
        "noop": recent[-1:],
    }
    for name, r in results.items():
        q0, q1 = Quarter.parse(spans[name][0]), Quarter.parse(spans[name][-1])
        last_day = (q1.end - timedelta(days=1)).date().isoformat()  # ``end`` is exclusive
        needed = bytes_for(members, q0.start.date().isoformat(), last_day)
        if name == "noop":
            needed = 0  # nothing changed: nothing has to be parsed
        r["bytes_to_read"] = needed
        if rate is not None:
            r["limit_seconds"] = needed / rate
            r["share_of_limit"] = r["limit_seconds"] / r["seconds"]
    report = {
        "stations": args.stations,
        "years": args.years,
        "products": len(args.products),
        "periods": args.periods,
        "files": len(members),
        "produkt_bytes": sum(m[2] for m in members),
        "limit": {**limit, "bytes_per_s": rate, "rows_per_s": limit["rows"] / limit["seconds"]}
        if limit
        else None,
        **results,
        "started_utc": started.strftime("%Y-%m-%d %H:%M"),
        "load_avg_start": [round(x, 2) for x in load_start],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(report, indent=1, default=str))


def run_child_limit(args: argparse.Namespace) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--phase",
        "limit",
        "--workdir",
        str(args.workdir),
        "--products",
        *args.products,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("phase limit failed")
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    result["peak_rss_mib"] = usage.ru_maxrss / 1024
    print(f"limit: {json.dumps(result)}", flush=True)
    return result


if __name__ == "__main__":
    main()
