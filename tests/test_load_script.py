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
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_INDEX__DIR": str(tmp_path / "index")}
    built = subprocess.run([RAG, "index"], env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    report = tmp_path / "load.json"
    command = [sys.executable, str(REPO / "scripts" / "load_test.py"), "--users", "4", "--seconds", "20",
               "--json", str(report)]  # fmt: skip
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    assert result["errors"] == 0 and result["completed"] >= 4
