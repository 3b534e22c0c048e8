"""How well questions about the daily reports as a whole are answered from their paper cards (rag/cards.py).

    .venv/bin/python scripts/digest_report.py          # writes docs/results/digest.json and digest.md

Three measures, each on a tuning set (read while the rules were written) and a set only measured:
- whole report: is a question about a whole daily report (count or summary, no topic) told from the others?
  eval/digest/routing.jsonl (tuning) and routing-heldout.jsonl (written by a helper who saw neither code nor
  results, committed before it was measured);
- topics: the papers named for a topic ("哪些论文做视频生成？") against the exact papers of the set, on the shipped
  daily report: routing.jsonl's topic lists and counts (tuning) and topics-heldout.jsonl (validation). Beside
  them, how many of the right papers today's retrieval list mode could name at most (the papers of its passages);
- synthetic months: eval/digest/synthetic.jsonl over `python -m bench.digests` (seed 0), split into tuning
  and validation by pairs of ids: routing (to the cards or not), and the exact papers of date-scoped counts,
  lists and summaries, and of availability questions (which papers released code or weights).
Only the embedder runs (the topic matcher's nearest field item, and retrieval for the comparison).
"""

from __future__ import annotations

import datetime
import json
import sys
import tempfile
from pathlib import Path

from answer_report import ROOT, commit, machine, write_results

from rag import cards, pipeline
from rag.chunk import chunk_document
from rag.config import load_config
from rag.evaluate import wilson
from rag.excerpt import one_per_paper
from rag.load import load_corpus

DIGEST = ROOT / "eval" / "digest"


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DIGEST / name).read_text(encoding="utf-8").splitlines() if line]


def whole_report(question: str, made: list[cards.Card], topics: cards.Topics, names: set[str]) -> str:
    """ "count" or "summary" when the question is about a whole daily report, else ""."""
    found = cards.find(question, made, topics, names)
    asked = found.asked if found else None
    return asked.kind if asked and not asked.topic and asked.kind in ("count", "summary") else ""


def expected(row: dict) -> str:
    """The whole-report route a routing-set question should take ("" for topics, one paper, the weekly)."""
    if row["route"] not in ("count", "summary"):
        return ""
    return "" if row.get("topic") or row.get("digest") == "weekly" else row["route"]


def routing(questions: list[dict], topics: cards.Topics, names: set[str]) -> dict:
    figures: dict = {k: {"right": 0, "n": 0} for k in ("count", "summary", "other")}
    for row in questions:
        want = expected(row)
        figures[want or "other"]["n"] += 1
        figures[want or "other"]["right"] += whole_report(row["question"], topics.cards, topics, names) == want
    right = sum(f["right"] for f in figures.values())
    return {"n": len(questions), "right": right, "ci": list(wilson(right, len(questions))), **figures}


def named(question: str, made: list[cards.Card], topics: cards.Topics, names: set[str]) -> set[str] | None:
    """The titles the cards answer with, or None when the question is not routed to them."""
    found = cards.find(question, made, topics, names)
    return None if found is None else {c.title for c in found.papers}


def papers(questions: list[dict], answer) -> dict:
    """Routed, recall, extra (the share of named papers that are wrong) and exact answers, over the questions."""
    routed = found = wrong = missed = exact = none = none_right = 0
    for row in questions:
        got = answer(row["question"])
        gold = set(row["papers"])
        if got is not None:
            routed += 1
        got = got or set()
        found, wrong, missed = found + len(got & gold), wrong + len(got - gold), missed + len(gold - got)
        exact += got == gold
        none, none_right = none + (not gold), none_right + (not gold and not got)
    n = len(questions)
    return {
        "n": n,
        "routed": routed,
        "recall": round(found / max(1, found + missed), 3),
        "extra": round(wrong / max(1, found + wrong), 3),
        "exact": exact,
        "exact_ci": list(wilson(exact, n)),
        "none": none,
        "none_right": none_right,
    }


def list_mode_ceiling(questions: list[dict], retriever, passages: int) -> float:
    """The share of the right papers among those of retrieval's list mode passages (what it could name)."""
    found = total = 0
    for row in questions:
        hits = retriever.hits(retriever.stages([row["question"]])[0].final(), 50)
        shown = {hit.chunk.section for hit in one_per_paper(hits, passages)}
        found, total = found + len(shown & set(row["papers"])), total + len(row["papers"])
    return round(found / max(1, total), 3)


