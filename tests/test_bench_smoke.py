"""The benchmark harness (bench/run.py) runs end to end: fake upstream, console script, bare baseline.

Only that it works and produces its table is checked; no timing is judged here (see docs/performance.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_bench_smoke_run_produces_the_table(tmp_path: Path) -> None:
    output = tmp_path / "bench.md"
    raw = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--output", str(output), "--json", str(raw)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert done.returncode == 0, done.stderr[-4000:]
    report = output.read_text(encoding="utf-8")
    assert "| metric | gpt-image-mcp | bare baseline | ratio | target | result |" in report
    assert "| stdio `image_generate` p50 (0 ms upstream) |" in report
    assert "| stdio server CPU per call |" in report
    assert "| Heavy SDKs imported at start-up" in report
    assert "Errors:" not in report
    assert report in done.stdout
    assert '"ours.stdio_p50_ms"' in raw.read_text(encoding="utf-8")
