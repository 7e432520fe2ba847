"""``python -m alcor.cni.bundle OUTPUT``: the plugin as one executable file (a zip application
of ``alcor/cni`` alone: it needs nothing else) that a node runs with its own python3 (3.11 or
newer), for ``/opt/cni/bin/alcor-cni``. The deployment's init container copies it there.

It runs once per pod, so it starts as lightly as Python can: isolated and without ``site``
(``-IS``: the standard library is all it needs), and with each module also compiled for the
Python that built it (``.pyc`` beside the ``.py``, not checked against it: the archive is
never edited), which a node's Python of another version ignores for the source."""

from __future__ import annotations

import py_compile
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

import alcor.cni

SHEBANG = b"#!/usr/bin/env -S python3 -IS\n"
MAIN = "from alcor.cni.handoff import main\nmain()\n"


def write(output: Path) -> None:
    package = Path(alcor.cni.__file__).parent
    temporary = output.with_name(f".{output.name}.tmp")
    with temporary.open("wb") as file:
        file.write(SHEBANG)
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("__main__.py", MAIN)
            archive.writestr("alcor/__init__.py", "")
            for module in sorted(package.glob("*.py")):
                archive.write(module, f"alcor/cni/{module.name}")
                archive.writestr(f"alcor/cni/{module.stem}.pyc", _compiled(module))
    temporary.chmod(temporary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    temporary.replace(output)


def _compiled(module: Path) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "module.pyc"
        py_compile.compile(
            str(module),
            cfile=str(target),
            dfile=f"alcor/cni/{module.name}",
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        return target.read_bytes()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m alcor.cni.bundle OUTPUT")
    write(Path(sys.argv[1]))
