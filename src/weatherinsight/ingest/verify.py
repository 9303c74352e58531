"""The check a downloaded body must pass before the raw store commits it."""

from __future__ import annotations

from collections.abc import Callable

from weatherinsight.dwd.files import PRODUKT_PREFIX, verify_zip
from weatherinsight.dwd.stations import parse_station_list
from weatherinsight.errors import DwdFormatError


def verifier(name: str, max_bytes: int, is_zip: bool) -> Callable[[bytes], None]:
    """The check a body must pass before it is stored: an intact zip with a produkt member (every member is
    inflated once, here, so CRCs are checked, behind the zip-bomb guard), or a station list that parses."""

    def verify(data: bytes) -> None:
        if not data:
            raise DwdFormatError(name, "empty body")
        if is_zip:
            members = verify_zip(data, file_name=name, max_uncompressed_bytes=max_bytes)  # CRCs checked
            if not any(m.name.startswith(PRODUKT_PREFIX) for m in members):
                raise DwdFormatError(name, "zip holds no produkt_*.txt member")
        else:
            parse_station_list(data, file_name=name)

    return verify
