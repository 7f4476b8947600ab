"""The benchmarks still run (quickly); their figures are read by people, never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        ("run.py", [], "GET / (anonymous)"),
        ("moderation_bench.py", [], "texts/s"),
        ("analytics_bench.py", [], "clustering: done"),
        # gunicorn and 60-odd HTTP clients on SQLite; its correctness check decides the status
        (
            "consultation_load.py",
            ["--only", "sqlite"],
            "every acknowledged opinion stored exactly once (SQLite): PASS",
        ),
        ("forms_bench.py", ["--only", "sqlite"], "repeats gave the same receipt: PASS"),
        # one web process and 50 WebSocket clients in another; its check decides the status
        (
            "chat_load.py",
            ["--only", "sqlite"],
            "every message delivered once to every viewer: PASS",
        ),
        # the media service in its own process, an aiortc presenter and two WebRTC viewers
        ("media_bench.py", [], "media benchmark: done"),
    ],
)
def test_bench_runs(script, args, expected, tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert expected in result.stdout
