"""The one registry of DWD products: codes, directories, produkt headers, columns, units, sentinels.

House rule 1: this is the only module that names a DWD column, code, unit or sentinel. Everything else asks
the registry. Adding an hourly product is one ``Product`` entry here (and its name in ``settings.KNOWN_PRODUCTS``) plus its
feature definition module and catalog rows (docs/contracts.md, "Adding a product").
The daily climate values (``climate/daily/kl``, FORMAT §5.2) are a ``Product`` too (``DAILY_KL``, resolution
``daily``): the resolution decides the file names (``stundenwerte``/``tageswerte``), the staged key (``ts`` or
``date``) and the parser (``dwd.produkt`` or ``dwd.daily``); its two quality columns are ``quality_groups``.
``PRODUCTS`` holds the hourly products with curated features of their own; ``DAILY_PRODUCTS`` the daily ones,
whose values feed the day-based indices of the hourly products (issue #17).
Facts are from ``docs/dwd-format.md`` (real DWD files), section numbers given per product.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

from weatherinsight.errors import UnknownProductError
from weatherinsight.settings import KNOWN_PRODUCTS, register_product_name, unregister_product_name

#: DWD writes ``-999`` for a missing value (FORMAT §2.1).
SENTINEL = -999
#: The produkt file's end-of-record column (FORMAT §2.1), dropped by the parser.
EOR = "eor"
STATION_COLUMN = "STATIONS_ID"
TIME_COLUMN = "MESS_DATUM"
#: Header tokens of the pre-2017 layout (FORMAT §4.8); we reject that layout with a clear error.
LEGACY_MARKERS = ("QUALITAETS_NIVEAU", "STRUKTUR_VERSION")
#: Time-reference texts in Metadaten_Parameter "Zusatz-Info" (FORMAT §2.8).
TIME_REFERENCE_MEZ = "MEZ"
TIME_REFERENCE_UTC = "UTC"
#: Mittlere Ortszeit (FORMAT §2.2/§2.8, PDF-TU). Local mean time is the mean solar time of the station's own
#: meridian, so its offset from UTC depends on the longitude and is not a whole number of hours.
TIME_REFERENCE_MOZ = "MOZ"
#: A period's time reference; "MOZ" and "unknown" cannot be converted to UTC with a whole-hour shift.
TimeReference = Literal["UTC", "MEZ", "MOZ", "unknown"]
#: Whole hours to subtract from a period's local MESS_DATUM to get UTC (FORMAT §2.8: MEZ = UTC+1, no DST).
UTC_SHIFT_HOURS: dict[TimeReference, int] = {"UTC": 0, "MEZ": 1}

#: The staged schema's fixed columns (docs/design.md §4); the product's value columns sit between qn and source_period.
STAGED_KEY_FIELDS: tuple[pa.Field, ...] = (
    pa.field("station_id", pa.int32(), nullable=False),
    pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("qn", pa.int8()),
)
STAGED_TAIL_FIELDS: tuple[pa.Field, ...] = (
    pa.field("source_period", pa.string(), nullable=False),
    pa.field("source_file", pa.string(), nullable=False),
)

PERIODS = ("historical", "recent")

#: In memory, staging holds text columns (the provenance tail) dictionary-encoded: one string per file instead
#: of one per row. Written with ``store_schema=False`` they are plain Parquet strings again, so the files read
#: back as ``staged_schema`` exactly (repeating a 60-byte file name on every row cost a third of staging's time).
STAGED_TEXT_IN_MEMORY = pa.dictionary(pa.int32(), pa.string())


def staged_memory_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every string field dictionary-encoded (the in-memory form of a staged table)."""
    return pa.schema(
        [pa.field(f.name, STAGED_TEXT_IN_MEMORY, f.nullable) if f.type == pa.string() else f for f in schema]
    )


