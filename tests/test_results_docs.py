"""The answer tables in the README and docs/results/answers.md are exactly what scripts/answer_report.py renders
from docs/results/answers.json: no figure typed by hand, none left stale."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _report():
    spec = importlib.util.spec_from_file_location("answer_report", REPO / "scripts" / "answer_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_answer_tables_are_rendered_from_the_json():
    report = _report()
    results = json.loads((REPO / "docs" / "results" / "answers.json").read_text(encoding="utf-8"))
    table = report.render(results, report.load_before())
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- answers:begin -->\n", 1)[1].split("<!-- answers:end -->", 1)[0]
    assert block == table
    assert (REPO / "docs" / "results" / "answers.md").read_text(encoding="utf-8") == "# Answer figures\n\n" + table
