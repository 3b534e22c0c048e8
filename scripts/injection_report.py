"""Measures the injection detector (rag/injection.py): hostile passages caught, hard benign ones and shipped
chunks flagged.

    .venv/bin/python scripts/injection_report.py --json docs/results/injection.json

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    folder = ROOT / "eval" / "injection"
    figures = measure(read(folder / "hostile.jsonl"), read(folder / "benign.jsonl"), shipped_chunks())
    at = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    out = {"date": datetime.date.today().isoformat(), "commit": at.stdout.strip(), **figures}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