@dataclass(frozen=True)
class Variable:
    """One measured parameter of a product: its DWD column name and our canonical name."""

    dwd_name: str
    column: str
    unit: str
    arrow_type: pa.DataType
    description: str


#: A product's time resolution: its directory under ``climate/`` and the word DWD's file names use for it.
Resolution = Literal["hourly", "daily"]
#: Per resolution: the zip prefix, the station list's word and the produkt member's word (FORMAT §1.2, §5.1).
_FILE_WORDS: dict[Resolution, tuple[str, str, str]] = {
    "hourly": ("stundenwerte", "Stundenwerte", "stunde"),
    "daily": ("tageswerte", "Tageswerte", "tag"),
}
#: The staged key of a daily product: the DWD day (not a UTC instant: RSK's day runs 06–06 UTC).
STAGED_DAILY_KEY_FIELDS: tuple[pa.Field, ...] = (
    pa.field("station_id", pa.int32(), nullable=False),
    pa.field("date", pa.date32(), nullable=False),
)

#: One quality column, our name for it and the variables it qualifies (header order).
QualityGroup = tuple[str, str, tuple[Variable, ...]]


@dataclass(frozen=True)
class Product:
    """One DWD product (a directory under ``climate/<resolution>/``).

    Hourly products have one quality column (``quality_column``, staged as ``qn``) for all ``variables``;
    a product with several (daily KL) lists them in ``quality_groups`` (their variables, in order, are
    ``variables``). ``produkt_word`` overrides the produkt member's ``<code>_<stunde|tag>`` stem where DWD
    uses another word (``klima_tag``).
    """

    name: str
    code: str
    directory: str
    quality_column: str
    variables: tuple[Variable, ...]
    primary: str
    curated_table: str
    description: str
    sentinel: int = SENTINEL
    extra: dict[str, str] = field(default_factory=dict)
    #: Rows DWD writes per day. Sun files before mid-2019 hold only the 18 hours stamped 03–20 UTC (FORMAT
    #: §5.1): the night is left out, not missing, so a day's validity threshold is scaled by day_hours / 24.
    day_hours: int = 24
    #: The resolution directory under ``climate/`` (``hourly`` or ``daily``).
    resolution: Resolution = "hourly"
    quality_groups: tuple[QualityGroup, ...] = ()
    produkt_word: str = ""

    @property
    def path(self) -> str:
        """The product's directory below ``…/observations_germany/climate/``: ``<resolution>/<directory>``."""
        return f"{self.resolution}/{self.directory}"

    @property
    def daily(self) -> bool:
        return self.resolution == "daily"

    @property
    def groups(self) -> tuple[QualityGroup, ...]:
        """The quality columns with their variables (hourly: the one ``quality_column`` → ``qn``)."""
        return self.quality_groups or ((self.quality_column, "qn", self.variables),)

    @property
    def code_lower(self) -> str:
        return self.code.lower()

    @property
    def header(self) -> tuple[str, ...]:
        """The produkt header tokens after stripping the padding (FORMAT §2.1, §5.2)."""
        cols: list[str] = [STATION_COLUMN, TIME_COLUMN]
        for qn, _, vs in self.groups:
            cols += [qn, *(v.dwd_name for v in vs)]
        return (*cols, EOR)

    @property
    def value_columns(self) -> tuple[str, ...]:
        return tuple(v.column for v in self.variables)

    @property
    def primary_variable(self) -> Variable:
        return self.variable(self.primary)

    def variable(self, column: str) -> Variable:
        for v in self.variables:
            if v.column == column or v.dwd_name == column:
                return v
        raise KeyError(f"{self.name} has no variable {column!r}")

    @property
    def staged_schema(self) -> pa.Schema:
        """Hourly: station_id, ts, qn, values, provenance; daily: station_id, date, (QN, values) per group,
        provenance."""
        if not self.daily:
            values = [pa.field(v.column, v.arrow_type) for v in self.variables]
            return pa.schema([*STAGED_KEY_FIELDS, *values, *STAGED_TAIL_FIELDS])
        fields = list(STAGED_DAILY_KEY_FIELDS)
        for _, qn_column, vs in self.groups:
            fields.append(pa.field(qn_column, pa.int8()))
            fields += [pa.field(v.column, v.arrow_type) for v in vs]
        return pa.schema([*fields, *STAGED_TAIL_FIELDS])

    @property
    def staged_memory_schema(self) -> pa.Schema:
        """``staged_schema`` as staging holds it in memory (text columns dictionary-encoded)."""
        return staged_memory_schema(self.staged_schema)

    @property
    def _stem(self) -> str:
        """``<code>_stunde`` / ``<code>_tag`` (or ``produkt_word``): the produkt and metadata member stem."""
        return self.produkt_word or f"{self.code_lower}_{_FILE_WORDS[self.resolution][2]}"

    @property
    def station_list_name(self) -> str:
        return f"{self.code}_{_FILE_WORDS[self.resolution][1]}_Beschreibung_Stationen.txt"

    def recent_zip_name(self, station_id: int) -> str:
        return f"{_FILE_WORDS[self.resolution][0]}_{self.code}_{station_id:05d}_akt.zip"

    def historical_zip_name(self, station_id: int, start: str, end: str) -> str:
        return f"{_FILE_WORDS[self.resolution][0]}_{self.code}_{station_id:05d}_{start}_{end}_hist.zip"

    def produkt_name(self, station_id: int, start: str, end: str) -> str:
        return f"produkt_{self._stem}_{start}_{end}_{station_id:05d}.txt"

    def parameter_meta_name(self, station_id: int) -> str:
        return f"Metadaten_Parameter_{self._stem}_{station_id:05d}.txt"


