"""How often does the text the model reads hold the gold answer, and what does reading more cost?

    .venv/bin/python scripts/reading_ceiling.py --json docs/results/reading-ceiling.json        # ~20 min
    .venv/bin/python scripts/reading_ceiling.py --json docs/results/reading-ceiling.json --render   # table only

The table goes to the JSON's name with .md (docs/results/reading-ceiling.md); no figure in it is typed by hand.

No reply can hold a gold answer its prompt does not: for each set's answerable questions this counts those whose
gold answer occurs in what the model reads (`Assistant.read`, titles included) at several passage budgets, and
in the top retrieved chunks whole. Then it times the prompt's prefill at each budget (time to the first token,
each budget over the same tuning questions, budgets forward then back, so machine drift falls on all alike).
Nothing is generated beyond one token, and no reply is scored: this is the ceiling the answer stage works under.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

from answer_report import ROOT, SETS, commit, machine

from rag import pipeline
from rag.cite import language
from rag.config import load_config
from rag.evaluate import normalize_text, read_questions, wilson
from rag.excerpt import header
from rag.prompts import asks_for_list, build_messages

BUDGETS = (40, 60, 90, 120)  # generate.passage_tokens tried; the default is 60
WHOLE = (1, 2, 3)  # the top this-many chunks, whole
TIMED = 12  # tuning questions whose prefill is timed at every budget


def held(text: str, answers: tuple[str, ...]) -> bool:
    normalized = normalize_text(text)
    return any(normalize_text(a) in normalized for a in answers)


def share(hits: int, n: int) -> dict:
    low, high = wilson(hits, n)
    return {"share": hits / n if n else 0.0, "hits": hits, "ci": [round(low, 3), round(high, 3)]}


def render(report: dict) -> str:
    """The Markdown table of a report: per set, the share of answerable questions whose gold answer is read."""
    keys = list(next(iter(report["sets"].values()))["held"])
    first = report["first_token"]
    lines = [
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `scripts/reading_ceiling.py`.",
        f"Share of answerable questions whose gold answer occurs in the text read (95% interval); `read@N` is "
        f"{report['passages']} passages sharing {report['passages']} x N tokens (default N = "
        f"{report['default_budget']}), `topK` the top K chunks whole.",
        "",
        "| set | answerable | " + " | ".join(keys) + " |",
        "|---|---|" + "---|" * len(keys),
    ]
    for name, figures in report["sets"].items():
        cells = [f"{h['share']:.3f} ({h['ci'][0]:.2f}-{h['ci'][1]:.2f})" for h in figures["held"].values()]
        lines.append(f"| {name} | {figures['answerable']} | " + " | ".join(cells) + " |")
    tokens = [str(round(next(iter(report["sets"].values()))["tokens_p50"][k])) for k in keys]
    lines.append(f"| tokens read p50 ({next(iter(report['sets']))}) | | " + " | ".join(tokens) + " |")
    cells = [f"{first[k]['p50_s']:.2f} s" if k in first else "" for k in keys]
    lines.append(
        f"| first token p50 ({report['first_token_questions']} tuning questions) | | " + " | ".join(cells) + " |"
    )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=["tuning", "tuning2", "validation", "validation2", "blind"])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--render", action="store_true", help="only write the table from the JSON")
    args = parser.parse_args()
    if args.render:
        args.json.with_suffix(".md").write_text(render(json.loads(args.json.read_text())))
        return 0
    config = load_config(None)
    assistant = pipeline.open_assistant(config)
    default = assistant.config
    count = assistant.generator.count_tokens
    report: dict = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "budgets": list(BUDGETS),
        "default_budget": default.passage_tokens,
        "passages": default.passages,
        "sets": {},
    }
    timed: list = []  # (query, lang, top, relevance) of the first tuning questions
    for name in args.sets:
        questions = [q for q in read_questions(ROOT / SETS[name]) if q.answerable and q.answers]
        found = {f"read@{b}": 0 for b in BUDGETS} | {f"top{k}": 0 for k in WHOLE}
        tokens: dict[str, list[int]] = {key: [] for key in found}
        for i, q in enumerate(questions, 1):
            print(f"\r{name}: {i}/{len(questions)}", end="", file=sys.stderr, flush=True)
            found = assistant.retrieve(q.question)
            hits, asked = found.hits, found.vector
            listing = asks_for_list(q.question)
            top = hits[: default.passages]  # lists read more passages: counted as ordinary questions here
            relevance = assistant.relevance(asked)
            for budget in BUDGETS:
                assistant.config = dataclasses.replace(default, passage_tokens=budget)
                read = "\n".join(f"{header(p)}\n{p.shown}" for p in assistant.read(top, relevance))
                found[f"read@{budget}"] += held(read, q.answers)
                tokens[f"read@{budget}"].append(count(read))
            assistant.config = default
            for k in WHOLE:
                whole = "\n".join(f"{h.chunk.section or h.chunk.title}\n{h.chunk.text}" for h in hits[:k])
                found[f"top{k}"] += held(whole, q.answers)
                tokens[f"top{k}"].append(count(whole))
            if name.startswith("tuning") and len(timed) < TIMED and not listing:
                timed.append((q.question, language(q.question), top, relevance))
        print(file=sys.stderr)
        report["sets"][name] = {
            "answerable": len(questions),
            "held": {key: share(n, len(questions)) for key, n in found.items()},
            "tokens_p50": {key: statistics.median(v) for key, v in tokens.items()},
        }
    prefill: dict[str, list[float]] = {f"read@{b}": [] for b in BUDGETS}
    prompt_tokens: dict[str, list[int]] = {key: [] for key in prefill}
    next(iter(assistant.generator.stream(build_messages("warm up", "en", []), 1)), None)
    # Budgets in turn, forward then back, each over all the questions: consecutive prompts are different questions,
    # sharing only the system prompt with the one before, as in use.
    for budget in (*BUDGETS, *reversed(BUDGETS)):
        assistant.config = dataclasses.replace(default, passage_tokens=budget)
        for query, lang, top, relevance in timed:
            messages = build_messages(query, lang, assistant.read(top, relevance))
            started = time.perf_counter()
            next(iter(assistant.generator.stream(messages, 1)), None)
            prefill[f"read@{budget}"].append(time.perf_counter() - started)
            prompt_tokens[f"read@{budget}"].append(count("\n".join(m["content"] for m in messages)))
    assistant.config = default
    report["first_token"] = {
        key: {"p50_s": round(statistics.median(v), 2), "prompt_tokens_p50": statistics.median(prompt_tokens[key])}
        for key, v in prefill.items()
        if v
    }
    report["first_token_questions"] = len(timed)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    args.json.with_suffix(".md").write_text(render(report))
    for name, figures in report["sets"].items():
        row = "  ".join(f"{k} {v['share']:.3f}" for k, v in figures["held"].items())
        print(f"{name} ({figures['answerable']}): {row}")
    print("first token p50:", {k: v["p50_s"] for k, v in report["first_token"].items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
