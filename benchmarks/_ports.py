"""The benchmarks' one free-port helper (not a benchmark itself; imported as ``_ports`` by the scripts, which run
as ``python benchmarks/<name>.py`` with this directory first on ``sys.path``).

The tests have their own (``tests.fixtures.core.free_port``): a benchmark does not import the test fixtures,
which pull in pytest and would add to the memory and start-up figures some benchmarks report.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback TCP port nothing listens on right now (the OS picks it; closed again before returning)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