_F64 = pa.float64()

PRODUCTS: dict[str, Product] = {
    p.name: p
    for p in (
        # FORMAT §2.2
        Product(
            name="air_temperature",
            code="TU",
            directory="air_temperature",
            quality_column="QN_9",
            variables=(
                Variable("TT_TU", "temperature", "°C", _F64, "2 m air temperature"),
                Variable("RF_TU", "relative_humidity", "%", _F64, "2 m relative humidity"),
            ),
            primary="temperature",
            curated_table="quarterly_temperature_features",
            description="Hourly 2 m air temperature and relative humidity",
        ),
        # FORMAT §2.3
        Product(
            name="precipitation",
            code="RR",
            directory="precipitation",
            quality_column="QN_8",
            variables=(
                Variable("R1", "precipitation_height", "mm", _F64, "hourly precipitation height"),
                Variable(
                    "RS_IND", "precipitation_indicator", "0/1", pa.int8(), "precipitation fell (1) or not (0)"
                ),
                Variable(
                    "WRTR", "precipitation_form", "WR code", pa.int8(), "form of precipitation (WR code)"
                ),
            ),
            primary="precipitation_height",
            curated_table="quarterly_precipitation_features",
            description="Hourly precipitation height, indicator and form",
        ),
        # FORMAT §2.4
        Product(
            name="wind",
            code="FF",
            directory="wind",
            quality_column="QN_3",
            variables=(
                Variable("F", "wind_speed", "m/s", _F64, "hourly mean wind speed"),
                Variable(
                    "D", "wind_direction", "°", pa.int16(), "hourly mean wind direction (36-point rose)"
                ),
            ),
            primary="wind_speed",
            curated_table="quarterly_wind_features",
            description="Hourly mean wind speed and direction",
        ),
        # FORMAT §2.5: P is reduced to mean sea level, P0 is at station height; the code P0 is not "sea level".
        Product(
            name="pressure",
            code="P0",
            directory="pressure",
            quality_column="QN_8",
            variables=(
                Variable("P", "pressure_sea_level", "hPa", _F64, "air pressure reduced to mean sea level"),
                Variable("P0", "pressure_station", "hPa", _F64, "air pressure at station height"),
            ),
            primary="pressure_sea_level",
            curated_table="quarterly_pressure_features",
            description="Hourly air pressure at sea level and at station height",
        ),
        # FORMAT §2.6: the real file has QN_8 (wetterdienst's qn_4 is wrong); ABSF_STD is g/m³ (MP's %% is a DWD error).
        Product(
            name="moisture",
            code="TF",
            directory="moisture",
            quality_column="QN_8",
            variables=(
                Variable("ABSF_STD", "absolute_humidity", "g/m³", _F64, "computed absolute humidity"),
                Variable("VP_STD", "vapour_pressure", "hPa", _F64, "computed vapour pressure"),
                Variable("TF_STD", "wet_bulb_temperature", "°C", _F64, "computed wet-bulb temperature"),
                Variable("P_STD", "pressure", "hPa", _F64, "hourly air pressure"),
                Variable("TT_STD", "temperature", "°C", _F64, "2 m air temperature"),
                Variable("RF_STD", "relative_humidity", "%", _F64, "2 m relative humidity"),
                Variable("TD_STD", "dew_point", "°C", _F64, "2 m dew point"),
            ),
            primary="relative_humidity",
            curated_table="quarterly_moisture_features",
            description="Hourly computed moisture parameters",
        ),
        # FORMAT §5.1 (real Lahr file): SD_SO = minutes of sunshine in the hour ending at MESS_DATUM, 0–60;
        # night hours are 0 where written; until 2019-05 only hours 03–20 UTC are written (18 a day).
        Product(
            name="sun",
            code="SD",
            directory="sun",
            quality_column="QN_7",
            variables=(
                Variable("SD_SO", "sunshine_duration", "min", _F64, "minutes of sunshine in the hour"),
            ),
            primary="sunshine_duration",
            curated_table="quarterly_sun_features",
            description="Hourly sunshine duration",
            day_hours=18,
        ),
        # FORMAT §2.7 (docs/dwd-format.md §2.9): V_N_I is a letter, P (observer) or I (instrument); V_N is the
        # total cloud cover in eighths (okta 0–8) and -1 where the sky could not be seen (fog, heavy snow).
        Product(
            name="cloudiness",
            code="N",
            directory="cloudiness",
            quality_column="QN_8",
            variables=(
                Variable(
                    "V_N_I", "cloud_cover_method", "P/I", pa.string(), "observed by P(erson) or I(nstrument)"
                ),
                Variable("V_N", "cloud_cover", "okta", pa.int8(), "total cloud cover (-1 = sky not visible)"),
            ),
            primary="cloud_cover",
            curated_table="quarterly_cloudiness_features",
            description="Hourly total cloud cover",
        ),
    )
}

