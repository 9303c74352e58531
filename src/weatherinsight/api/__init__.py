"""The delivery API (FastAPI): curated quarterly features, stations, catalog, versions and quality results."""
