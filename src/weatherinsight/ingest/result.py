"""What an ingestion run reports: its status words, the per-file failures and the ``IngestResult`` counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from weatherinsight.quarters import Quarter

# The ingestion_runs.status words (the run table predates ``vocabulary.Status`` and also knows "partial").
RUNNING, SUCCEEDED, PARTIAL, FAILED = "running", "succeeded", "partial", "failed"
#: A run whose process died while it was ``running`` (marked by the next run of the product).
ABORTED = "aborted"
#: The file name recorded for a directory listing that could not be read.
LISTING = "(listing)"
_MAX_SUMMARY_LINES = 50


@dataclass(frozen=True)
class FileFailure:
    """One file (or listing) that could not be ingested, and why."""

    period: str
    file_name: str
    url: str
    reason: str


@dataclass
class IngestResult:
    """What one ``ingest_product`` run did."""

    run_id: int
    product: str
    period: str
    status: str = RUNNING
    files_listed: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    #: Of ``files_unchanged``, those the listing alone showed unchanged (quick check): no request was sent.
    files_quick_checked: int = 0
    files_failed: int = 0
    bytes_downloaded: int = 0
    failures: list[FileFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The raw dataset version of each quarter the run published (or found unchanged), oldest first.
    raw_version_of: dict[Quarter, str] = field(default_factory=dict)
    #: Earlier runs of the product left ``running`` by a killed process, marked ``aborted`` by this run.
    aborted_runs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def raw_versions(self) -> list[str]:
        """The raw version names, oldest quarter first."""
        return list(self.raw_version_of.values())

    @property
    def failure_share(self) -> float:
        return self.files_failed / self.files_listed if self.files_listed else 0.0

    def error_summary(self) -> str | None:
        """The failures (at most 50, then a count) and warnings as text for ``ingestion_runs.error_summary``."""
        lines = [f"{f.period}/{f.file_name}: {f.reason}" for f in self.failures[:_MAX_SUMMARY_LINES]]
        if len(self.failures) > _MAX_SUMMARY_LINES:
            lines.append(f"… and {len(self.failures) - _MAX_SUMMARY_LINES} more")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines) or None
