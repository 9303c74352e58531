"""``weatherinsight db revision``: migrations are generated from ``warehouse.tables.metadata``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.products import toy_product
from weatherinsight.warehouse.db import MIGRATIONS_DIR
from weatherinsight.warehouse.revisions import RevisionError, generate_revision


@pytest.fixture
def toy() -> Iterator[None]:
    toy_product.register()
    try:
        yield
    finally:
        toy_product.unregister()


def test_nothing_to_generate_when_the_migrations_match_the_code(tmp_path: Path) -> None:
    # the shipped migrations (0005 generated this way) already create every registered product's table
    with pytest.raises(RevisionError, match="nothing to generate"):
        generate_revision("no change", "9999_none", versions_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_registered_product_gets_its_table_migration(toy: None, tmp_path: Path) -> None:
    path = generate_revision("toy table", "9999_toy", versions_dir=tmp_path)
    assert path == tmp_path / "9999_toy.py"
    text = path.read_text(encoding="utf-8")
    assert 'down_revision = "0007_climate_normals"' in text  # the head revision
    assert '"quarterly_toy_temperature_features"' in text
    assert 'sa.Column("toy_temp_max", sa.Float(), nullable=True)' in text
    assert 'sa.Column("toy_warm_hours", sa.Integer(), nullable=True)' in text
    assert "ix_quarterly_toy_temperature_features_quarter" in text
    assert "quarterly_sun_features" not in text  # only the difference


def test_a_taken_revision_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RevisionError, match="exists already"):
        generate_revision("again", "0005_sun_cloudiness_tables", versions_dir=tmp_path)


CLI_ARGS = ("db", "revision", "--rev-id", "9999_none", "-m", "no change")


def test_cli_says_nothing_to_generate_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from weatherinsight.cli import main; main()", *CLI_ARGS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "nothing to generate" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert not (MIGRATIONS_DIR / "versions" / "9999_none.py").exists()
