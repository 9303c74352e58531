"""Ingestion: DWD listings → verified raw files in the raw store, recorded in the database.

``service`` runs a product (``ingest_product``); ``plan`` selects the files, ``fetch`` and ``verify`` get and
check one file, ``record`` owns the SQL on ``ingestion_runs``/``raw_files`` and the raw dataset versions,
``result`` what a run reports.
"""

from weatherinsight.ingest.result import FAILED, PARTIAL, RUNNING, SUCCEEDED, FileFailure, IngestResult
from weatherinsight.ingest.service import ingest_product

__all__ = [
    "FAILED",
    "PARTIAL",
    "RUNNING",
    "SUCCEEDED",
    "FileFailure",
    "IngestResult",
    "ingest_product",
]
