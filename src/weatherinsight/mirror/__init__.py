"""The DWD mirror: a generator of a DWD-compatible hourly archive and an HTTP server for it.

``simulate`` writes the tree (deterministic for a seed), ``server`` serves it with DWD-like index pages,
conditional requests and switchable fault injection. Tests, the demo and benchmarks use both.
"""

from __future__ import annotations

MIRROR_PREFIX = "climate_environment/CDC/observations_germany/climate/hourly/"
