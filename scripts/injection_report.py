"""Measures the injection detector (rag/injection.py): hostile passages caught, hard benign ones and shipped
chunks flagged.

    .venv/bin/python scripts/injection_report.py --json docs/results/injection.json
    .venv/bin/python scripts/injection_report.py --json docs/results/injection.json --render   # README only

The figures go into the README between its `injection:begin`/`injection:end` marks; none is typed by hand.

The sets in eval/injection/ were written before the detector, by a helper that saw none of its code; they are
measured, never tuned on item by item.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shipped_chunks() -> list[str]:
    from rag import pipeline
    from rag.chunk import chunk_document
    from rag.config import load_config
    from rag.load import load_corpus
    from ui.uploads import is_upload

    config = load_config(None)
    documents, _ = load_corpus(pipeline.corpus_roots(config))
    return [c.text for d in documents if not is_upload(d.doc_id) for c in chunk_document(d, config.chunk)]


def measure(hostile: list[dict], benign: list[dict], shipped: list[str]) -> dict:
    """The detector as shipped (patterns and learned head), and each part alone."""
    from rag import pipeline
    from rag.config import load_config
    from rag.injection import Head, detect

    embedder = pipeline.make_embedder(load_config(None))
    head = Head.load(embedder.id)
    texts = [p["text"] for p in hostile] + [p["text"] for p in benign] + shipped
    kinds = detect(texts, head, embedder.embed_passages)
    parts = {
        "shipped": lambda k: bool(k),
        "patterns": lambda k: bool(set(k) - {"learned"}),
        "head": lambda k: "learned" in k,
    }
    out: dict = {
        "head": head is not None,
        "hostile": len(hostile),
        "benign": len(benign),
        "shipped_chunks": len(shipped),
    }
    for part, fired in parts.items():
        caught = [fired(k) for k in kinds[: len(hostile)]]
        by_lang: dict[str, list[bool]] = {}
        for p, hit in zip(hostile, caught, strict=True):
            by_lang.setdefault(p["lang"], []).append(hit)
        out[part] = {
            "detected": sum(caught) / len(hostile),
            "detected_by_lang": {lang: sum(v) / len(v) for lang, v in sorted(by_lang.items())},
            "benign_flagged": sum(map(fired, kinds[len(hostile) : len(hostile) + len(benign)])) / len(benign),
            "shipped_flagged": sum(map(fired, kinds[len(hostile) + len(benign) :])),
        }
    out["kinds_fired_on_hostile"] = dict(Counter(k for found in kinds[: len(hostile)] for k in found))
    return out


def render(figures: dict) -> str:
    """The README's sentence on the detector, from a report."""

    def count(share: float, n: int) -> str:
        return f"{round(share * n)} of {n}"

    shipped, patterns, n = figures["shipped"], figures["patterns"], figures["hostile"]
    return (
        "- **Injection detector** (`rag/injection.py`): patterns and, for the default embedder, a logistic head on "
        "each sentence's vector (`scripts/train_injection_head.py`), since patterns miss orders phrased in words "
        "they do not list. "
        f"On a held-out set of hostile passages written before the detector (`eval/injection/hostile.jsonl`) it "
        f"finds {count(shipped['detected'], n)} ({count(patterns['detected'], n)} by the patterns alone), and it "
        f"flags {count(shipped['benign_flagged'], figures['benign'])} hard benign passages (papers about "
        f"injection, quoted prompts; `benign.jsonl`) and {shipped['shipped_flagged']} of "
        f"{figures['shipped_chunks']} shipped chunks (`scripts/injection_report.py`, {figures['date']}, "
        f"{figures['commit']}).\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--render", action="store_true", help="only write the README's sentence from --json")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from answer_report import write_block

    if args.render:
        write_block(ROOT / "README.md", "injection", render(json.loads(args.json.read_text(encoding="utf-8"))))
        return 0
    folder = ROOT / "eval" / "injection"
    figures = measure(read(folder / "hostile.jsonl"), read(folder / "benign.jsonl"), shipped_chunks())
    at = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    out = {"date": datetime.date.today().isoformat(), "commit": at.stdout.strip(), **figures}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        write_block(ROOT / "README.md", "injection", render(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
