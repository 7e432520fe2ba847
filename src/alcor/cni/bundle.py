"""``python -m alcor.cni.bundle OUTPUT``: the plugin as one executable file (a zip application
of ``alcor/cni`` alone: it needs nothing else) that a node runs with its own python3 (3.11 or
newer), for ``/opt/cni/bin/alcor-cni``. The deployment's init container copies it there."""

from __future__ import annotations

import stat
import sys
import zipfile
from pathlib import Path

import alcor.cni

SHEBANG = b"#!/usr/bin/env python3\n"
MAIN = "from alcor.cni.main import main\nmain()\n"


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
    temporary.chmod(temporary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    temporary.replace(output)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m alcor.cni.bundle OUTPUT")
    write(Path(sys.argv[1]))
