"""Staging plans: which quarters a run rewrites and which raw files it parses for them.

A quarter is rewritten only when the set of files whose hour range touches it changed (its input
fingerprint differs from the state's) or its partition was deleted by hand. New files' ranges are first
estimated from their produkt entry names (widened by ``ESTIMATE_MARGIN``); once parsed, the real ranges decide
which dirty quarters really change (``quarters_to_commit``) and which ones a failed run gets a FAILED version
for (``failed_quarters``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from weatherinsight.dwd.products import Product
from weatherinsight.quarters import Quarter, quarters_between
from weatherinsight.staging.inventory import ESTIMATE_MARGIN, RawInput, estimate_range
from weatherinsight.staging.state import StagingState, entry_range, fingerprint
from weatherinsight.staging.worker import FileOutcome
from weatherinsight.storage import staged as staged_store

#: The files of one quarter as its fingerprint sees them: (sha256, period, DWD file name).
FileKey = tuple[str, str, str]


def _key(item: RawInput) -> FileKey:
    return (item.sha256, item.period, item.file_name)


@dataclass
class Plan:
    """What one run will do: the dirty quarters, the files to parse for them and how each range was known."""

    inputs: list[RawInput]
    new: list[RawInput]
    dirty: list[Quarter]
    parse: list[RawInput]
    #: new files that failed already while planning (their range could only be learnt by parsing)
    failed: list[FileOutcome]
    #: the hour range each file was planned with (None: no range known); for the rels in ``estimated`` it is
    #: the produkt entry name's claim widened by ``ESTIMATE_MARGIN``, otherwise a range learnt by parsing
    ranges: dict[str, tuple[datetime, datetime] | None] = field(default_factory=dict)
    estimated: set[str] = field(default_factory=set)
    #: the input fingerprint of each dirty quarter as planned (from the ranges above)
    fingerprints: dict[Quarter, str] = field(default_factory=dict)
    #: the dirty quarters that change even by the files' own claims (the estimates without the margin):
    #: what a run that fails before learning the real ranges was going to rewrite
    claimed_changes: set[Quarter] = field(default_factory=set)

    def claimed(self, rel: str) -> tuple[datetime, datetime] | None:
        """A file's range: as parsed, or the produkt name's claim (the estimate without the margin)."""
        r = self.ranges.get(rel)
        if r is None or rel not in self.estimated:
            return r
        first, last = r[0] + ESTIMATE_MARGIN, r[1] - ESTIMATE_MARGIN
        return (first, last) if first <= last else None

    def claimed_quarters(self, rels: Iterable[str]) -> set[Quarter]:
        out: set[Quarter] = set()
        for rel in rels:
            r = self.claimed(rel)
            if r is not None:
                out.update(quarters_between(*r))
        return out


def _has_partition(staged_dir: Path, product: Product, q: Quarter) -> bool:
    return staged_store.partition_dir(staged_dir, product.name, q).is_dir()


def make_plan(
    state: StagingState,
    inputs: list[RawInput],
    read_bytes: Callable[[str], bytes],
    probe: Callable[[RawInput, bytes], FileOutcome],
    requested: set[Quarter] | None,
    staged_dir: Path,
    product: Product,
) -> Plan:
    """Decide which quarters to rewrite and which files to parse for them (see the module doc)."""
    ranges: dict[str, tuple[datetime, datetime] | None] = {}
    estimated: set[str] = set()
    new: list[RawInput] = []
    failed: list[FileOutcome] = []
    for item in inputs:
        entry = state.known(item)
        if entry is not None:
            # Re-key by the current path: a release moved into _history keeps its bytes and its range.
            state.files[item.rel] = {**entry, "rel": item.rel}
            ranges[item.rel] = entry_range(entry)  # None: quarantined before, or a file without rows
            continue
        new.append(item)
        data = read_bytes(item.path)
        estimate = estimate_range(data)
        if estimate is None:
            # The zip does not say what it covers: parse it now (once) rather than rewrite every quarter.
            outcome = probe(item, data)
            if not outcome.ok:
                failed.append(outcome)
            estimate = (outcome.first, outcome.last) if outcome.first and outcome.last else None
        else:
            estimated.add(item.rel)
        ranges[item.rel] = estimate
    by_quarter: dict[Quarter, list[FileKey]] = {}
    for item in inputs:
        r = ranges.get(item.rel)
        if r is not None:
            for q in quarters_between(*r):
                by_quarter.setdefault(q, []).append(_key(item))
    candidates = set(by_quarter) | {Quarter.parse(k) for k in state.quarters}
    if requested is not None:
        candidates &= requested
    dirty: list[Quarter] = []
    planned: dict[Quarter, str] = {}
    for q in sorted(candidates):
        prev = state.quarters.get(str(q))
        fp = fingerprint(q, by_quarter.get(q, []))
        if prev is None or prev.get("fingerprint") != fp:
            dirty.append(q)
            planned[q] = fp
        elif prev.get("rows", 0) and not _has_partition(staged_dir, product, q):
            dirty.append(q)  # the partition was deleted by hand: rebuild it
            planned[q] = fp
    plan = Plan(inputs, new, dirty, [], failed, ranges, estimated, planned)
    plan.claimed_changes = _claimed_changes(plan, state, staged_dir, product)
    bad = {o.rel for o in failed}
    dirty_set = set(dirty)
    for item in inputs:
        r = ranges.get(item.rel)
        if item.rel in bad or r is None:
            continue
        if dirty_set & set(quarters_between(*r)):
            plan.parse.append(item)
    return plan


def _claimed_changes(plan: Plan, state: StagingState, staged_dir: Path, product: Product) -> set[Quarter]:
    """The dirty quarters that change by the files' own claims (see ``Plan.claimed_changes``)."""
    by_claim: dict[Quarter, list[FileKey]] = {}
    for item in plan.inputs:
        c = plan.claimed(item.rel)
        if c is not None:
            for q in quarters_between(*c):
                by_claim.setdefault(q, []).append(_key(item))
    out: set[Quarter] = set()
    for q in plan.dirty:
        prev = state.quarters.get(str(q))
        if prev is None:
            changes = q in by_claim  # never staged: only if a file claims rows here
        else:
            changes = prev.get("fingerprint") != fingerprint(q, by_claim.get(q, [])) or bool(
                prev.get("rows", 0) and not _has_partition(staged_dir, product, q)
            )
        if changes:
            out.add(q)
    return out


