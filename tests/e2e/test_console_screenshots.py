"""``scripts/console-screenshots``, run as the README says it is run: from a
generated ledger served on SQLite, a screenshot of every console page, each a
PNG of the window's size, and no page a problem page (the script fails on
one). The README shows the files it makes; a script that no longer runs
leaves them stale."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "screenshots"))

from make import pages  # noqa: E402


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_screenshot_script_takes_every_console_page_from_a_generated_ledger(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "console-screenshots"), "--contracts", "60", "--into", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shots = pages({"contract": "c", "advisor": "a", "agency": "g", "carrier": "r"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.png" for name, *_ in shots)
    for name, _viewer, _path, (width, _height) in shots:
        assert png_size(tmp_path / f"{name}.png")[0] == width, name
