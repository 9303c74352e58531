"""Property-based API test: schemathesis drives every operation of the OpenAPI schema against the live server.

Seeded (derandomized) and bounded, with valid (positive) and invalid (negative) inputs; any 5xx, undocumented
status, wrong content type, body that violates the schema, or schema-violating input that is accepted fails.
Runs on both backends (``backend``). Positive data must be accepted (``positive_data_acceptance``, issue #14
defect 8): the spec states years 1800..2200, cursors as keyset numbers, known feature names, coordinate ranges
and printable text. The rules that join two values OpenAPI cannot state, so positive cases breaking them are
discarded (``assume``) rather than sent: ``from`` ≤ ``to``; ``normals_base`` FIRST ≤ LAST; ``features`` of the chosen product; a bbox's
min ≤ max; ``radius_km`` only with ``near``.
Schemathesis' pytest plugin (``from_fixture``) does not work with pytest 9, so operations are driven
through their Hypothesis strategies directly.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import Backend
from weatherinsight.features.catalog import features_for

MAX_EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}


def _run_operation(operation: Any, mode: GenerationMode, base_url: str) -> None:
    @settings(
        max_examples=MAX_EXAMPLES[mode],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if mode is GenerationMode.POSITIVE:
            assume(_joint_rules_hold(case))
        case.call_and_validate(base_url=base_url)

    run()


def _joint_rules_hold(case: Any) -> bool:
    """The cross-value rules of the spec's descriptions: from ≤ to; features of the path's product; bbox
    min ≤ max; radius_km only with near."""
    query = case.query or {}
    if "radius_km" in query and "near" not in query:
        return False
    bbox = query.get("bbox")
    if isinstance(bbox, str):
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox.split(","))
        if min_lon > max_lon or min_lat > max_lat:
            return False
    first, last = query.get("from"), query.get("to")
    if isinstance(first, str) and isinstance(last, str) and last < first:  # YYYYQn strings sort as quarters
        return False
    base = query.get("normals_base")
    if isinstance(base, str) and base[:4] > base[-4:]:  # FIRST..LAST years, FIRST ≤ LAST
        return False
    product = (case.path_parameters or {}).get("product")
    features = query.get("features")
    # The station route's features must belong to one of its ``products`` (same rule, several products).
    products = [product] if product else str(query.get("products") or "").split(",")
    if isinstance(features, str) and any(products):
        names = {f.name for p in products if p for f in features_for(p)}
        return all(name in names for name in features.split(","))
    return True


def test_positive_data_acceptance_is_checked() -> None:
    """Guard: the check that issue #14 defect 8 is about stays on (it was excluded before)."""
    assert positive_data_acceptance.__name__ == "positive_data_acceptance"
    assert "excluded_checks" not in _run_operation.__code__.co_names


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_api_conforms_to_its_schema(backend: Backend, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{backend.base}/v1/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            _run_operation(operation, mode, backend.base)
        except Unsatisfiable:
            # No parameters, so no invalid input to generate (health, ping, metrics in negative mode).
            assert mode is GenerationMode.NEGATIVE
            assert not operation.query and not operation.path_parameters
        except Exception as exc:  # collect every operation's failure, then fail once with all of them
            inner = getattr(exc, "exceptions", None) or [exc]
            details = "; ".join(f"{type(e).__name__}: {e}" for e in inner)
            failures.append(f"{operation.method.upper()} {operation.path}: {details}"[:3000])
    assert operations == 11
    assert failures == [], "\n".join(failures)
