"""Backfills: ``backfill`` (without Airflow, in phases: ``backfill_phases``), the backfill DAG's params, its verdict.

``BackfillParams`` validates the DAG's trigger config (missing values take the YAML's backfill defaults);
``verify_backfill`` is the one judgement of which backfilled quarters were published, shared by the
summary task and the asset announcement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.errors import ConfigError
from weatherinsight.pipeline.backfill_phases import backfill_in_phases
from weatherinsight.pipeline.catchup import catchup_window
from weatherinsight.pipeline.reports import ProductOutcome, RunReport, verify_outcomes
from weatherinsight.pipeline.runs import product_list
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.vocabulary import ProgressCallback, Status, no_progress


def backfill(
    settings: Settings,
    quarters: Sequence[Quarter],
    *,
    products: Sequence[str] | None = None,
    force: bool = False,
    progress: ProgressCallback = no_progress,
) -> RunReport:
    """Backfill ``quarters``: ingest each, stage all of them in one pass per product, aggregate each.

    ``pipeline.backfill_phases`` runs the phases (each raw file is parsed once for the whole range, not once
    per quarter). Nothing stops on a failure: every quarter × product gets an outcome, verified against the
    database.
    """
    qs = sorted(set(quarters))
    if not qs:
        raise ConfigError("quarters", "no quarter to backfill", source="backfill")
    names = product_list(settings, products)
    outcomes = backfill_in_phases(settings, qs, names, force=force, progress=progress)
    return RunReport(verify_outcomes(settings, outcomes))


class BackfillParams(BaseModel):
    """The validated parameters of the ``weatherinsight_backfill`` DAG."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_year: int = Field(ge=1800, le=2200)
    end_year: int = Field(ge=1800, le=2200)
    quarters: tuple[int, ...]
    products: tuple[str, ...]
    force_reprocess: bool = False
    #: Periods published beside the quarters (issue #18); quarters are always published.
    periods: tuple[Literal["month", "season", "year", "quarter"], ...] = ()

    @field_validator("periods", mode="before")
    @classmethod
    def _split_periods(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p.strip().lower() for p in v.split(",") if p.strip()]
        return v

    @field_validator("quarters", mode="before")
    @classmethod
    def _split_quarters(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p.strip().upper().removeprefix("Q") for p in v.split(",") if p.strip()]
        return v

    @field_validator("quarters")
    @classmethod
    def _quarters(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        bad = [q for q in v if q not in (1, 2, 3, 4)]
        if bad or not v:
            raise ValueError(f"quarters must be a non-empty subset of 1, 2, 3, 4; got {list(v)}")
        return tuple(sorted(set(v)))

    @field_validator("products", mode="before")
    @classmethod
    def _split_products(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("products")
    @classmethod
    def _products(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in v if p not in PRODUCTS]
        if unknown:
            raise ValueError(f"unknown product(s) {unknown}; known: {', '.join(PRODUCTS)}")
        if not v:
            raise ValueError("at least one product is required")
        return tuple(dict.fromkeys(v))

    @model_validator(mode="after")
    def _range(self) -> BackfillParams:
        if self.end_year < self.start_year:
            raise ValueError(f"end_year {self.end_year} is before start_year {self.start_year}")
        last = Quarter.last_complete()
        if not self.plan():
            raise ValueError(f"no quarter of the range has ended yet (the last complete quarter is {last})")
        return self

    def plan(self) -> list[Quarter]:
        """Every quarter of the range, oldest first; quarters that have not ended yet are left out."""
        last = Quarter.last_complete()
        return [
            Quarter(y, q)
            for y in range(self.start_year, self.end_year + 1)
            for q in self.quarters
            if Quarter(y, q) <= last
        ]

    @classmethod
    def from_params(cls, params: Mapping[str, Any], settings: Settings) -> BackfillParams:
        """Validate DAG params; missing or ``None`` values take the YAML's backfill defaults.

        Raises ``ConfigError`` naming the parameter and the problem.
        """
        defaults = settings.backfill
        start_year, end_year = catchup_window(settings)
        known = set(cls.model_fields)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError(
                ", ".join(unknown),
                f"unknown parameter(s); expected {sorted(known)}",
                source="backfill params",
            )
        values: dict[str, Any] = {
            "start_year": start_year,
            "end_year": end_year,
            "quarters": list(defaults.default_quarters),
            "products": list(settings.product_types),
            "force_reprocess": False,
            "periods": list(settings.features.periods),
        }
        values.update({k: v for k, v in params.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"]) or "params"
            raise ConfigError(
                key, f"{err['msg']} (got {err.get('input')!r})", source="backfill params"
            ) from exc


def verify_backfill(
    settings: Settings, params: BackfillParams, outcomes: Iterable[Any] | None
) -> tuple[RunReport, list[str]]:
    """Match the quarter tasks' outcomes to the plan, verify them, and name the quarters that were published.

    ``outcomes`` is the XCom of the mapped ``aggregate_quarter_product`` tasks: one list of ``ProductOutcome``
    dicts per task (``None`` or absent where a task left nothing). Returns

    * the report: one outcome per planned quarter × product (``params.plan()`` × ``params.products``, in
      that order), verified against the database by ``verify_outcomes``; a pair without an outcome is
      failed ("no outcome recorded (the quarter task failed)"), outcomes outside the plan are ignored;
    * the published quarters, oldest first. A quarter counts as published when EVERY requested product
      ended ``succeeded`` or ``unchanged`` (a no-op on unchanged inputs) and the database confirms it: an
      AVAILABLE curated version of (product, quarter) with rows. One failed, missing or unconfirmed
      product keeps the whole quarter out.

    Shared by ``backfill_summary`` (which fails the run on any failure) and the backfill DAG's
    ``announce_quarters`` (which announces the published quarters), so both judge a quarter the same way.
    """
    reported: dict[tuple[str, str], ProductOutcome] = {}
    for chunk in outcomes or []:
        for item in chunk or []:
            o = ProductOutcome.from_dict(item)
            reported[(o.quarter, o.product)] = o
    plan = [str(q) for q in params.plan()]
    planned = [
        reported.get(
            (q, prod),
            ProductOutcome(q, prod, Status.FAILED, error="no outcome recorded (the quarter task failed)"),
        )
        for q in plan
        for prod in params.products
    ]
    report = RunReport(verify_outcomes(settings, planned))
    failed = {o.quarter for o in report.failed}
    return report, [q for q in plan if q not in failed]
