"""``python -m alcor.cni.bundle OUTPUT``: the plugin as a node runs it, ``/opt/cni/bin/alcor-cni``
(the deployment's init container copies it there):

``OUTPUT``      ``handoff.c`` compiled and statically linked (``$CC``, else ``cc``): what runs
                once per pod, handing the invocation to the node's CNI daemon in half a
                millisecond of CPU;
``OUTPUT.pyz``  the whole plugin as one executable zip application of ``alcor/cni`` (it needs
                nothing else), which any python3 of 3.11 or newer runs: ``OUTPUT`` runs it when
                no daemon answers.

``--zipapp`` writes only the zip application, at ``OUTPUT``: a plugin with no compiled part
(each pod then pays Python's start, about 15 ms of CPU more).

The zip application starts as lightly as Python can: isolated and without ``site`` (``-IS``:
the standard library is all it needs), and with each module also compiled for the Python that
built it (``.pyc`` beside the ``.py``, not checked against it: the archive is never edited),
which a node's Python of another version ignores for the source."""

from __future__ import annotations

import argparse
import os
import py_compile
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import alcor.cni

SHEBANG = b"#!/usr/bin/env -S python3 -IS\n"
MAIN = "from alcor.cni.handoff import main\nmain()\n"
PACKAGE = Path(alcor.cni.__file__).parent
EXECUTABLE = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


class CannotBuild(Exception):
    pass


def write(output: Path, *, compiled: bool = True) -> None:
    """The plugin at ``output``: compiled with its zip application beside it, or (not
    ``compiled``) the zip application alone."""
    if not compiled:
        _write_zipapp(output)
        return
    _write_zipapp(output.with_name(output.name + ".pyz"))
    _compile(output)


def _write_zipapp(output: Path) -> None:
    temporary = output.with_name(f".{output.name}.tmp")
    with temporary.open("wb") as file:
        file.write(SHEBANG)
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("__main__.py", MAIN)
            archive.writestr("alcor/__init__.py", "")
            for module in sorted(PACKAGE.glob("*.py")):
                archive.write(module, f"alcor/cni/{module.name}")
                archive.writestr(f"alcor/cni/{module.stem}.pyc", _bytecode(module))
    temporary.chmod(temporary.stat().st_mode | EXECUTABLE)
    temporary.replace(output)


def _compile(output: Path) -> None:
    compiler = os.environ.get("CC", "cc")
    if shutil.which(compiler) is None:
        raise CannotBuild(f"no C compiler {compiler!r} (set CC, or give --zipapp)")
    temporary = output.with_name(f".{output.name}.tmp")
    command = [compiler, "-O2", "-static", "-Wall", "-Wextra", "-Werror", "-o", str(temporary)]
    done = subprocess.run(
        [*command, str(PACKAGE / "handoff.c")], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise CannotBuild(f"{compiler} failed: {done.stderr.strip()[-2000:]}")
    temporary.chmod(temporary.stat().st_mode | EXECUTABLE)
    temporary.replace(output)


def _bytecode(module: Path) -> bytes:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m alcor.cni.bundle", description="alcor-cni as a node runs it"
    )
    parser.add_argument("output", type=Path, help="the plugin (and OUTPUT.pyz beside it)")
    parser.add_argument("--zipapp", action="store_true", help="only the zip application, at OUTPUT")
    args = parser.parse_args(argv)
    try:
        write(args.output, compiled=not args.zipapp)
    except (CannotBuild, OSError) as error:
        print(f"alcor.cni.bundle: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
