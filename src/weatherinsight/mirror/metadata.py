"""The DWD side files of the simulated archive: station lists and the ``Metadaten_*`` members of a zip.

Byte layouts follow the real files (FORMAT §1.3, §1.4, §4.1, §4.2, §4.6): latin-1 everywhere; the station
list is fixed-width and padded to 200 characters; ``Metadaten_Parameter`` uses CRLF and ends with the
``Legende``/``generiert`` lines; Geographie and Stationsname are LF without ``eor``; Fehlwerte/Fehldaten
lines are space padded. Column names come from the registry (house rule 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from weatherinsight.dwd.products import TIME_REFERENCE_MEZ, TIME_REFERENCE_UTC, Product
from weatherinsight.mirror.stations import SimStation

ENCODING = "latin-1"
_LIST_WIDTH = 200
_LIST_HEADER = (
    "Stations_id von_datum bis_datum Stationshoehe geoBreite geoLaenge Stationsname Bundesland",
    "----------- --------- --------- ------------- --------- --------- ----------------------------------------- ----------",
)
#: Instrument file names per product (``Metadaten_Geraete_<Instrument>_<SSSSS>.txt``, FORMAT §1.3).
INSTRUMENTS: dict[str, tuple[str, ...]] = {
    "air_temperature": ("Lufttemperatur", "Rel_Feuchte"),
    "precipitation": ("Niederschlag_Gefallen_Ind", "Niederschlagsform", "Niederschlagshoehe"),
    "wind": ("Windgeschwindigkeit", "Windrichtung"),
    "pressure": ("Luftdruck_Reduziert", "Luftdruck_Stationshoehe"),
    "moisture": ("Luftdruck",),
}


@dataclass(frozen=True)
class Gap:
    """A run of missing rows, in written (file) time, inclusive bounds."""

    first: datetime
    last: datetime

    @property
    def hours(self) -> int:
        return int((self.last - self.first).total_seconds() // 3600) + 1


def _d8(d: date | None) -> str:
    return d.strftime("%Y%m%d") if d else " " * 8


def station_list(product: Product, stations: Sequence[tuple[SimStation, date, date]], *, crlf: bool) -> bytes:
    """``<CODE>_Stundenwerte_Beschreibung_Stationen.txt``: rows of (station, von_datum, bis_datum)."""
    lines = list(_LIST_HEADER)
    for st, von, bis in stations:
        loc = st.current
        row = (
            f"{st.station_id:05d} {_d8(von)} {_d8(bis)}{int(loc.height):>15d}{loc.lat:>12.4f}{loc.lon:>10.4f} "
            f"{st.name:<41}{st.state}"
        )
        lines.append(row.ljust(_LIST_WIDTH))
    end = "\r\n" if crlf else "\n"
    return (end.join(lines) + end).encode(ENCODING)


def geographie(st: SimStation) -> bytes:
    lines = ["Stations_id;Stationshoehe;Geogr.Breite;Geogr.Laenge;von_datum;bis_datum;Stationsname"]
    for loc in st.locations:
        lines.append(
            f"{st.station_id:>6};{loc.height:>8.2f};{loc.lat:>8.4f};{loc.lon:>8.4f};"
            f"{_d8(loc.since)};{_d8(loc.until)};{st.name}"
        )
    return ("\n".join(lines) + "\n").encode(ENCODING)


def stationsname(st: SimStation) -> bytes:
    lines = ["Stations_ID;Stationsname;Von_Datum;Bis_Datum"]
    first = st.locations[0].since
    if len(st.locations) > 1:
        # A renamed station, like 00044 Ahlhorn → Großenkneten.
        lines.append(
            f"{st.station_id:>6};{(st.name.split(' ')[0] + '-Alt')[:40]:<40};{_d8(first)};{_d8(st.locations[1].since)}"
        )
        first = st.locations[1].since
    lines.append(f"{st.station_id:>6};{st.name:<40};{_d8(first)};")
    return ("\n".join(lines) + "\n").encode(ENCODING)


def parameter(
    product: Product, st: SimStation, *, first: date, last: date, mez_until: date | None, generated: date
) -> bytes:
    """``Metadaten_Parameter_<code>_stunde_<SSSSS>.txt`` with MEZ/UTC periods for every variable."""
    periods: list[tuple[date, date, str]] = []
    if mez_until is not None and mez_until >= first:
        periods.append((first, min(mez_until, last), TIME_REFERENCE_MEZ))
        if mez_until < last:
            periods.append((date.fromordinal(mez_until.toordinal() + 1), last, TIME_REFERENCE_UTC))
    else:
        periods.append((first, last, TIME_REFERENCE_UTC))
    lines = [
        "Stations_ID;Von_Datum;Bis_Datum;Stationsname;Parameter;Parameterbeschreibung;Einheit;"
        "Datenquelle (Strukturversion=SV);Zusatz-Info;Besonderheiten;Literaturhinweis;eor;"
    ]
    for var in sorted(product.variables, key=lambda v: v.dwd_name):
        for von, bis, ref in periods:
            lines.append(
                f"{st.station_id};{_d8(von)};{_d8(bis)};{st.name};{var.dwd_name};{var.description};{var.unit};"
                f"Stundenwerte (simuliert, WeatherInsight-Spiegel);Stundenwerte in {ref};;;eor;"
            )
    lines.append("Legende: FT  = Folgetag; GZ = Gesetzliche Zeit")
    lines.append(f"generiert: {generated:%d.%m.%Y} --  Deutscher Wetterdienst  --")
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING, errors="replace")


def geraete(
    product: Product, instrument: str, st: SimStation, *, first: date, last: date, generated: date
) -> bytes:
    loc = st.current
    lines = [
        "Stations_ID;Stationsname;Geo. Laenge [Grad];Geo. Breite [Grad];Stationshoehe [m];"
        "Geberhoehe ueber Grund [m];Von_Datum;Bis_Datum;Geraetetyp Name;Messverfahren;eor;",
        f"{st.station_id};{st.name};{loc.lon:.2f};{loc.lat:.2f};{loc.height:g};2;{_d8(first)};{_d8(last)};"
        f"Simulator {instrument};Messung, elektr.;eor;",
        f"generiert: {generated:%d.%m.%Y} --  Deutscher Wetterdienst  --",
    ]
    return ("\n".join(lines) + "\n").encode(ENCODING)


def _fehl_line(text: str) -> str:
    return text.ljust(_LIST_WIDTH)


def fehlwerte(product: Product, st: SimStation, gaps: Sequence[Gap]) -> bytes:
    """``Metadaten_Fehlwerte_<SSSSS>_<from>_<to>.txt``: one line per gap and variable."""
    lines = [
        _fehl_line(
            "Stations_ID;Stations_Name;Parameter;Von_Datum;Bis_Datum;Anzahl_Fehlwerte;Beschreibung;eor;"
        )
    ]
    for var in product.variables:
        for g in gaps:
            lines.append(
                _fehl_line(
                    f"{st.station_id};{st.name};{var.dwd_name};{g.first:%d.%m.%Y-%H:%M};{g.last:%d.%m.%Y-%H:%M};"
                    f"{g.hours};;eor;"
                )
            )
    return ("\n".join(lines) + "\n").encode(ENCODING)


def fehldaten(product: Product, st: SimStation, gaps: Sequence[Gap], *, first: date, last: date) -> bytes:
    """``Metadaten_Fehldaten_…``: totals per variable, then the intervals (the Fehlwerte lines)."""
    total = sum(g.hours for g in gaps)
    lines = [
        _fehl_line(
            "Stations_ID;Stations_Name;Parameter;Von_Datum;Bis_Datum;Gesamt_Fehlwerte;Beschreibung;eor;"
        )
    ]
    for var in product.variables:
        lines.append(
            _fehl_line(
                f"{st.station_id};{st.name};{var.dwd_name};{first:%d.%m.%Y};{last:%d.%m.%Y};{total};Gesamt_Messzeitraum;eor;"
            )
        )
    return ("\n".join(lines) + "\n").encode(ENCODING) + fehlwerte(product, st, gaps)


def as_html(title: str, text: bytes) -> bytes:
    """The ``.html`` twin DWD ships next to most Metadaten files: the same rows as a table."""
    rows = [line.split(";") for line in text.decode(ENCODING).splitlines() if ";" in line]
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>\n" for r in rows)
    html = f"<html><head><title>{title}</title></head><body><table border=1>\n{body}</table></body></html>\n"
    return html.encode(ENCODING, errors="replace")
