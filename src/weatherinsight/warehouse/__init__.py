"""The curated database: engines and schema (``db``), tables (``tables``), dataset versions (``lineage``)."""
