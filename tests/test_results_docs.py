"""The answer tables in the README and docs/results/answers.md are exactly what scripts/answer_report.py renders
from docs/results/answers.json: no figure typed by hand, none left stale."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _script(name: str, folder: str = "scripts"):
    """scripts/NAME.py (or FOLDER/NAME.py) as a module; its folder and scripts/ are on sys.path, as when it runs
    (some reuse each other's helpers)."""
    for path in {REPO / "scripts", REPO / folder}:
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    spec = importlib.util.spec_from_file_location(name, REPO / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_answer_tables_are_rendered_from_the_json():
    report = _script("answer_report")
    results = json.loads((REPO / "docs" / "results" / "answers.json").read_text(encoding="utf-8"))
    table = report.render(results, report.load_before())
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- answers:begin -->\n", 1)[1].split("<!-- answers:end -->", 1)[0]
    assert block == report.summary(results)
    assert (REPO / "docs" / "results" / "answers.md").read_text(encoding="utf-8") == "# Answer figures\n\n" + table


def test_a_measuring_run_writes_the_json_and_the_tables(tmp_path, monkeypatch):
    report = _script("answer_report")
    measured = json.loads((REPO / "docs" / "results" / "answers.json").read_text(encoding="utf-8"))["sets"]
    monkeypatch.setattr(report, "measure", lambda name, path, ablate: measured[name])  # no model run here
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    monkeypatch.setattr(report, "ROOT", tmp_path)  # the README it rewrites is the temp dir's
    (tmp_path / "README.md").write_text("intro\n<!-- answers:begin -->\nold\n<!-- answers:end -->\nrest\n")
    monkeypatch.setattr(report, "SETS", {"tuning": str(REPO / "eval" / "gold-tune.jsonl")})
    assert report.main(["--sets", "tuning", "--no-ablate", "--json", str(tmp_path / "a.json")]) == 0
    written = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert set(written["sets"]) == {"tuning"} and "commit" in written and written["machine"]
    table = report.render(written, report.load_before())
    assert (tmp_path / "answers.md").read_text(encoding="utf-8") == "# Answer figures\n\n" + table
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert readme == f"intro\n<!-- answers:begin -->\n{report.summary(written)}<!-- answers:end -->\nrest\n"


def test_answerability_auc_counts_pairs_ordered_right_and_ties_half():
    module = _script("answerability")
    assert module.auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert module.auc([0.1, 0.9], [True, False]) == 0.0
    assert module.auc([0.5, 0.5], [True, False]) == 0.5
    assert module.auc([0.5], [True]) is None  # no unanswerable question: nothing to separate


def test_the_readme_sentence_on_the_injection_detector_is_rendered_from_its_json():
    module = _script("injection_report")
    figures = json.loads((REPO / "docs" / "results" / "injection.json").read_text(encoding="utf-8"))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- injection:begin -->\n", 1)[1].split("<!-- injection:end -->", 1)[0]
    assert block == module.render(figures)


def test_the_reranker_table_is_rendered_from_its_json():
    module = _script("rerank_report")
    table = module.render(json.loads((REPO / "docs" / "results" / "rerank.json").read_text(encoding="utf-8")))
    assert (REPO / "docs" / "results" / "rerank.md").read_text(encoding="utf-8") == "# Rerankers compared\n\n" + table


@pytest.mark.parametrize(
    ("folder", "script", "results"),
    [
        ("scripts", "reading_ceiling", "reading-ceiling"),
        ("scripts", "digest_report", "digest"),
        ("scripts", "first_answer", "first-answer"),
        ("scripts", "embedder_report", "embedder"),
        ("scripts", "store_parity", "store-parity"),
        ("scripts", "keyword_milvus", "keyword-milvus"),
        ("bench", "recall", "recall"),
        ("bench", "scale_out", "scale-out"),
    ],
)
def test_a_results_table_is_rendered_from_its_json(folder, script, results):
    module = _script(script, folder)
    report = json.loads((REPO / "docs" / "results" / f"{results}.json").read_text(encoding="utf-8"))
    assert (REPO / "docs" / "results" / f"{results}.md").read_text(encoding="utf-8") == module.render(report)


def test_the_readme_lines_on_scaling_out_are_rendered_from_the_json():
    module = _script("scale_out", "bench")
    report = json.loads((REPO / "docs" / "results" / "scale-out.json").read_text(encoding="utf-8"))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- scale-out:begin -->\n", 1)[1].split("<!-- scale-out:end -->", 1)[0]
    assert block == module.readme_summary(report)


def test_the_digest_report_reads_the_held_out_labels_as_its_routes():
    module = _script("digest_report")
    assert module.expected({"route": "count", "topic": "robotics", "digest": ""}) == ""
    assert module.expected({"route": "summary", "topic": "", "digest": "weekly"}) == ""
    assert module.expected({"route": "count", "count": 34}) == "count"  # the held-out set's labels


def test_no_eval_question_id_appears_in_the_readme():
    import re

    ids = {
        str(json.loads(line)["id"])
        for path in (REPO / "eval").rglob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and "id" in json.loads(line)
    }
    words = set(re.findall(r"[\w-]+", (REPO / "README.md").read_text(encoding="utf-8")))
    assert ids and not {i for i in ids if len(i) > 2} & words  # ids name single questions: history, not docs
