"""The analyst's Python client: published stations, catalog and features as pandas, Arrow or polars.

``Client()`` reads the local embedded store (the settings as everywhere: ``WEATHERINSIGHT_*`` and the YAML);
``Client("http://127.0.0.1:8000")`` reads a running API. Both have the same methods and give the same frames.
"""

from weatherinsight.client.core import Client
from weatherinsight.client.query import QueryError

__all__ = ["Client", "QueryError"]
