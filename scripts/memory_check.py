"""Does answering leak? Asks the assistant the same questions over and over in one process, no server.

Prints the process's resident memory (VmRSS) and the Python heap (tracemalloc) every 10 answers, and the
lines whose Python allocations grew most. A leak per request grows both without end; buffers that grow to
the largest prompt seen (llama.cpp, torch) level off once every question has been asked once.

    python scripts/memory_check.py --questions eval/gold-tune.jsonl --asks 120
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load_test import status_mb  # noqa: E402  (scripts/ is on sys.path when this script runs)


def rss_mb() -> float:
    return status_mb(os.getpid(), "VmRSS")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--questions", type=Path, default=ROOT / "eval" / "gold-tune.jsonl", help="JSON lines with 'question'"
    )
    p.add_argument("--asks", type=int, default=120, help="answers to ask for, cycling through the questions")
    p.add_argument("--config", type=Path, help="a configuration file (default: the offline profile)")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from rag.config import load_config
    from rag.evaluate import read_questions
    from rag.pipeline import open_assistant

    questions = [q.question for q in read_questions(args.questions)]
    assistant = open_assistant(load_config(args.config))
    assistant.ask(questions[0])  # models load and warm up
    gc.collect()
    tracemalloc.start()
    before, start = tracemalloc.take_snapshot(), rss_mb()
    print(f"{len(questions)} distinct questions; RSS after the first answer {start:.0f} MB")
    for i in range(args.asks):
        assistant.ask(questions[i % len(questions)])
        if i % 10 == 9:
            gc.collect()
            heap, now = tracemalloc.get_traced_memory()[0] / 2**20, rss_mb()
            print(f"{i + 1:>5} answers  RSS {now:7.0f} MB ({now - start:+6.1f})  Python heap {heap:6.2f} MB")
    gc.collect()
    print("\nPython allocations that grew most:")
    for stat in tracemalloc.take_snapshot().compare_to(before, "lineno")[:5]:
        print(f"  {stat}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
