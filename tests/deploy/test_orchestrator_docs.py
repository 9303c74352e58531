"""docs/orchestrator.md agrees with the code: the configuration reference with ``Settings`` and the packaged
YAML (src/weatherinsight/config/weatherinsight.yaml), the environment-variable table with ``Settings`` (nested
sections as ``WEATHERINSIGHT_<SECTION>__<KEY>``), DAG ids and CLI verbs with what exists.

Regenerate the configuration table after changing the model or the YAML (descriptions are kept by key):
    uv run --frozen python tests/deploy/test_orchestrator_docs.py --write
"""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "orchestrator.md"
RUNBOOK = REPO / "docs" / "runbook.md"
YAML_FILE = REPO / "src" / "weatherinsight" / "config" / "weatherinsight.yaml"
CONFIG_START, CONFIG_END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"
ENV_START, ENV_END = "<!-- env-reference:start -->", "<!-- env-reference:end -->"
HEADER = "| key | type | default | src/weatherinsight/config/weatherinsight.yaml | meaning |\n|---|---|---|---|---|"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return f"list[{', '.join(_type_name(a) for a in typing.get_args(annotation) if a is not Ellipsis)}]"
    if origin in (typing.Union, types.UnionType):
        # "or", not "|": a pipe would split the Markdown table cell
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _fmt(value: Any) -> str:
    if value is _MISSING:
        return "(missing)"
    return f"`{json.dumps(value)}`" if isinstance(value, (list, str, bool)) or value is None else f"`{value}`"


_MISSING = object()


def config_rows() -> list[tuple[str, str, str, str]]:
    """(key, type, model default, YAML value) for every leaf key of the YAML sections of Settings, in order."""
    from weatherinsight.settings import YAML_KEYS, Settings

    data = yaml.safe_load(YAML_FILE.read_text(encoding="utf-8")) or {}
    rows: list[tuple[str, str, str, str]] = []

    def leaf(key: str, ann: Any, default: Any, value: Any) -> None:
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            for name, field in ann.model_fields.items():
                sub = value.get(name, _MISSING) if isinstance(value, dict) else _MISSING
                leaf(f"{key}.{name}", field.annotation, getattr(default, name), sub)
        else:
            rows.append((key, _type_name(ann), _fmt(default), _fmt(value)))

    # The model defaults (Settings() would read the environment and the YAML), in Settings' field order.
    for name, field in Settings.model_fields.items():
        if name in YAML_KEYS:
            default = field.get_default(call_default_factory=True)
            leaf(name, field.annotation, default, data.get(name, _MISSING))
    return rows


def yaml_leaf_keys() -> set[str]:
    data = yaml.safe_load(YAML_FILE.read_text(encoding="utf-8")) or {}
    out: set[str] = set()

    def walk(node: Any, prefix: str) -> None:
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                out.add(f"{prefix}{k}")

    walk(data, "")
    return out


def env_name(field: str) -> str:
    """How the environment sets a field: sections of the YAML one key at a time (``__`` nests)."""
    from weatherinsight.settings import Settings

    ann = Settings.model_fields[field].annotation
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return f"WEATHERINSIGHT_{field.upper()}__<KEY>"
    return f"WEATHERINSIGHT_{field.upper()}"


def _section(text: str, start: str, end: str) -> str:
    assert start in text and end in text, f"markers {start} / {end} missing in {DOC}"
    return text.split(start, 1)[1].split(end, 1)[0]


def _table_rows(section: str) -> list[list[str]]:
    rows = []
    for line in section.strip().splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows[1:]  # without the header


def documented_config() -> dict[str, list[str]]:
    rows = _table_rows(_section(DOC.read_text(encoding="utf-8"), CONFIG_START, CONFIG_END))
    return {r[0].strip("`"): r for r in rows}


def render_config_table(descriptions: dict[str, str]) -> str:
    lines = [HEADER]
    for key, typ, default, value in config_rows():
        lines.append(f"| `{key}` | {typ} | {default} | {value} | {descriptions.get(key, 'TODO: describe')} |")
    return "\n".join(lines)


# --- tests -------------------------------------------------------------------------------------------------


def test_yaml_and_model_have_the_same_keys() -> None:
    model_keys = {r[0] for r in config_rows()}
    assert yaml_leaf_keys() == model_keys


def test_config_reference_matches_model_and_yaml() -> None:
    documented = documented_config()
    expected = config_rows()
    assert list(documented) == [r[0] for r in expected], "keys differ: regenerate with --write"
    for key, typ, default, value in expected:
        row = documented[key]
        assert row[1:4] == [typ, default, value], (
            f"{key}: documented {row[1:4]}, code says {[typ, default, value]}"
        )
        assert row[4] and not row[4].startswith("TODO"), f"{key}: describe it"


def test_config_check_fails_when_yaml_changes(tmp_path: Path, monkeypatch: Any) -> None:
    """Guard that the check can fail: a YAML value that differs from the doc is caught."""
    changed = YAML_FILE.read_text(encoding="utf-8").replace("spark_jobs: 3", "spark_jobs: 4")
    assert changed != YAML_FILE.read_text(encoding="utf-8")
    other = tmp_path / "weatherinsight.yaml"
    other.write_text(changed)
    monkeypatch.setitem(globals(), "YAML_FILE", other)
    rows = {r[0]: r for r in config_rows()}
    assert rows["pools.spark_jobs"][3] == "`4`"
    assert documented_config()["pools.spark_jobs"][3] == "`3`"


def test_environment_reference_lists_every_setting() -> None:
    from weatherinsight.settings import Settings

    rows = _table_rows(_section(DOC.read_text(encoding="utf-8"), ENV_START, ENV_END))
    documented = {r[0].strip("`"): r for r in rows}
    expected = {env_name(name) for name in Settings.model_fields}
    assert set(documented) == expected
    for var, row in documented.items():
        assert row[-1], f"{var}: describe it"


def test_docs_name_the_dags_and_cli_verbs_that_exist() -> None:
    from weatherinsight.cli import VERBS

    verbs = set(VERBS)
    assert {"run", "backfill", "check", "ingest", "stage", "aggregate", "mirror", "api"} <= verbs
    dag_ids = set()
    for path in (REPO / "dags").glob("*.py"):
        dag_ids |= set(re.findall(r'dag_id="([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert dag_ids == {
        "weatherinsight_quarterly_pipeline",
        "weatherinsight_backfill",
        "weatherinsight_data_quality",
    }
    for doc in (DOC, RUNBOOK):
        text = doc.read_text(encoding="utf-8")
        for dag_id in dag_ids:
            assert dag_id in text, f"{doc.name} does not mention {dag_id}"
        for verb in ("run", "backfill", "check"):
            assert f"weatherinsight {verb}" in text, f"{doc.name} does not show `weatherinsight {verb}`"
    ortext = DOC.read_text(encoding="utf-8")
    for verb in ("ingest", "stage", "aggregate", "mirror", "api"):
        assert f"weatherinsight {verb}" in ortext, verb


if __name__ == "__main__" and "--write" in sys.argv:
    text = DOC.read_text(encoding="utf-8")
    old = {k: v[4] for k, v in documented_config().items() if len(v) > 4}
    new = f"{CONFIG_START}\n{render_config_table(old)}\n{CONFIG_END}"
    text = text.split(CONFIG_START)[0] + new + text.split(CONFIG_END, 1)[1]
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