def synthetic(embed) -> dict:
    """Routing and exact papers on the synthetic months, per half."""
    from bench import digests  # the repository's root is on sys.path (main)

    with tempfile.TemporaryDirectory() as folder:
        digests.generate(Path(folder))
        documents, _ = load_corpus([Path(folder)])
    chunk_config = load_config(None).chunk
    made = cards.build([c for d in documents for c in chunk_document(d, chunk_config)])
    topics, names = cards.Topics(made, embed), cards.paper_names(made)
    report = {"papers": len(made), "reports": len({c.date for c in made})}
    for half in ("tuning", "validation"):
        chosen = [r for r in rows("synthetic.jsonl") if ((int(r["id"][1:]) - 1) // 2) % 2 == (half == "validation")]
        right = sum((cards.asked(r["question"], names) is None) == (r["route"] == "other") for r in chosen)
        scoped = [r for r in chosen if r["route"] in ("count", "list", "summary")]
        released = [r for r in chosen if r["route"] == "availability"]
        report[half] = {
            "routing": {"n": len(chosen), "right": right, "ci": list(wilson(right, len(chosen)))},
            "papers": papers(scoped, lambda q: named(q, made, topics, names)),
            "availability": papers(released, lambda q: named(q, made, topics, names)),
        }
    return report


def render(report: dict) -> str:
    def ci(pair: list[float]) -> str:
        return f"{pair[0]:.2f}-{pair[1]:.2f}"

    lines = [
        "# Questions about the daily reports as a whole",
        "",
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `scripts/digest_report.py`; "
        "95% Wilson intervals in brackets. Answered from the paper cards (rag/cards.py), nothing generated.",
        "",
        "**Whole report** (a count or summary of a whole daily report, no topic; `other` must go elsewhere):",
        "",
        "| set | questions | routed right | count | summary | other |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in report["routing"].items():
        per = " | ".join(f"{f[k]['right']}/{f[k]['n']}" for k in ("count", "summary", "other"))
        lines.append(f"| {name} | {f['n']} | {f['right'] / f['n']:.3f} ({ci(f['ci'])}) | {per} |")
    lines += [
        "",
        "**Topics** in the shipped daily report (recall: right papers named; extra: named papers that are wrong; "
        "none: topics no paper has, answered with none; list mode: the right papers among the passages retrieval's "
        "list mode reads, its most):",
        "",
        "| set | questions | routed to cards | recall | extra | exact | none | list mode could name |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, f in report["topics"].items():
        lines.append(
            f"| {name} | {f['n']} | {f['routed']} | {f['recall']:.3f} | {f['extra']:.3f} | "
            f"{f['exact']}/{f['n']} ({ci(f['exact_ci'])}) | {f['none_right']}/{f['none']} | {f['list_mode']:.3f} |"
        )
    a = report["availability"]
    lines += [
        "",
        f"**Code and weights** in the shipped report (which papers released them, or only promise them; tuning, "
        f"{a['n']} questions): recall {a['recall']:.3f}, extra {a['extra']:.3f}, exact {a['exact']}/{a['n']}.",
    ]
    s = report["synthetic"]
    lines += [
        "",
        f"**Synthetic months** ({s['reports']} daily reports, {s['papers']} papers; date-scoped counts, lists and "
        "summaries, with or without a field):",
        "",
        "| half | questions | routed right | scoped questions | recall | extra | exact | availability exact |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for half in ("tuning", "validation"):
        r, p, a = s[half]["routing"], s[half]["papers"], s[half]["availability"]
        lines.append(
            f"| {half} | {r['n']} | {r['right']}/{r['n']} ({ci(r['ci'])}) | {p['n']} | {p['recall']:.3f} | "
            f"{p['extra']:.3f} | {p['exact']}/{p['n']} ({ci(p['exact_ci'])}) | {a['exact']}/{a['n']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    config = load_config(None)
    retriever = pipeline.open_retriever(config, rerank=False)
    names = retriever.paper_names
    report: dict = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "routing": {
            "tuning": routing(rows("routing.jsonl"), retriever.topics, names),
            "held-out": routing(rows("routing-heldout.jsonl"), retriever.topics, names),
        },
        "topics": {},
    }
    tuning = [
        r for r in rows("routing.jsonl") if r["route"] in ("list", "count") and r["papers"] and r["topic"]
        and r["digest"] != "weekly"
    ]  # fmt: skip
    released = [r for r in rows("routing.jsonl") if r["route"] == "availability"]
    report["availability"] = papers(released, lambda q: named(q, retriever.cards, retriever.topics, names))
    for name, questions in (("tuning", tuning), ("validation", rows("topics-heldout.jsonl"))):
        figures = papers(questions, lambda q: named(q, retriever.cards, retriever.topics, names))
        figures["list_mode"] = list_mode_ceiling(questions, retriever, config.generate.list_passages)
        report["topics"][name] = figures
    report["synthetic"] = synthetic(retriever.embedder.embed_queries)
    write_results("digest", report, render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
