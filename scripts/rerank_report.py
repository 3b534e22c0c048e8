"""Compares rerankers side by side on the tuning, validation and blind sets: accuracy, interval and added time.

    .venv/bin/python scripts/rerank_report.py --json docs/results/rerank.json          # ~25 min on 2 cores
    .venv/bin/python scripts/rerank_report.py --json docs/results/rerank.json --render

Each candidate reorders the same fused first-stage ranking of each question:
- `judge`: the default LLM yes/no judge on the top `rerank.candidates`, mixed with `rerank.weight` (the
  configured reranker of `rag search`);
- `sentences`: each of the top 10 scored by its best sentence's cosine to the question (e5 vectors of every
  sentence, embedded once here as an index would store them), mixed with the first-stage score at weight 0.3
  (chosen on the tuning sets, decision 0008).
Figures are over answerable questions with evidence; intervals are 95% bootstrap intervals over questions.
The table goes to the JSON's name with .md (docs/results/rerank.md, which the README links).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from answer_report import ROOT, SETS, commit, machine

from rag import fuse, pipeline
from rag.cite import sentences
from rag.config import load_config
from rag.evaluate import bootstrap, first_hit_rank, read_questions

GROUPS = {"tuning": ("tuning", "tuning2"), "validation": ("validation", "validation2"), "blind": ("blind",)}
DEPTH, SENTENCE_WEIGHT = 10, 0.3


def figures(ranks: list[int | None]) -> dict:
    """hit@1, hit@5 and MRR@10 of first-hit ranks, each with a 95% bootstrap interval over questions."""
    per = {
        "hit@1": [float(r == 1) for r in ranks],
        "hit@5": [float(r is not None and r <= 5) for r in ranks],
        "mrr@10": [1 / r if r is not None and r <= 10 else 0.0 for r in ranks],
    }
    out: dict = {"n": len(ranks)}
    for name, values in per.items():
        out[name] = round(sum(values) / len(values), 3)
        out[f"{name}_ci"] = bootstrap(values)
    return out


def render(report: dict) -> str:
    names = list(next(iter(report["groups"].values()))["rankings"])
    lines = [
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `scripts/rerank_report.py`; "
        "95% bootstrap intervals over questions; added time is p50 per question on top of the first stage "
        "(`sentences` reads sentence vectors an index would store; none ships). The default order is `fused`.",
        "",
        "| ranking | added p50 | " + " | ".join(f"{g} MRR@10 | {g} hit@1" for g in report["groups"]) + " |",
        "|---|---|" + "---|---|" * len(report["groups"]),
    ]
    for name in names:
        cells = []
        for group in report["groups"].values():
            f = group["rankings"][name]
            cells.append(f"{f['mrr@10']:.3f} ({f['mrr@10_ci'][0]:.2f}-{f['mrr@10_ci'][1]:.2f})")
            cells.append(f"{f['hit@1']:.3f}")
        added = report["added_ms_p50"].get(name)
        lines.append(f"| {name} | {'' if added is None else f'{added:.0f} ms'} | " + " | ".join(cells) + " |")
    sizes = ", ".join(f"{g} {v['rankings'][names[0]]['n']}" for g, v in report["groups"].items())
    return "\n".join(lines) + f"\n\nQuestions: {sizes}.\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--render", action="store_true", help="only write the tables from the JSON")
    args = parser.parse_args()
    if args.render:
        report = json.loads(args.json.read_text(encoding="utf-8"))
    else:
        report = measure()
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    table = render(report)
    args.json.with_suffix(".md").write_text("# Rerankers compared\n\n" + table, encoding="utf-8")
    print(table)
    return 0


def measure() -> dict:
    config = load_config(None)
    retriever = pipeline.open_retriever(config, rerank=False)
    judge = pipeline.make_reranker(config)
    chunks = retriever.index.chunks
    # Every chunk's sentences, embedded once, as an index would store them.
    owner, texts = [], []
    for row, chunk in enumerate(chunks):
        for start, end in sentences(chunk.text):
            if chunk.text[start:end].strip():
                owner.append(row)
                texts.append(chunk.text[start:end].strip())
    vectors, rows = retriever.embedder.embed_passages(texts), np.array(owner)
    by_row = {row: vectors[rows == row] for row in range(len(chunks))}

    def by_sentences(fused, asked) -> list:
        head = fused[:DEPTH]
        best = [float((by_row[row] @ asked).max()) if len(by_row[row]) else 0.0 for row, _ in head]
        return fuse.rerank(head, best, SENTENCE_WEIGHT) + fused[DEPTH:]

    c = config.rerank
    added: dict[str, list[float]] = {"judge": [], "sentences": []}
    report: dict = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "judge": {"candidates": c.candidates, "weight": c.weight, "template": c.template},
        "sentences": {"depth": DEPTH, "weight": SENTENCE_WEIGHT},
        "groups": {},
    }
    for group, names in GROUPS.items():
        questions = [q for n in names for q in read_questions(ROOT / SETS[n]) if q.answerable and q.evidence]
        ranks: dict[str, list] = {k: [] for k in ("keyword", "dense", "fused", "judge", "sentences")}
        for i, q in enumerate(questions, 1):
            print(f"\r{group}: {i}/{len(questions)}", end="", file=sys.stderr, flush=True)
            stages = retriever.stages([q.question], rerank=False)[0]
            started = time.perf_counter()
            head = stages.fused[: c.candidates]
            scores = judge.score(q.question, [chunks[row].embed_text for row, _ in head])
            judged = fuse.rerank(head, scores, c.weight) + stages.fused[c.candidates :]
            added["judge"].append(1000 * (time.perf_counter() - started))
            started = time.perf_counter()
            sentenced = by_sentences(stages.fused, stages.vector)
            added["sentences"].append(1000 * (time.perf_counter() - started))
            rankings = {
                "keyword": stages.keyword,
                "dense": stages.dense,
                "fused": stages.fused,
                "judge": judged,
                "sentences": sentenced,
            }
            for name, ranking in rankings.items():
                ranks[name].append(first_hit_rank(q.evidence, [chunks[row].text for row, _ in ranking[:10]]))
        print(file=sys.stderr)
        report["groups"][group] = {"rankings": {name: figures(r) for name, r in ranks.items()}}
    report["added_ms_p50"] = {name: round(statistics.median(v), 1) for name, v in added.items()}
    return report


if __name__ == "__main__":
    raise SystemExit(main())
