"""Property-based API test: schemathesis drives every operation of the OpenAPI schema against the live server.

Seeded (derandomized) and bounded, with valid (positive) and invalid (negative) inputs; any 5xx, undocumented
status, wrong content type, body that violates the schema, or schema-violating input that is accepted fails.
Runs on both backends (``backend``). Excluded: ``positive_data_acceptance`` — rules OpenAPI cannot state (from ≤ to,
feature names of the chosen product, years 1800..2200, cursors from a previous page) rightly answer 400.
Schemathesis' pytest plugin (``from_fixture``) does not work with pytest 9, so operations are driven
through their Hypothesis strategies directly.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import Backend

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
        case.call_and_validate(base_url=base_url, excluded_checks=[positive_data_acceptance])

    run()


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
    assert operations == 10
    assert failures == [], "\n".join(failures)
