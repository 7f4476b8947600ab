"""The benchmarks still run (quickly); their figures are read by people, never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize(
    ("script", "expected"), [("run.py", "GET / (anonymous)"), ("moderation_bench.py", "texts/s")]
)
def test_bench_runs(script, expected, tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
