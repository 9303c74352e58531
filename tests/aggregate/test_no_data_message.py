"""The "no data for that quarter" answer of ``aggregate``: what is staged, and a stage command that parses."""

from __future__ import annotations

import re
import shlex

import pytest
from typer.testing import CliRunner

from tests.aggregate.test_cli import env
from tests.aggregate.test_service import stage
from tests.features import cases
from weatherinsight.aggregate import AggregationError, aggregate_quarter
from weatherinsight.cli import app
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings


def test_quarter_without_data_names_staged_quarters_and_a_valid_command(settings: Settings) -> None:
    stage(settings, "moisture", cases.moisture())  # 2024Q1 only
    with pytest.raises(AggregationError) as err:
        aggregate_quarter(settings, "moisture", Quarter(2020, 2))
    text = str(err.value)
    assert "no station has moisture data staged for 2020Q2; staged quarters: 2024Q1" in text
    command = re.search(r"`(weatherinsight stage [^`]+)`", text)
    assert command is not None
    assert command.group(1) == "weatherinsight stage --product moisture --quarter 2020Q2"
    # the suggested command is accepted by the CLI exactly as printed (a usage error would exit with 2)
    res = CliRunner().invoke(app, shlex.split(command.group(1))[1:], env=env(settings))
    assert res.exit_code == 0, res.output
    assert "moisture" in res.output


def test_nothing_staged_at_all_says_so(settings: Settings) -> None:
    with pytest.raises(AggregationError, match=r"nothing of wind is staged yet"):
        aggregate_quarter(settings, "wind", Quarter(2020, 2))
