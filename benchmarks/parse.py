"""Benchmark: parsing a large DWD produkt zip into Parquet — our parser against pandas and the plain limit.

Generates a station zip in the exact DWD hourly layout (padded values, CRLF, ``eor``, -999 sentinels,
Metadaten_Parameter/Geographie beside it) with vectorised numpy, then runs each contender in a fresh
subprocess on the same bytes and reports rows/s and peak RSS (``resource.getrusage``):

* ``ours``   — ``weatherinsight.dwd.produkt_zip.read_produkt_zip`` → ``ParquetWriter`` (one row group per block, as the limit)
* ``pandas`` — ``pandas.read_csv`` on the same produkt member (sep ``;``) → ``DataFrame.to_parquet``
* ``limit``  — zip stream → ``pyarrow.csv.open_csv`` with explicit types → ``ParquetWriter``, no other work

Run: ``uv run --frozen python benchmarks/parse.py [--rows N]`` (default 5,000,000 rows).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

PRODUKT = "produkt_tu_stunde_16000101_21700101_00044.txt"
ZIP_NAME = "stundenwerte_TU_00044_16000101_21700101_hist.zip"
HEADER = b"STATIONS_ID;MESS_DATUM;QN_9;TT_TU;RF_TU;eor\r\n"
CHUNK_ROWS = 500_000
SPACE, MINUS, DOT = ord(" "), ord("-"), ord(".")


def fixed(values: np.ndarray, width: int, decimals: int = 0) -> np.ndarray:
    """Integers (scaled by 10**decimals) → right-aligned ASCII of ``width`` bytes per row, DWD style."""
    n = len(values)
    neg = values < 0
    a = np.abs(values).astype(np.int64)
    digits = np.maximum(decimals + 1, np.floor(np.log10(np.maximum(a, 1))).astype(np.int64) + 1)
    if int((digits + (1 if decimals else 0) + neg).max(initial=0)) > width:
        raise ValueError("value too wide for its column")
    out = np.full((n, width), SPACE, dtype=np.uint8)
    for j, pos in enumerate(range(width - 1, -1, -1)):
        if decimals and j == decimals:
            out[:, pos] = DOT
            continue
        k = j if not decimals or j < decimals else j - 1
        here = k < digits
        out[here, pos] = (a[here] // 10**k % 10 + 48).astype(np.uint8)
        out[neg & (k == digits), pos] = MINUS
    return out


def sentinel_cells(width: int) -> np.ndarray:
    return np.frombuffer(b"-999".rjust(width), dtype=np.uint8)


def chunk_bytes(start_row: int, n: int, rng: np.random.Generator) -> bytes:
    """``n`` produkt lines from hour ``start_row`` after 1600-01-01 00 UTC (one station, hourly)."""
    hours = np.arange(start_row, start_row + n, dtype=np.int64)
    t = np.datetime64("1600-01-01T00", "h") + hours
    days = t.astype("datetime64[D]")
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    hour = (t - days.astype("datetime64[h]")).astype(np.int64)
    mess_datum = ((year * 100 + month) * 100 + day) * 100 + hour
    temp = rng.integers(-200, 350, n)  # tenths of °C
    humid = rng.integers(200, 1001, n)  # tenths of %
    qn = np.where(rng.random(n) < 0.9, 3, 1)
    missing = rng.random(n) < 0.001
    t_cells = fixed(temp, 6, 1)
    h_cells = fixed(humid, 6, 1)
    t_cells[missing] = sentinel_cells(6)
    h_cells[missing] = sentinel_cells(6)
    semi = np.full((n, 1), ord(";"), dtype=np.uint8)
    tail = np.tile(np.frombuffer(b";eor\r\n", dtype=np.uint8), (n, 1))
    station = np.tile(np.frombuffer(b"44".rjust(11), dtype=np.uint8), (n, 1))
    line = np.hstack(
        [station, semi, fixed(mess_datum, 10), semi, fixed(qn, 5), semi, t_cells, semi, h_cells, tail]
    )
    return line.tobytes()


def generate(path: Path, rows: int) -> None:
    rng = np.random.default_rng(44)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "Metadaten_Parameter_tu_stunde_00044.txt",
            "Stations_ID;Von_Datum;Bis_Datum;Stationsname;Parameter;Parameterbeschreibung;Einheit;"
            "Datenquelle (Strukturversion=SV);Zusatz-Info;Besonderheiten;Literaturhinweis;eor;\r\n"
            "44;16000101;21991231;Großenkneten;TT_TU;Lufttemperatur;°C;synthetic;Stundenwerte in UTC;;;eor;\r\n"
            "Legende: FT  = Folgetag; GZ = Gesetzliche Zeit\r\n".encode("latin-1"),
        )
        z.writestr(
            "Metadaten_Geographie_00044.txt",
            "Stations_id;Stationshoehe;Geogr.Breite;Geogr.Laenge;von_datum;bis_datum;Stationsname\n"
            "    44;   44.00; 52.9336;  8.2370;20070401;        ;Großenkneten\n".encode("latin-1"),
        )
        with z.open(PRODUKT, "w", force_zip64=True) as out:
            out.write(HEADER)
            for start in range(0, rows, CHUNK_ROWS):
                out.write(chunk_bytes(start, min(CHUNK_ROWS, rows - start), rng))


# ---- contenders (each runs in its own fresh interpreter) ------------------------------------------------


def run_ours(zip_path: Path, out: Path) -> int:
    import pyarrow.parquet as pq

    from weatherinsight.dwd.produkt_zip import read_produkt_zip

    result = read_produkt_zip(zip_path.read_bytes(), file_name=ZIP_NAME)
    # Written block by block, exactly as the limit writes (one row group per CSV block), so that the
    # comparison measures the parser and not two Parquet row-group strategies.
    with pq.ParquetWriter(out, result.table.schema) as writer:
        for batch in result.table.to_batches():
            writer.write_batch(batch)
    return int(result.table.num_rows)


def run_pandas(zip_path: Path, out: Path) -> int:
    import pandas as pd

    with zipfile.ZipFile(zip_path) as z, z.open(PRODUKT) as member:
        df = pd.read_csv(member, sep=";", skipinitialspace=True)
    df.to_parquet(out)
    return len(df)


def run_limit(zip_path: Path, out: Path) -> int:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    names = ["station_id", "mess_datum", "qn", "tt_tu", "rf_tu", "eor"]
    types = {
        "station_id": pa.int32(),
        "mess_datum": pa.int64(),
        "qn": pa.int16(),
        "tt_tu": pa.float64(),
        "rf_tu": pa.float64(),
        "eor": pa.string(),
    }
    rows = 0
    with zipfile.ZipFile(zip_path) as z, z.open(PRODUKT) as member:
        reader = pacsv.open_csv(
            member,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=";"),
            convert_options=pacsv.ConvertOptions(column_types=types),
        )
        with pq.ParquetWriter(out, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows


CONTENDERS = {"ours": run_ours, "pandas": run_pandas, "limit": run_limit}


def child(mode: str, zip_path: Path, out: Path) -> None:
    # Imports are part of the baseline RSS, not of the timing; every contender loads the same modules
    # (pyarrow imports pandas lazily on its first array anyway), so the baselines are equal.
    import pandas  # noqa: F401
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet

    import weatherinsight.dwd.produkt_zip  # noqa: F401

    pa.array([0])

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    rows = CONTENDERS[mode](zip_path, out)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"mode": mode, "rows": rows, "seconds": seconds, "peak_kib": peak, "start_kib": before}))


def measure(mode: str, zip_path: Path, work: Path) -> dict[str, float]:
    out = work / f"{mode}.parquet"
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--zip", str(zip_path), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; the best time is kept")
    parser.add_argument("--child", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--zip", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.zip, args.out)
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    with tempfile.TemporaryDirectory(prefix="wi-bench-parse-") as tmp:
        work = Path(tmp)
        zip_path = work / ZIP_NAME
        t0 = time.perf_counter()
        with console.status(f"generating {args.rows:,} rows in DWD layout"):
            generate(zip_path, args.rows)
        with zipfile.ZipFile(zip_path) as z:
            text_bytes = z.getinfo(PRODUKT).file_size
        console.print(
            f"generated {ZIP_NAME}: {args.rows:,} rows, {text_bytes / 2**20:.0f} MiB text, "
            f"{zip_path.stat().st_size / 2**20:.0f} MiB zip, in {time.perf_counter() - t0:.1f} s"
        )
        results: dict[str, dict[str, float]] = {}
        for mode in ("limit", "ours", "pandas"):
            runs = []
            for _ in range(args.repeat):
                with console.status(f"running {mode}"):
                    runs.append(measure(mode, zip_path, work))
            best = min(runs, key=lambda r: r["seconds"])
            best["peak_kib"] = max(r["peak_kib"] for r in runs)
            if best["rows"] != args.rows:
                raise SystemExit(f"{mode} returned {best['rows']} rows, expected {args.rows}")
            results[mode] = best

    limit_rate = results["limit"]["rows"] / results["limit"]["seconds"]
    table = Table(title=f"parse {args.rows:,} produkt rows (zip → Parquet)")
    for col in ("contender", "seconds", "rows/s", "% of limit", "peak RSS MiB", "RSS after imports MiB"):
        table.add_column(col, justify="right" if col != "contender" else "left")
    for mode, r in results.items():
        rate = r["rows"] / r["seconds"]
        table.add_row(
            mode,
            f"{r['seconds']:.2f}",
            f"{rate / 1e6:.2f} M",
            f"{100 * rate / limit_rate:.0f} %",
            f"{r['peak_kib'] / 1024:.0f}",
            f"{r['start_kib'] / 1024:.0f}",
        )
    console.print(table)
    ours = results["ours"]
    ratio = (ours["rows"] / ours["seconds"]) / limit_rate
    ok = ratio >= 0.70 and ours["peak_kib"] / 1024 < 400
    console.print(
        f"target (ours ≥ 70 % of limit and peak RSS < 400 MiB): {'MET' if ok else 'MISSED'} "
        f"({100 * ratio:.0f} %, {ours['peak_kib'] / 1024:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
