"""Shared helpers for the deployment tests: paths, and the compose file rendered by docker-compose itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import REPO, require

DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"


def compose_cmd(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Debian's docker-compose against deploy/docker-compose.yml with the given .env file."""
    binary = shutil.which("docker-compose")
    require(binary is not None, "docker-compose not installed (apt-get install docker-compose)")
    assert binary is not None
    return subprocess.run(
        [binary, "--project-directory", str(DEPLOY), "-f", str(COMPOSE), "--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="session")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/.env.example as `.env` in a temp dir (what an operator does first)."""
    d = tmp_path_factory.mktemp("compose-env")
    target = d / ".env"
    shutil.copyfile(ENV_EXAMPLE, target)
    return target


@pytest.fixture(scope="session")
def rendered(env_file: Path) -> dict[str, Any]:
    """The compose model after interpolation and merging, as docker-compose renders it."""
    proc = compose_cmd(env_file, "config")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = yaml.safe_load(proc.stdout)
    return doc
