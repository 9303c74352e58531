"""A racer process for the concurrency probe: runs one CLI command per trial, in step with its twin.

``python -m tests.reliability.racer <trials.json> <name> <barrier dir>``: for each trial (``args`` and
``env``) it waits until both racers reached the trial (files in the barrier dir), then runs the real
``weatherinsight`` CLI in this process and prints one JSON line (exit code, output, exception). One process
serves every trial, so the trials do not pay the interpreter's start-up each time.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from weatherinsight.cli import app
from weatherinsight.warehouse import db


def main() -> None:
    trials = json.loads(Path(sys.argv[1]).read_text())
    me, barrier = sys.argv[2], Path(sys.argv[3])
    runner = CliRunner()
    for k, trial in enumerate(trials):
        (barrier / f"{k}.{me}").touch()
        deadline = time.monotonic() + 300
        while len(list(barrier.glob(f"{k}.*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        result = runner.invoke(app, trial["args"], env=trial["env"])
        exc = result.exception
        crashed = exc is not None and not isinstance(exc, SystemExit)
        print(
            json.dumps(
                {
                    "code": result.exit_code,
                    "output": result.output,
                    "exception": repr(exc) if crashed else None,
                }
            ),
            flush=True,
        )
        db.dispose_engines()


if __name__ == "__main__":
    main()
