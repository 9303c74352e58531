"""Benchmark: start-up of the ``weatherinsight`` command against the bare interpreter, in the same run.

Each contender runs ``--repeat`` times in a fresh process and the median wall time counts:

* ``baseline``  — ``python -c pass``: the interpreter alone (site-packages, the editable install's path hook);
* ``--help``    — ``weatherinsight --help`` through its console entry point (``weatherinsight.cli:main``);
* ``ingest --help`` — a verb's help: its module and the light modules it names; the verb imports its service
  inside the command body, so its help loads none of the service's libraries.

It also reports the cumulative import time of ``weatherinsight.cli`` (``python -X importtime``) and which of
the heavy libraries (pandas, Ibis, PyArrow, DuckDB, SQLAlchemy, FastAPI) ``--help`` and ``ingest --help``
loaded — none since the verbs, and the services within a verb, are imported lazily (issue #19). Byte code: ``make setup`` compiles site-packages and ``src/``; run it
first, or the figures include compiling.

Run: ``uv run --frozen python benchmarks/startup.py [--repeat 9] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HEAVY = ("pandas", "ibis", "pyarrow", "duckdb", "sqlalchemy", "fastapi")
_LOADED = (
    "import sys; from weatherinsight.cli import main; sys.argv = ['weatherinsight', *sys.argv[1:]]\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    f"print('LOADED', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
)


def _median_seconds(command: list[str], repeat: int) -> float:
    times: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _import_seconds() -> float:
    """Cumulative import time of ``weatherinsight.cli`` as ``-X importtime`` reports it."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import weatherinsight.cli"],
        check=True,
        capture_output=True,
        text=True,
    )
    line = [x for x in done.stderr.splitlines() if x.rstrip().endswith("| weatherinsight.cli")][-1]
    return int(line.split("|")[1]) / 1e6


def _heavy_loaded(*args: str) -> list[str]:
    """The heavy libraries ``weatherinsight ARGS`` loaded, in a fresh process."""
    loaded = subprocess.run(
        [sys.executable, "-c", _LOADED, *args], check=True, capture_output=True, text=True
    )
    found: list[str] = json.loads(
        loaded.stdout.strip().splitlines()[-1].removeprefix("LOADED ").replace("'", '"')
    )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    exe = shutil.which("weatherinsight", path=os.path.dirname(sys.executable)) or "weatherinsight"
    report: dict[str, object] = {
        "baseline_s": _median_seconds([sys.executable, "-c", "pass"], args.repeat),
        "help_s": _median_seconds([exe, "--help"], args.repeat),
        "ingest_help_s": _median_seconds([exe, "ingest", "--help"], args.repeat),
        "cli_import_s": _import_seconds(),
    }
    report["heavy_loaded_by_help"] = _heavy_loaded("--help")
    report["heavy_loaded_by_ingest_help"] = _heavy_loaded("ingest", "--help")
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"python -c pass (baseline)      {report['baseline_s']:.3f} s")
    print(f"weatherinsight --help          {report['help_s']:.3f} s")
    print(f"weatherinsight ingest --help   {report['ingest_help_s']:.3f} s")
    print(f"import weatherinsight.cli      {report['cli_import_s']:.3f} s (-X importtime, cumulative)")
    print(f"heavy modules loaded by --help {report['heavy_loaded_by_help']}")
    print(f"heavy modules loaded by ingest --help {report['heavy_loaded_by_ingest_help']}")


if __name__ == "__main__":
    main()
