"""The checked-in generated protocol code is what `make proto` makes from proto/ now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "src" / "alcor" / "v1"


def test_generated_code_matches_the_proto_files(tmp_path: Path) -> None:
    subprocess.run(
        ["make", "-s", "proto", f"BIN={Path(sys.executable).parent}", f"PROTO_OUT={tmp_path}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    fresh = sorted((tmp_path / "alcor" / "v1").iterdir())
    assert [path.name for path in fresh] == sorted(p.name for p in GENERATED.glob("*_pb2*"))
    stale = [p.name for p in fresh if p.read_bytes() != (GENERATED / p.name).read_bytes()]
    assert stale == [], "run `make proto` and commit the result"