BY_CODE: dict[str, Product] = {p.code: p for p in PRODUCTS.values()}


# FORMAT §5.2 (real Lahr file): QN_3 qualifies the wind group, QN_4 everything else. RSK is the precipitation
# of DWD's 06–06 UTC day; TXK/TNK are extremes of the continuous record, not of the hourly readings.
_KL_GROUPS: tuple[QualityGroup, ...] = (
    (
        "QN_3",
        "qn_wind",
        (
            Variable("FX", "wind_gust_max", "m/s", _F64, "daily maximum wind gust"),
            Variable("FM", "wind_speed_mean", "m/s", _F64, "daily mean wind speed"),
        ),
    ),
    (
        "QN_4",
        "qn",
        (
            Variable("RSK", "precipitation_height", "mm", _F64, "precipitation of the 06–06 UTC day"),
            Variable("RSKF", "precipitation_form", "RSKF code", pa.int8(), "form of precipitation"),
            Variable("SDK", "sunshine_duration", "h", _F64, "daily sunshine duration"),
            Variable("SHK_TAG", "snow_depth", "cm", _F64, "daily snow depth"),
            Variable("NM", "cloud_cover", "1/8", _F64, "daily mean cloud cover"),
            Variable("VPM", "vapour_pressure", "hPa", _F64, "daily mean vapour pressure"),
            Variable("PM", "pressure_station", "hPa", _F64, "daily mean air pressure at station height"),
            Variable("TMK", "temperature_mean", "°C", _F64, "daily mean 2 m air temperature"),
            Variable("UPM", "relative_humidity", "%", _F64, "daily mean 2 m relative humidity"),
            Variable("TXK", "temperature_max", "°C", _F64, "daily maximum 2 m air temperature"),
            Variable("TNK", "temperature_min", "°C", _F64, "daily minimum 2 m air temperature"),
            Variable("TGK", "ground_temperature_min", "°C", _F64, "daily minimum air temperature at 5 cm"),
        ),
    ),
)
DAILY_KL = Product(
    name="daily_climate",
    code="KL",
    directory="kl",
    quality_column="QN_4",
    variables=tuple(v for _, _, vs in _KL_GROUPS for v in vs),
    primary="temperature_max",
    curated_table="",
    description="Daily climate values (KL): official daily means, extremes and sums",
    resolution="daily",
    quality_groups=_KL_GROUPS,
    produkt_word="klima_tag",
)
#: The daily products (no curated table of their own: their values feed the hourly products' day indices).
DAILY_PRODUCTS: dict[str, Product] = {DAILY_KL.name: DAILY_KL}

