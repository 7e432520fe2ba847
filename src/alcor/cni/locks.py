"""Lock files in the state directory, held across processes and threads (``flock`` on a file
opened anew by each holder): a container's (``commands``: its ADD, DEL and CHECK) and a
network's node port (``node_ports``: made once however many ADDs run at once)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from alcor.cni.errors import IO_FAILURE, CniError


@contextlib.contextmanager
def held(folder: Path, name: str, *, forget: bool = False) -> Iterator[bool]:
    """The lock ``folder/name``, and whether a holder held it before (each holder leaves a mark
    in the file, which ``forget`` removes with the file when done: whether the file merely
    existed would tell wrong when a second holder opens it between the first's creating and
    locking it). A waiter that got the lock on a file removed meanwhile takes it again on the
    new one."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CniError(IO_FAILURE, f"cannot make {folder}", str(error)) from None
    path = folder / name.replace("/", "_")
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        locked = os.fstat(descriptor)
        try:
            same = locked.st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(descriptor)
    try:
        before = locked.st_size > 0
        if not before:
            os.write(descriptor, b"held\n")
        yield before
        if forget:
            path.unlink(missing_ok=True)
    finally:
        os.close(descriptor)
