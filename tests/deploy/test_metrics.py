"""weatherinsight.metrics: the pipeline textfile, parsed back with prometheus_client's parser."""

from __future__ import annotations

import multiprocessing
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from weatherinsight import metrics
from weatherinsight.errors import InvalidQuarterError, UnknownProductError
from weatherinsight.settings import Settings

P = "weatherinsight_pipeline_"


def samples(settings: Settings) -> dict[str, dict[frozenset[tuple[str, str]], float]]:
    """All samples of the textfile: sample name -> {label set -> value}."""
    text = metrics.metrics_file(settings).read_text(encoding="utf-8")
    out: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, {})[frozenset(s.labels.items())] = s.value
    return out


def lab(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def test_default_location_is_data_dir_metrics(settings: Settings) -> None:
    assert settings.metrics_dir is None
    assert metrics.metrics_file(settings) == settings.data_dir / "metrics" / "weatherinsight_pipeline.prom"
    moved = settings.model_copy(update={"metrics_dir": settings.data_dir / "elsewhere"})
    assert metrics.metrics_file(moved) == settings.data_dir / "elsewhere" / "weatherinsight_pipeline.prom"


def test_record_step_sets_gauges_and_accumulates_counters(settings: Settings) -> None:
    path = metrics.record_step(
        settings,
        stage="ingest",
        product="wind",
        quarter="2024Q1",
        status="success",
        files=3,
        bytes_=1000,
        rows=50,
        quarantined=1,
        duration_s=2.5,
    )
    assert path == metrics.metrics_file(settings)
    metrics.record_step(
        settings, stage="ingest", product="wind", quarter="2024Q1", status="failed", files=2, duration_s=1.25
    )
    got = samples(settings)
    step = lab(stage="ingest", product="wind", quarter="2024Q1")
    # gauges: the last run only
    assert got[P + "step_files"] == {step: 2.0}
    assert got[P + "step_bytes"] == {step: 0.0}
    assert got[P + "step_rows"] == {step: 0.0}
    assert got[P + "step_quarantined_files"] == {step: 0.0}
    assert got[P + "step_duration_seconds"] == {step: 1.25}
    assert got[P + "step_status"] == {
        lab(stage="ingest", product="wind", quarter="2024Q1", status="failed"): 1.0,
        lab(stage="ingest", product="wind", quarter="2024Q1", status="success"): 0.0,
        lab(stage="ingest", product="wind", quarter="2024Q1", status="skipped"): 0.0,
    }
    # counters: every run
    total = lab(stage="ingest", product="wind")
    assert got[P + "files_total"] == {total: 5.0}
    assert got[P + "bytes_total"] == {total: 1000.0}
    assert got[P + "rows_total"] == {total: 50.0}
    assert got[P + "quarantined_files_total"] == {total: 1.0}
    assert got[P + "duration_seconds_total"] == {total: 3.75}
    assert got[P + "step_runs_total"] == {
        lab(stage="ingest", product="wind", status="success"): 1.0,
        lab(stage="ingest", product="wind", status="failed"): 1.0,
    }
    (ts,) = got[P + "step_last_run_timestamp_seconds"].values()
    assert abs(ts - datetime.now(UTC).timestamp()) < 60


def test_steps_of_other_products_and_quarters_are_kept_apart(settings: Settings) -> None:
    metrics.record_step(
        settings, stage="aggregate", product="wind", quarter="2024Q1", status="success", rows=7
    )
    metrics.record_step(
        settings, stage="aggregate", product="wind", quarter="2024Q2", status="success", rows=9
    )
    metrics.record_step(settings, stage="aggregate", product="pressure", quarter="2024Q1", status="skipped")
    metrics.record_step(settings, stage="ingest", product="moisture", quarter=None, status="success", files=4)
    metrics.record_step(settings, stage="quality", product="all", quarter="2024Q1", status="success")
    got = samples(settings)
    assert got[P + "step_rows"] == {
        lab(stage="aggregate", product="wind", quarter="2024Q1"): 7.0,
        lab(stage="aggregate", product="wind", quarter="2024Q2"): 9.0,
        lab(stage="aggregate", product="pressure", quarter="2024Q1"): 0.0,
        lab(stage="ingest", product="moisture", quarter="all"): 0.0,
        lab(stage="quality", product="all", quarter="2024Q1"): 0.0,
    }
    assert got[P + "rows_total"][lab(stage="aggregate", product="wind")] == 16.0
    assert got[P + "step_files"][lab(stage="ingest", product="moisture", quarter="all")] == 4.0
    assert got[P + "step_runs_total"][lab(stage="aggregate", product="pressure", status="skipped")] == 1.0


def test_every_declared_family_is_written_and_nothing_else(settings: Settings) -> None:
    metrics.record_step(settings, stage="stage", product="precipitation", quarter="2023Q4", status="success")
    metrics.record_published(settings, "precipitation", "2023Q4", dataset_version="2023Q4_v1")
    assert set(samples(settings)) == set(metrics.EXPORTED_METRICS)
    assert len(metrics.EXPORTED_METRICS) == 16


def test_record_published_moves_forward_only(settings: Settings) -> None:
    metrics.record_published(settings, "air_temperature", "2024Q2", dataset_version="2024Q2_v1")
    first = samples(settings)
    metrics.record_published(settings, "air_temperature", "2023Q3", dataset_version="2023Q3_v1")  # a backfill
    assert samples(settings) == first
    info = P + "latest_published_quarter_info"
    assert first[info] == {lab(product="air_temperature", quarter="2024Q2", dataset_version="2024Q2_v1"): 1.0}
    end = datetime(2024, 7, 1, tzinfo=UTC).timestamp()
    assert first[P + "latest_published_quarter_end_timestamp_seconds"] == {
        lab(product="air_temperature"): end
    }

    metrics.record_published(settings, "air_temperature", "2024Q2", dataset_version="2024Q2_v2")  # a re-run
    metrics.record_published(settings, "wind", "2024Q3")
    got = samples(settings)
    assert got[info] == {
        lab(product="air_temperature", quarter="2024Q2", dataset_version="2024Q2_v2"): 1.0,
        lab(product="wind", quarter="2024Q3", dataset_version=""): 1.0,
    }
    assert got[P + "latest_published_quarter_end_timestamp_seconds"] == {
        lab(product="air_temperature"): end,
        lab(product="wind"): datetime(2024, 10, 1, tzinfo=UTC).timestamp(),
    }
    metrics.record_published(settings, "wind", "2025Q1")
    assert samples(settings)[info][lab(product="wind", quarter="2025Q1", dataset_version="")] == 1.0
    assert len(samples(settings)[info]) == 2


def test_step_timer_records_success_and_failure(settings: Settings) -> None:
    with metrics.step_timer(settings, stage="aggregate", product="pressure", quarter="2024Q1") as t:
        t.update(rows=12, files=1)
    with (
        pytest.raises(RuntimeError, match="boom"),
        metrics.step_timer(settings, stage="aggregate", product="pressure", quarter="2024Q1") as t,
    ):
        t.update(rows=3)
        raise RuntimeError("boom")
    with metrics.step_timer(settings, stage="aggregate", product="pressure", quarter="2024Q2") as t:
        t.update(status="skipped")
    got = samples(settings)
    assert got[P + "step_runs_total"] == {
        lab(stage="aggregate", product="pressure", status="success"): 1.0,
        lab(stage="aggregate", product="pressure", status="failed"): 1.0,
        lab(stage="aggregate", product="pressure", status="skipped"): 1.0,
    }
    assert got[P + "rows_total"] == {lab(stage="aggregate", product="pressure"): 15.0}
    assert got[P + "step_rows"][lab(stage="aggregate", product="pressure", quarter="2024Q1")] == 3.0
    assert (
        got[P + "step_status"][lab(stage="aggregate", product="pressure", quarter="2024Q1", status="failed")]
        == 1.0
    )
    assert all(v >= 0 for v in got[P + "step_duration_seconds"].values())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"stage": "Ingest"}, ValueError, "stage must match"),
        ({"status": "ok"}, ValueError, "status must be one of"),
        ({"rows": -1}, ValueError, "rows"),
        ({"duration_s": -0.5}, ValueError, "duration_s"),
        ({"product": "snow"}, UnknownProductError, "snow"),
        ({"quarter": "2024Q5"}, InvalidQuarterError, "2024Q5"),
    ],
)
def test_bad_arguments_are_refused_before_writing(
    settings: Settings, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    args: dict[str, object] = {"stage": "ingest", "product": "wind", "quarter": "2024Q1", "status": "success"}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        metrics.record_step(settings, **args)  # type: ignore[arg-type]
    assert not metrics.metrics_file(settings).exists()


def test_record_published_refuses_all_and_unknown_products(settings: Settings) -> None:
    with pytest.raises(UnknownProductError):
        metrics.record_published(settings, "all", "2024Q1")
    with pytest.raises(InvalidQuarterError):
        metrics.record_published(settings, "wind", "24Q1")
    assert not metrics.metrics_file(settings).exists()


def test_unwritable_directory_is_logged_not_raised(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the metrics directory should be")
    broken = settings.model_copy(update={"metrics_dir": blocker / "metrics"})
    assert metrics.record_step(broken, stage="ingest", product="wind", quarter=None, status="success") is None
    assert metrics.record_published(broken, "wind", "2024Q1") is None
    assert blocker.read_text() == "a file where the metrics directory should be"


def test_file_is_world_readable_and_no_temp_files_remain(settings: Settings) -> None:
    for q in ("2024Q1", "2024Q2", "2024Q3"):
        metrics.record_step(settings, stage="stage", product="wind", quarter=q, status="success", rows=1)
    directory = metrics.metrics_dir(settings)
    names = sorted(p.name for p in directory.iterdir())
    assert names == [".weatherinsight_pipeline.lock", "weatherinsight_pipeline.prom"]
    mode = stat.S_IMODE(metrics.metrics_file(settings).stat().st_mode)
    assert mode == 0o644


def _writer(settings: Settings, worker: int, n: int) -> None:
    for i in range(n):
        metrics.record_step(
            settings,
            stage="stage",
            product="wind",
            quarter=f"202{worker}Q{i % 4 + 1}",
            status="success",
            rows=1,
        )


def test_concurrent_writers_lose_no_update(settings: Settings) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(settings, w, 15)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    got = samples(settings)
    assert got[P + "rows_total"] == {lab(stage="stage", product="wind"): 60.0}
    assert got[P + "step_runs_total"] == {lab(stage="stage", product="wind", status="success"): 60.0}
    assert len(got[P + "step_rows"]) == 16  # 4 workers x 4 quarters