def quarters_to_commit(
    state: StagingState,
    inputs: Sequence[RawInput],
    dirty: Iterable[Quarter],
    rows_by_q: dict[Quarter, int],
    staged_dir: Path,
    product: Product,
) -> tuple[list[Quarter], dict[Quarter, str]]:
    """The dirty quarters whose content really changes, and every dirty quarter's actual fingerprint.

    Fingerprints come from the ranges learnt by parsing (the estimates were only for planning).
    """
    by_quarter: dict[Quarter, list[FileKey]] = {}
    for item in inputs:
        entry = state.files.get(item.rel) or state.known(item)
        r = entry_range(entry) if entry else None
        if r is None:
            continue
        for q in quarters_between(*r):
            by_quarter.setdefault(q, []).append(_key(item))
    to_commit: list[Quarter] = []
    fps: dict[Quarter, str] = {}
    for q in sorted(dirty):
        fps[q] = fingerprint(q, by_quarter.get(q, []))
        prev = state.quarters.get(str(q))
        has_partition = _has_partition(staged_dir, product, q)
        same = prev is not None and prev.get("fingerprint") == fps[q]
        if same and (has_partition or not rows_by_q.get(q)):
            continue  # a planning estimate said maybe; the real ranges say this quarter is unchanged
        if prev is None and not rows_by_q.get(q) and not has_partition:
            continue  # nothing was ever staged here and nothing is now
        to_commit.append(q)
    return to_commit, fps


def failed_quarters(
    plan: Plan,
    to_commit: Sequence[Quarter] | None,
    counted_bad: Sequence[FileOutcome],
    committed: dict[Quarter, int],
) -> list[Quarter]:
    """The quarters a failed run was going to rewrite and did not (they get a FAILED staged version).

    Not simply the planned dirty set: the planning estimate is widened by a day, and a FAILED version on a
    neighbouring quarter whose content would not change would stay its newest version (the next good run
    finds its inputs unchanged and publishes nothing). So, when the run got as far as the real ranges:
    the quarters they say change, plus the quarters the bad files claim (where the run failed to write
    their rows); otherwise the dirty quarters that change by the files' own claims.
    """
    if to_commit is not None:
        out = set(to_commit) | (set(plan.dirty) & plan.claimed_quarters(o.rel for o in counted_bad))
    else:
        out = set(plan.claimed_changes)
    return sorted(q for q in out if q not in committed)
