"""Issue #14 defect 5: every bad configuration ends the real CLI with exit code 2 and exactly one line on stderr
naming the key or variable and where its value came from — never a traceback, never accepted silently.

Each case runs the installed ``weatherinsight`` console script in a clean environment (no ``WEATHERINSIGHT_*``
or ``AWS_*`` variables, a temporary HOME and working directory). The cases rotate over the verbs, so every verb
(ingest, stage, process, aggregate, run, backfill, check, api serve, api keys …) is shown to validate at start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.core import free_port

CLI = Path(sys.executable).with_name("weatherinsight")
GOOD_YAML = Path(__file__).resolve().parents[2] / "src" / "weatherinsight" / "config" / "weatherinsight.yaml"


def _yaml(tmp: Path, text: bytes) -> str:
    path = tmp / "pipeline.yaml"
    path.write_bytes(text)
    return str(path)


def _with(key_path: str, old: str, new: str) -> bytes:
    text = GOOD_YAML.read_text("utf-8")
    assert old in text, key_path
    return text.replace(old, new, 1).encode("utf-8")


# (case id, verb arguments, environment builder, texts the one stderr line must contain)
CASES: list[tuple[str, list[str], object, tuple[str, ...]]] = [
    (
        "config-is-directory",
        ["ingest"],
        lambda t: {"WEATHERINSIGHT_CONFIG_FILE": str(t)},
        ("config_file", "{t}"),
    ),
    (
        "yaml-not-utf8",
        ["stage", "--product", "wind"],
        lambda t: {"WEATHERINSIGHT_CONFIG_FILE": _yaml(t, b"retries:\n  ingest: 3\n# caf\xe9\n")},
        ("not UTF-8", "line 3", "pipeline.yaml"),
    ),
    (
        "yaml-empty",
        ["aggregate", "2024Q1"],
        lambda t: {"WEATHERINSIGHT_CONFIG_FILE": _yaml(t, b"# nothing here\n")},
        ("empty", "pipeline.yaml"),
    ),
    (
        "yaml-duplicated-key",
        ["run", "2024Q1"],
        lambda t: {
            "WEATHERINSIGHT_CONFIG_FILE": _yaml(t, _with("x", "  stage: 2\n", "  stage: 2\n  stage: 3\n"))
        },
        ("stage", "duplicated", "line", "pipeline.yaml"),
    ),
    (
        "yaml-unknown-key",
        ["backfill", "2024Q1"],
        lambda t: {
            "WEATHERINSIGHT_CONFIG_FILE": _yaml(t, _with("x", "retry_delay_minutes", "retry_delay_minutez"))
        },
        ("retry_delay_minutez", "pipeline.yaml"),
    ),
    (
        "bool-is-not-int",
        ["check", "2024Q1"],
        lambda t: {
            "WEATHERINSIGHT_CONFIG_FILE": _yaml(t, _with("x", "max_attempts: 5", "max_attempts: true"))
        },
        ("ingest.max_attempts", "boolean", "pipeline.yaml"),
    ),
    (
        "spark-memory-not-a-size",
        ["api", "keys", "list"],
        lambda t: {
            "WEATHERINSIGHT_CONFIG_FILE": _yaml(t, _with("x", "driver_memory: 2g", "driver_memory: lots"))
        },
        ("spark.driver_memory", "memory size", "pipeline.yaml"),
    ),
    (
        "executor-memory-from-env",
        ["ingest"],
        lambda t: {"WEATHERINSIGHT_SPARK__EXECUTOR_MEMORY": "4 gigs"},
        ("WEATHERINSIGHT_SPARK__EXECUTOR_MEMORY", "memory size", "environment"),
    ),
    (
        "database-url-malformed",
        ["api", "serve", "--port", "1"],
        lambda t: {"WEATHERINSIGHT_DATABASE_URL": "postgresql://u@localhost:port/db"},
        ("WEATHERINSIGHT_DATABASE_URL", "malformed", "environment"),
    ),
    (
        "database-url-mysql",
        ["api", "keys", "create", "x"],
        lambda t: {"WEATHERINSIGHT_DATABASE_URL": "mysql://u@localhost/db"},
        ("WEATHERINSIGHT_DATABASE_URL", "unsupported database 'mysql'", "environment"),
    ),
    (
        "database-driver-missing",
        ["stage", "--product", "wind"],
        lambda t: {"WEATHERINSIGHT_DATABASE_URL": "postgresql+pg8000://u@localhost/db"},
        ("WEATHERINSIGHT_DATABASE_URL", "pg8000", "environment"),
    ),
    (
        "database-unreachable",
        ["api", "keys", "list"],
        lambda t: {"WEATHERINSIGHT_DATABASE_URL": f"postgresql://u@127.0.0.1:{free_port()}/db"},
        ("cannot connect to the database", "WEATHERINSIGHT_DATABASE_URL"),
    ),
    (
        "data-dir-is-a-file",
        ["aggregate", "2024Q1"],
        lambda t: {"WEATHERINSIGHT_DATA_DIR": _yaml(t, b"x")},
        ("WEATHERINSIGHT_DATA_DIR", "is a file", "environment"),
    ),
    (
        "data-dir-cannot-be-created",
        ["run", "2024Q1"],
        lambda t: {"WEATHERINSIGHT_DATA_DIR": _yaml(t, b"x") + "/sub/data"},
        ("WEATHERINSIGHT_DATA_DIR", "cannot be created", "environment"),
    ),
    (
        "s3-without-credentials",
        ["ingest"],
        lambda t: {"WEATHERINSIGHT_RAW_STORE_URL": "s3://bucket/raw"},
        ("WEATHERINSIGHT_RAW_STORE_URL", "no S3 credentials", "environment"),
    ),
    (
        "ftp-raw-store",
        ["process", "wind", "{t}", "2024Q1_raw_v1"],
        lambda t: {"WEATHERINSIGHT_RAW_STORE_URL": "ftp://example.org/raw"},
        ("WEATHERINSIGHT_RAW_STORE_URL", "unsupported raw store scheme 'ftp://'", "environment"),
    ),
    (
        "redis-url-malformed",
        ["api", "serve", "--port", "1"],
        lambda t: {"WEATHERINSIGHT_API_REDIS_URL": "localhost:6379"},
        ("WEATHERINSIGHT_API_REDIS_URL", "Redis URL", "environment"),
    ),
]


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEATHERINSIGHT_", "AWS_"))}
    env.update(HOME=str(tmp / "home"), WEATHERINSIGHT_DATA_DIR=str(tmp / "data"), COLUMNS="80")
    return env


@pytest.mark.slow
@pytest.mark.parametrize(("verb", "make_env", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_configuration_is_one_line_and_exit_2(
    tmp_path: Path, verb: list[str], make_env: object, expected: tuple[str, ...]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = _clean_env(tmp_path)
    env.update(make_env(tmp_path))  # type: ignore[operator]
    args = [a.replace("{t}", str(tmp_path)) for a in verb]
    proc = subprocess.run(
        [str(CLI), *args], cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: ")
    for text in expected:
        assert text.replace("{t}", str(tmp_path)) in line, line
