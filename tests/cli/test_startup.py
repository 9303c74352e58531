"""The CLI's start-up path: ``weatherinsight --help`` imports no verb module and none of the heavy libraries
that only some verbs need (issue #19), every verb's own ``--help`` (and its subcommands') imports none of the
services' libraries, and every verb's listed help equals its own."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from weatherinsight.cli import VERBS, app, load_verb

#: Libraries that only some verbs need; none may load for ``weatherinsight --help``.
HEAVY = (
    "pandas",
    "ibis",
    "pyarrow",
    "duckdb",
    "sqlalchemy",
    "alembic",
    "numpy",
    "polars",
    "fastapi",
    "uvicorn",
    "httpx",
    "fsspec",
    "pydantic",
    "pyspark",
    "airflow",
    "openlineage",
)

_PROBE = """
import json, sys
from weatherinsight.cli import main
sys.argv = ["weatherinsight", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
roots = sorted({m.split(".")[0] for m in sys.modules})
verbs = sorted(m for m in sys.modules if m.startswith("weatherinsight.cli."))
print(json.dumps({"code": code, "roots": roots, "verbs": verbs}))
"""


def _probe(*args: str) -> dict[str, Any]:
    """Run the console entry point with ``args`` in a fresh interpreter; its exit code and what it imported."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120, check=True
    )
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


def test_help_imports_no_heavy_module_and_no_verb() -> None:
    seen = _probe("--help")
    assert seen["code"] == 0
    assert sorted(set(HEAVY) & set(seen["roots"])) == []
    assert seen["verbs"] == []


#: What the services load; a verb's own help needs none of it (its module imports them inside the command).
SERVICE_LIBRARIES = (
    "pandas",
    "ibis",
    "duckdb",
    "pyarrow",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "uvicorn",
    "pyspark",
    "airflow",
)

#: Every verb's help, and the help of each subcommand of the verb groups.
HELP_COMMANDS = [
    *([name] for name in VERBS),
    ["mirror", "build"],
    ["mirror", "release"],
    ["mirror", "status"],
    ["mirror", "serve"],
    ["api", "serve"],
    ["api", "keys", "create"],
    ["airflow", "init"],
    ["db", "revision"],
    ["db", "upgrade"],
    ["db", "downgrade"],
]


def test_ingest_help_imports_only_its_verb() -> None:
    seen = _probe("ingest", "--help")
    assert seen["code"] == 0
    assert seen["verbs"] == [
        "weatherinsight.cli._common",
        "weatherinsight.cli.ingest",
        "weatherinsight.cli.progress",
    ]
    assert sorted(set(SERVICE_LIBRARIES) & set(seen["roots"])) == []


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=" ".join)
def test_every_verbs_help_imports_no_service_library(command: list[str]) -> None:
    seen = _probe(*command, "--help")
    assert seen["code"] == 0
    assert f"weatherinsight.cli.{VERBS[command[0]].module}" in seen["verbs"]
    assert sorted(set(SERVICE_LIBRARIES) & set(seen["roots"])) == []


@pytest.mark.parametrize("name", list(VERBS))
def test_listed_help_is_the_verbs_own(name: str) -> None:
    command = load_verb(name)
    assert command.name == name
    own = command.short_help or (command.help or "").strip().split("\n")[0]
    assert VERBS[name].short_help == own


def test_unknown_verb_is_a_usage_error() -> None:
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["nosuchverb"])
    assert res.exit_code == 2
    assert "No such command 'nosuchverb'" in res.output
