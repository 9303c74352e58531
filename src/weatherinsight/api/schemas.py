"""Response models of the API (they document the OpenAPI schema; routes stream the matching JSON themselves).

Feature rows carry the key, coverage, QN and version fields by name and each product's features as extra
properties, so a new product in the registry and catalog needs no change here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.features.catalog import COVERAGE_COLUMNS

_ATTRIBUTION = Field(
    DWD_ATTRIBUTION, description="DWD data licence attribution (CC BY 4.0); keep it with the data"
)
_NEXT = Field(None, description="URL of the next page (keyset cursor), null on the last page")


class ErrorBody(BaseModel):
    error: str = Field(description="machine-readable error code", examples=["invalid_parameter"])
    message: str = Field(
        description="what was wrong and what is allowed", examples=["invalid quarter '2024Q5'"]
    )
    detail: list[dict[str, Any]] | None = None
    attribution: str = _ATTRIBUTION


_PY_TYPES: dict[str, Any] = {"int": int, "float": float, "str": str}

_FeatureRowBase = create_model(  # type: ignore[call-overload]
    "FeatureRowBase",
    __config__=ConfigDict(extra="allow"),
    station_id=(int, Field(examples=[44])),
    year=(int, Field(examples=[2024])),
    quarter=(
        int,
        Field(
            ge=1,
            le=12,
            examples=[1],
            description="quarter 1–4; with period=month|season|year the period's number within its year",
        ),
    ),
    dataset_version=(str, Field(examples=["2024Q1_v1"])),
    **{
        name: (_PY_TYPES[kind] | None, Field(None, description=desc)) for name, kind, desc in COVERAGE_COLUMNS
    },
    computed_at=(datetime, ...),
)


class FeatureRow(_FeatureRowBase):
    """One station × quarter of a product: key, coverage/QN/version fields, then the requested features."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"additionalProperties": {"type": ["number", "string", "integer", "null"]}},
    )


class FeaturePage(BaseModel):
    attribution: str = _ATTRIBUTION
    product: str = Field(examples=["air_temperature"])
    count: int = Field(ge=0)
    next: str | None = _NEXT
    data: list[FeatureRow]


class StationFeatureRow(FeatureRow):
    """One product × quarter of a station: the product, then a FeatureRow (other products' features null)."""

    product: str = Field(examples=["air_temperature"])


class StationFeaturePage(BaseModel):
    attribution: str = _ATTRIBUTION
    station_id: int = Field(ge=1, examples=[44])
    count: int = Field(ge=0)
    next: None = Field(None, description="always null: one station's quarters come in one answer")
    data: list[StationFeatureRow]


class Station(BaseModel):
    station_id: int = Field(examples=[44])
    name: str | None = Field(None, examples=["Großenkneten"])
    state: str | None = Field(None, examples=["Niedersachsen"])
    latitude: float | None = Field(None, examples=[52.9336])
    longitude: float | None = Field(None, examples=[8.237])
    height_m: float | None = Field(None, examples=[44.0])
    valid_from: date | None = None
    valid_to: date | None = None
    products: list[str] = Field(examples=[["air_temperature", "precipitation"]])
    distance_km: float | None = Field(None, description="only with near=: great-circle distance")


class StationPage(BaseModel):
    attribution: str = _ATTRIBUTION
    count: int = Field(ge=0)
    next: str | None = _NEXT
    data: list[Station]


class StationLocation(BaseModel):
    valid_from: date
    valid_to: date | None = Field(None, description="null = the current location")
    latitude: float | None = None
    longitude: float | None = None
    height_m: float | None = None
    name: str | None = None
    source_file: str | None = None


class StationProduct(BaseModel):
    product: str
    name: str | None = None
    state: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    height_m: float | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    source_file: str | None = None


class StationDetail(Station):
    attribution: str = _ATTRIBUTION
    product_metadata: list[StationProduct]
    locations: list[StationLocation]


class CatalogEntry(BaseModel):
    name: str = Field(examples=["frost_days"])
    product: str = Field(examples=["air_temperature"])
    variable: str = Field(examples=["temperature"])
    kind: str = Field(examples=["daily"])
    unit: str = Field(examples=["days"])
    definition: str = Field(examples=["valid days with TN < 0 °C (FD)"])
    standard: str = Field(examples=["ETCCDI"])
    sql_type: str = Field(examples=["int"])
    precision: int | None = Field(
        default=None, examples=[1], description="decimals served: float features are rounded to it on output"
    )


class CatalogResponse(BaseModel):
    attribution: str = _ATTRIBUTION
    count: int = Field(ge=0)
    data: list[CatalogEntry]


class DatasetVersionOut(BaseModel):
    id: int
    version_name: str = Field(examples=["2024Q1_v2"])
    version_number: int
    kind: str = Field(examples=["curated"])
    product: str
    year: int
    quarter: int = Field(description="quarter 1–4, or the number of the month/season/year within its year")
    quarter_label: str = Field(
        examples=["2024Q1"], description="the period's label: 2024Q1, 2024-01, 2024DJF, 2024"
    )
    period_kind: str = Field(
        "quarter", examples=["quarter"], description="quarter | month | season | year (raw/staged: quarter)"
    )
    status: str = Field(examples=["AVAILABLE"])
    row_count: int | None = None
    parent_versions: list[str] = Field(examples=[["2024Q1_staged_v1"]])
    input_fingerprint: str | None = None
    created_at: datetime
    updated_at: datetime
    error: str | None = None


class DatasetPage(BaseModel):
    attribution: str = _ATTRIBUTION
    count: int = Field(ge=0)
    next: str | None = _NEXT
    data: list[DatasetVersionOut]


class QualityResult(BaseModel):
    id: int
    run_id: str
    checked_at: datetime
    year: int
    quarter: int
    product: str | None = None
    table_name: str | None = None
    check_name: str
    column_name: str | None = None
    severity: str = Field(examples=["fatal"])
    passed: bool
    measured_value: float | None = None
    threshold: float | None = None
    message: str | None = None


class QualitySummary(BaseModel):
    checks: int
    passed: int
    fatal_failed: int
    warnings_failed: int


class QualityResponse(BaseModel):
    attribution: str = _ATTRIBUTION
    quarter: str = Field(examples=["2024Q1"])
    run_id: str | None = Field(None, description="the run shown (the latest unless run_id= was given)")
    summary: QualitySummary
    count: int = Field(ge=0)
    next: str | None = _NEXT
    data: list[QualityResult]


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    database: str = Field(examples=["ok"])
    version: str
    latest_quarters: dict[str, str | None] = Field(
        description="latest published (AVAILABLE curated) quarter per product"
    )
    attribution: str = _ATTRIBUTION


class Ping(BaseModel):
    status: str = Field(examples=["ok"])
