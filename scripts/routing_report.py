"""How well questions about a whole daily report are told from the others (rag/cards.py), per question set.

    .venv/bin/python scripts/routing_report.py            # writes docs/results/routing.json and routing.md

The sets are eval/digest/routing.jsonl (read while the rule was written: tuning) and routing-heldout.jsonl
(written by a helper who saw neither code nor results, committed before it was measured). A question's expected
route is "count" or "summary" when it asks about a whole daily report with no topic, else "" (retrieval).
No model runs: the route reads the shipped index's paper cards.
"""

from __future__ import annotations

import datetime
import json

from answer_report import ROOT, commit, machine

from rag import cards, pipeline
from rag.config import load_config
from rag.evaluate import wilson

SETS = {"tuning": "eval/digest/routing.jsonl", "held-out": "eval/digest/routing-heldout.jsonl"}
RESULTS = ROOT / "docs" / "results"


def expected(row: dict) -> str:
    """The route a question should take (both sets' labels, read as rag/cards.py's routes)."""
    if row["route"] not in ("count", "summary"):
        return ""
    about_topic = bool(row.get("topic")) or row.get("digest") == "weekly"
    return "" if about_topic else row["route"]


def render(report: dict) -> str:
    lines = [
        "# Questions about a whole daily report",
        "",
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `scripts/routing_report.py`; "
        "95% Wilson intervals. `count`/`summary`: questions about a whole daily report, answered from its paper "
        "cards; `other`: everything else (topics, one paper, the weekly), which must go to retrieval.",
        "",
        "| set | questions | routed right | count | summary | other |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in report["sets"].items():
        per = " | ".join(f"{f[k]['right']}/{f[k]['n']}" for k in ("count", "summary", "other"))
        lo, hi = f["ci"]
        lines.append(f"| {name} | {f['n']} | {f['right'] / f['n']:.3f} ({lo:.2f}-{hi:.2f}) | {per} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    retriever = pipeline.open_retriever(load_config(None), rerank=False)
    report: dict = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "sets": {},
    }
    for name, path in SETS.items():
        rows = [json.loads(line) for line in (ROOT / path).read_text(encoding="utf-8").splitlines() if line]
        figures: dict = {k: {"right": 0, "n": 0} for k in ("count", "summary", "other")}
        for row in rows:
            want = expected(row)
            got = cards.route(row["question"], retriever.topics)
            figures[want or "other"]["n"] += 1
            figures[want or "other"]["right"] += got == want
        right = sum(f["right"] for f in figures.values())
        report["sets"][name] = {"n": len(rows), "right": right, "ci": list(wilson(right, len(rows))), **figures}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "routing.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (RESULTS / "routing.md").write_text(render(report), encoding="utf-8")
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
