"""Data-quality checks of the curated database (the seed's five checks; see ``quality.checks``)."""
