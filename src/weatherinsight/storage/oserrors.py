"""OS errors of writing storage (disk full, permission denied, read-only, not a directory) as typed errors.

Ingest (raw store) and staging (staged area) share the rule: which errno values are storage failures that end
the run — retrying the next file would fail the same way — and the one-line ``StorageError`` naming the path.
"""

from __future__ import annotations

import errno

from weatherinsight.errors import StorageError
from weatherinsight.logs import get_logger

log = get_logger(__name__)

#: errno values that say the storage itself cannot take writes (not one bad file): the run stops at once.
STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR}
)


def is_storage_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is an OS error of the storage itself (see ``STORAGE_ERRNOS``)."""
    return isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS


def storage_error(exc: OSError, fallback: str, *, event: str, hint: str) -> StorageError:
    """``exc`` as a typed error naming the path (the file it names, else ``fallback``) and the errno."""
    path = exc.filename if isinstance(exc.filename, str) else fallback
    code = errno.errorcode.get(exc.errno, "") if exc.errno else ""
    problem = f"{exc.strerror or exc} ({code})" if code else str(exc)
    log.error(event, path=path, errno=code or None, error=str(exc))
    return StorageError(path, problem, hint=hint)
