"""WeatherInsight: DWD hourly station observations → staged Parquet → quarterly climate features."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers; at run time ``Client`` is imported on first use (``__getattr__``)
    from weatherinsight.client import Client

__version__ = "0.1.0"
__all__ = ["DWD_ATTRIBUTION", "Client", "__version__"]

DWD_ATTRIBUTION = (
    "Source: Deutscher Wetterdienst (DWD), Climate Data Center (CDC), "
    "https://opendata.dwd.de/climate_environment/CDC/ — licensed under CC BY 4.0; values aggregated by WeatherInsight."
)


def __getattr__(name: str) -> object:
    # ``from weatherinsight import Client`` without importing the client (FastAPI, pandas, httpx) for every
    # ``import weatherinsight.<module>``: the package root is imported by every module of every layer.
    if name == "Client":
        from weatherinsight.client import Client

        return Client
    raise AttributeError(f"module 'weatherinsight' has no attribute {name!r}")
