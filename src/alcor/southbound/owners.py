"""Which southbound replica owns a host: rendezvous (highest-random-weight) hashing.

Every replica scores every host (``blake2b`` of the replica's id and the host's, 8 bytes) and
the highest score owns it. Any process that knows the same live replicas computes the same
owner, with no coordination beyond the lease rows. When a replica joins it takes about 1/N of
the hosts, each from the replica that owned it; when one leaves only its own hosts move, each
to the replica that scores second for it: nothing else moves.

Keys other than hosts work the same way: the replica that owns ``COMPACTION`` compacts the
change log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

COMPACTION = "\x00compaction"  # no host id has a NUL: the key of the one replica that compacts


def score(replica_id: str, key: str) -> int:
    digest = hashlib.blake2b(f"{replica_id}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(key: str, replica_ids: Iterable[str]) -> str | None:
    """The replica that owns ``key`` among ``replica_ids`` (None: no replica)."""
    best: tuple[int, str] | None = None
    for replica_id in replica_ids:
        ranked = (score(replica_id, key), replica_id)  # ties, however unlikely, go by id
        if best is None or ranked > best:
            best = ranked
    return None if best is None else best[1]
