"""Validates the gold question sets (eval/gold-tune.jsonl + eval/gold-valid.jsonl, eval/gold-tune2.jsonl,
eval/valid2.jsonl and eval/blind.jsonl): format,
spread, and that every evidence string is really in its source file."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Each set, with the files it is made of and the pattern of its ids.
SETS = {
    "gold": (("gold-tune.jsonl", "gold-valid.jsonl"), r"g\d{3}"),
    "tuning-more": (("gold-tune2.jsonl",), r"t\d{3}"),
    "blind": (("blind.jsonl",), r"b\d{3}"),
    "validation-more": (("valid2.jsonl",), r"v\d{3}"),
}
CORPUS = REPO / "corpus"
KEYS = {"id", "question", "lang", "source", "evidence", "answers", "answerable", "kind"}
KINDS = {"paper-title", "number", "fact", "cross-doc", "unanswerable"}
LANGS = {"zh", "en"}
SOURCES = {"hf-daily-papers-2026-02-10.md", "ai-weekly-2025-06-ocr.txt"}


def normalize(text: str) -> str:
    """Same rule as rag.evaluate.normalize_text: drop * and backticks, collapse whitespace, lower-case."""
    return re.sub(r"\s+", " ", re.sub(r"[*`]", "", text)).strip().lower()


def read(name: str) -> list[dict]:
    lines = (REPO / "eval" / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module", params=sorted(SETS))
def rows(request) -> list[dict]:
    files, id_pattern = SETS[request.param]
    out = [r for name in files for r in read(name)]
    for r in out:
        assert re.fullmatch(id_pattern, r.get("id", "")), (request.param, r.get("id"))
    return out


def test_tuning_and_validation_parts_are_disjoint_and_mixed():
    tune, valid = read("gold-tune.jsonl"), read("gold-valid.jsonl")
    assert not {r["id"] for r in tune} & {r["id"] for r in valid}
    assert not {r["question"] for r in tune} & {r["question"] for r in valid}
    for part in (tune, valid):  # each part has every kind and both languages
        assert {r["kind"] for r in part} == KINDS and {r["lang"] for r in part} == LANGS


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    return {p.name: normalize(p.read_text(encoding="utf-8")) for p in CORPUS.iterdir() if p.is_file()}


def test_matches_rag_normalization():
    from rag.evaluate import normalize_text

    sample = "  **Qwen3**-Embedding\n\n  `8B`\tScores 70.58 "
    assert normalize(sample) == normalize_text(sample)


def test_enough_unique_questions(rows):
    assert len(rows) >= 40
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), [i for i, c in Counter(ids).items() if c > 1]


def test_keys_and_types(rows, sources):
    for r in rows:
        assert set(r) == KEYS, r.get("id")
        assert isinstance(r["question"], str) and r["question"].strip(), r["id"]
        assert r["lang"] in LANGS, r["id"]
        assert r["kind"] in KINDS, r["id"]
        assert r["source"] in sources or (r["source"] == "" and r["kind"] == "unanswerable"), r["id"]  # off-topic
        assert isinstance(r["answerable"], bool), r["id"]
        for key in ("evidence", "answers"):
            assert isinstance(r[key], list) and all(isinstance(s, str) and s.strip() for s in r[key]), r["id"]


def test_language_tag_matches_question(rows):
    for r in rows:
        has_cjk = bool(re.search(r"[\u4e00-\u9fff]", r["question"]))
        assert has_cjk == (r["lang"] == "zh"), r["id"]


def test_answerable_consistent_with_kind(rows):
    for r in rows:
        if r["kind"] == "unanswerable":
            assert r["answerable"] is False and r["evidence"] == [] and r["answers"] == [], r["id"]
        else:
            assert r["answerable"] is True, r["id"]
            assert 1 <= len(r["evidence"]) <= 2, r["id"]
            assert r["answers"], r["id"]


def test_evidence_is_short_and_in_source(rows, sources):
    for r in rows:
        text = sources.get(r["source"], "")
        for e in r["evidence"]:
            assert 6 <= len(e) <= 40, (r["id"], e)
            assert "\n" not in e, (r["id"], e)
            assert normalize(e) in text, (r["id"], e)


def test_some_answer_occurs_in_source(rows, sources):
    for r in rows:
        if r["answerable"]:
            text = sources[r["source"]]
            assert any(normalize(a) in text for a in r["answers"]), (r["id"], r["answers"])


def test_spread(rows):
    by_source = Counter(r["source"] for r in rows)
    assert set(by_source) >= SOURCES, by_source
    assert min(by_source[s] for s in SOURCES) >= 12, by_source
    kinds = {r["kind"] for r in rows}
    assert kinds <= KINDS and kinds >= KINDS - {"cross-doc"}, kinds
    assert {r["lang"] for r in rows} == LANGS


def test_list_questions_name_papers_of_the_corpus(sources):
    lines = (REPO / "eval" / "lists.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    assert len(rows) >= 5 and {r["lang"] for r in rows} == LANGS
    for r in rows:
        assert set(r) == {"id", "question", "lang", "source", "items", "kind"} and r["kind"] == "list", r["id"]
        assert len(r["items"]) >= 2, r["id"]
        for spellings in r["items"]:  # every item is a paper of the source, under one of its spellings
            assert any(normalize(s) in sources[r["source"]] for s in spellings), (r["id"], spellings)


@pytest.mark.parametrize("name", ["blind.jsonl", "valid2.jsonl"])
def test_blind_and_second_validation_mix(name):
    """The make-up the answers issue asks of a blind set, which the second validation set shares."""
    rows = read(name)
    n = len(rows)
    assert n >= 80
    assert sum(r["lang"] == "en" for r in rows) >= 0.4 * n
    assert sum(r["kind"] == "unanswerable" and bool(r["source"]) for r in rows) >= 0.1 * n  # near-misses: a real source
    assert sum(r["source"] == "ai-weekly-2025-06-ocr.txt" for r in rows) >= 0.15 * n
