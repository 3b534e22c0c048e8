"""The load test script against the real page: a short run in CI (the 20-user, 2-minute one is `make reliability`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RAG = str(Path(sys.executable).parent / "rag")


@pytest.mark.slow
def test_a_short_load_run_has_no_errors(tmp_path):
    """Four users for 20 s against the real server: every request answered, none failed.

    The script's memory verdict is reported, not asserted here: 20 s (about 10 answers) lies inside the
    server's warm-up climb (`scripts/memory_check.py` measured +145 MB over the first 60 answers, flat after),
    so only the longer runs of `make reliability` can tell growth from warm-up.
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_INDEX__DIR": str(tmp_path / "index")}
    built = subprocess.run([RAG, "index"], env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    report = tmp_path / "load.json"
    command = [sys.executable, str(REPO / "scripts" / "load_test.py"), "--users", "4", "--seconds", "20",
               "--json", str(report)]  # fmt: skip
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert report.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    assert result["errors"] == 0 and result["completed"] >= 4, run.stdout[-2000:]
