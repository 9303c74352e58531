"""The check a downloaded body must pass before the raw store commits it."""

from __future__ import annotations

from collections.abc import Callable

from weatherinsight.dwd.files import PRODUKT_PREFIX, ZipMember, verify_zip
from weatherinsight.dwd.stations import parse_station_list
from weatherinsight.errors import DwdFormatError


def verifier(name: str, max_bytes: int, is_zip: bool) -> Callable[[bytes], list[ZipMember]]:
    """The check a body must pass before it is stored: an intact zip with a produkt member (every member is
    inflated once, here, so CRCs are checked, behind the zip-bomb guard), or a station list that parses.
    It returns the zip's members (none for a station list), so nothing has to open the zip again to learn
    them."""

    def verify(data: bytes) -> list[ZipMember]:
        if not data:
            raise DwdFormatError(name, "empty body")
        if is_zip:
            members = verify_zip(data, file_name=name, max_uncompressed_bytes=max_bytes)  # CRCs checked
            if not any(m.name.startswith(PRODUKT_PREFIX) for m in members):
                raise DwdFormatError(name, "zip holds no produkt_*.txt member")
            return members
        parse_station_list(data, file_name=name)
        return []

    return verify