# settings (the bottom layer) validates ``product_types`` against its own plain list of names, as it may not
# import this registry; fail at import when the two drift apart rather than accept or reject the wrong names.
if tuple(PRODUCTS) != KNOWN_PRODUCTS:
    raise RuntimeError(
        f"settings.KNOWN_PRODUCTS {KNOWN_PRODUCTS} differs from the registry {tuple(PRODUCTS)}"
    )


def register_product(product: Product) -> None:
    """Add a product to the registry at run time (tests, plug-ins): ``PRODUCTS``, ``BY_CODE`` and the names
    settings accepts. Shipped products are entries in ``PRODUCTS`` above; this is the same path for one
    defined elsewhere. A name or code already taken is refused."""
    if product.name in PRODUCTS or product.code in BY_CODE:
        raise ValueError(f"product {product.name!r} (code {product.code!r}) is already registered")
    PRODUCTS[product.name] = product
    BY_CODE[product.code] = product
    register_product_name(product.name)


def unregister_product(name: str) -> None:
    """Remove a product added by ``register_product`` (the shipped ones cannot be removed)."""
    if name in KNOWN_PRODUCTS:
        raise ValueError(f"{name!r} is a shipped product")
    product = PRODUCTS.pop(name)
    BY_CODE.pop(product.code, None)
    unregister_product_name(name)


def listing_url(base_url: str, product: Product, period: str) -> str:
    """The URL of ``product``'s ``period`` directory. ``base_url`` is DWD's hourly tree
    (``settings.dwd_base_url``, ``…/climate/hourly/``); another resolution's tree is its sibling
    (``…/climate/daily/kl/recent/``)."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    if product.resolution == "hourly":
        return f"{base}{product.directory}/{period}/"
    return urllib.parse.urljoin(base, f"../{product.path}/{period}/")


def product_names() -> list[str]:
    return list(PRODUCTS)


def get_product(name_or_code: str) -> Product:
    """Look a product up by name (``air_temperature``) or DWD code (``TU``, case-insensitive)."""
    if name_or_code in PRODUCTS:
        return PRODUCTS[name_or_code]
    if name_or_code in DAILY_PRODUCTS:
        return DAILY_PRODUCTS[name_or_code]
    code = name_or_code.upper()
    if code in BY_CODE:
        return BY_CODE[code]
    raise UnknownProductError(name_or_code, product_names() + list(BY_CODE))
