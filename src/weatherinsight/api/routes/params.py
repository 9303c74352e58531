"""The query and path parameters the feature routes share, declared once with their OpenAPI constraints.

Every route that takes a product, stations, features, quarters, a cursor, a format or paging imports its
parameter types from here, so the spec states one rule per parameter (schemathesis' positive-data check relies
on it) and a new product in the registry is served without a code change.

Product names are checked against the registry at request time (``known_product``), not against a list taken
at import: a product registered later (``features.definitions.register``) is accepted, one unregistered is
refused. The spec's product ``enum`` and ``features`` pattern are computed when the OpenAPI document is built,
so they name the products registered then.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from weatherinsight.api.deps import API_QUARTER_PATTERN, MAX_PAGE, MAX_STATION_IDS, STATION_ID_MAX
from weatherinsight.api.formats import OutputFormat, cursor_pattern
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.catalog import features_for


def known_product(name: str) -> str:
    """``name`` when it is a registered product now; else a validation error naming the known ones (answered
    422 ``invalid_parameter`` naming the parameter, like any other invalid value)."""
    if name not in PRODUCTS:
        raise PydanticCustomError(
            "unknown_product",
            "unknown product {product}; known: {known}",
            {"product": repr(name[:64]), "known": ", ".join(PRODUCTS)},
        )
    return name


class _RegisteredProduct:
    """Pydantic annotation of a product name: validated by ``known_product`` on every request, stated in the
    spec as an ``enum`` of the products registered when the document is built."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(known_product, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["enum"] = list(PRODUCTS)
        return out


#: A product name (path or query), checked against the registry per request: a new product is served without a
#: code change or a restart. Give it its ``Path``/``Query`` where used.
ProductName = Annotated[str, _RegisteredProduct()]


def spec_features_pattern() -> str:
    """The spec's ``features`` pattern: names that exist (in some product), up to 100 of them. Which product has
    which is a rule across two parameters that OpenAPI cannot state; the route answers 400 naming the allowed."""
    known = "|".join(sorted({f.name for p in PRODUCTS for f in features_for(p)}))
    return rf"^({known})(,({known})){{0,99}}$"


def features_pattern_schema(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` of a ``features`` parameter: the pattern of the features registered when the
    document is built (a callable, as a pattern taken at import would miss a product registered later)."""
    schema["pattern"] = spec_features_pattern()


StationIds = Annotated[
    list[Annotated[int, Field(ge=1, le=STATION_ID_MAX)]] | None,
    Query(
        max_length=MAX_STATION_IDS,
        description=f"DWD station id; repeat for several (at most {MAX_STATION_IDS})",
        examples=[[44]],
    ),
]
FeatureNames = Annotated[
    str | None,
    Query(
        max_length=2000,
        json_schema_extra=features_pattern_schema,
        # No example: feature names differ per product and one example would be wrong for the others.
        description=(
            "comma-separated subset of the product's features (see /v1/catalog), e.g. tg_mean,frost_days "
            "for air_temperature; default all"
        ),
    ),
]
MinCoverage = Annotated[
    float | None,
    Query(ge=0, le=1, allow_inf_nan=False, description="only rows with coverage ≥ this share (0–1)"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=200,
        json_schema_extra={"pattern": cursor_pattern(1)},
        description="position after which the page starts; take it from a previous page's next link",
    ),
]
#: The multi-quarter feature route pages by (year, quarter, station_id).
KeysetCursor = Annotated[
    str | None,
    Query(
        max_length=200,
        json_schema_extra={"pattern": cursor_pattern(3)},
        description="position (year.quarter.station_id) after which the page starts; from a next link",
    ),
]
QuarterFrom = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=16,
        json_schema_extra={"pattern": API_QUARTER_PATTERN},
        description="first quarter, e.g. 2020Q1 (years 1800..2200)",
    ),
]
QuarterTo = Annotated[
    str | None,
    Query(
        max_length=16,
        json_schema_extra={"pattern": API_QUARTER_PATTERN},
        description="last quarter (inclusive), e.g. 2024Q4 (years 1800..2200); not before from",
    ),
]
Format = Annotated[OutputFormat | None, Query(description="json (default), csv or parquet; or use Accept")]
Metadata = Annotated[
    bool,
    Query(
        description="CSV only: '#' lines with attribution, unit and definition per column atop the header row "
        "(read with pandas.read_csv(url, comment='#')); JSON and Parquet always carry them"
    ),
]
IncludeStation = Annotated[
    bool,
    Query(description="add station_name, latitude, longitude, height_m valid at each row's quarter end"),
]
PeriodKindQuery = Annotated[
    Literal["month", "season", "quarter", "year"],
    Query(
        description="the features per month, meteorological season (DJF = December of the year before + January + "
        "February), quarter (default) or year. from/to stay quarters and select the periods whose last day lies "
        "in them; each row's quarter field then holds the period's number within its year (month 1–12, season "
        "1–4 = DJF, MAM, JJA, SON, year 1) and its period field the label (2024-01, 2024DJF, 2024)",
    ),
]
Anomalies = Annotated[
    bool,
    Query(
        description="add each numeric feature's anomaly against its climate normal for the row's period of the "
        "year: <feature>_anomaly (value − normal), <feature>_anomaly_pct for precipitation amounts (100 × value / "
        "normal) and <feature>_normal_years (valid years behind the normal; a normal needs ≥ 80 % of the base "
        "years). 404 no_normals when the normals are not published (weatherinsight normals)",
    ),
]
NormalsBase = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{4}\.\.[0-9]{4}$",
        description="base years of the normals anomalies=true compares with, FIRST..LAST with FIRST ≤ LAST (default "
        "1991..2020)",
    ),
]
