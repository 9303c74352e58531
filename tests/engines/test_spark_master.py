"""A Spark master URL is checked where it is given (``spark.master`` or ``--master``), before any JVM starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.core import free_port, make_settings
from weatherinsight.cli import app
from weatherinsight.config_checks import spark_master_problem
from weatherinsight.engines import spark
from weatherinsight.errors import ConfigError, SparkUnavailableError
from weatherinsight.settings import load_settings

GOOD = ["local", "local[*]", "local[2]", "local[4,3]", "spark://127.0.0.1:7077", "spark://a:7077,b.example:7078",
        "yarn", "k8s://https://10.0.0.1:6443"]  # fmt: skip
BAD = ["spark//oops", "spark://host", "spark://host:7077/", "local[0]", "sprak://x:1", "", "mesos://h:5050"]


@pytest.mark.parametrize("url", GOOD)
def test_master_urls_spark_accepts(url: str) -> None:
    assert spark_master_problem(url) is None


@pytest.mark.parametrize("url", BAD)
def test_a_bad_master_in_the_config_names_the_key(url: str, tmp_path: Path) -> None:
    f = tmp_path / "spark.yaml"
    f.write_text(f'spark:\n  master: "{url}"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(config_file=f)
    assert exc.value.key == "spark.master"
    assert f"{url!r} is not a Spark master; write local[N]" in str(exc.value) and str(f) in str(exc.value)


@pytest.mark.parametrize("verb", [["stage", "--product", "wind"], ["aggregate", "--quarter", "2024Q1"]])
def test_a_bad_master_option_is_a_usage_error(verb: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, [*verb, "--master", "spark//oops"], env={"WEATHERINSIGHT_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert "Invalid value for '--master'" in result.output
    assert "'spark//oops' is not a Spark master" in " ".join(result.output.replace("│", " ").split())


def test_an_unreachable_standalone_master_is_a_typed_error_before_any_jvm(data_dir: Path) -> None:
    one, two = free_port(), free_port()
    master = f"spark://127.0.0.1:{one},127.0.0.1:{two}"
    with pytest.raises(SparkUnavailableError) as exc:
        spark.session(make_settings(data_dir), master)
    assert exc.value.transient and exc.value.master == master
    assert str(exc.value) == (
        f"Spark master {master} is not reachable: 127.0.0.1:{one}: Connection refused; "
        f"127.0.0.1:{two}: Connection refused — start the cluster (docs/runbook.md, Spark) or fix spark.master "
        "/ --master"
    )
