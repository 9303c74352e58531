"""WeatherInsight: DWD hourly station observations → staged Parquet → quarterly climate features."""

__version__ = "0.1.0"

DWD_ATTRIBUTION = (
    "Source: Deutscher Wetterdienst (DWD), Climate Data Center (CDC), "
    "https://opendata.dwd.de/climate_environment/CDC/ — licensed under CC BY 4.0; values aggregated by WeatherInsight."
)
