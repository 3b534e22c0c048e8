"""The two generator backends on the default model, side by side: load time, time to first token, tokens/s.

    python bench/generators.py                                   # 12 questions of eval/gold-tune.jsonl, both backends
    python bench/generators.py --questions 1 --json /tmp/g.json  # about 2 minutes (tests/test_bench.py)

Each backend answers the same questions through the whole assistant (retrieval, excerpts, citation checks,
quote), one at a time from a warm process, as the chat page asks them. Both read the same GGUF file:
llama-cpp-python runs its 4-bit kernels; transformers dequantizes it to float32 when it loads (needs the
`gguf` and `accelerate` packages). A wrapper around the generator times its own calls, so the figures
separate the model from the rest of the pipeline:

- load: building the model from the file, in seconds;
- first token: from the question to the first piece shown (the page's wait), and from the generator call
  to its first piece (prefill of the prompt alone);
- tokens/s: generated tokens after the first, over the time after the first (decoding alone);
- same answer: questions whose final checked answer is the same text under both backends.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("llama-cpp", "transformers")


@dataclasses.dataclass(frozen=True)
class Call:
    """One generator call: prompt and output length in tokens, time to its first piece and to its end."""

    prompt_tokens: int
    first_s: float
    total_s: float
    tokens: int


class TimedGenerator:
    """Passes every call through to the real generator and records a `Call` for it."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.calls: list[Call] = []

    @property
    def id(self) -> str:
        return self.inner.id

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def stream(self, messages: list, max_tokens: int) -> Iterator[str]:
        started, first, text = time.perf_counter(), None, ""
        for piece in self.inner.stream(messages, max_tokens):
            first = first or time.perf_counter()
            text += piece
            yield piece
        end = time.perf_counter()
        prompt = sum(self.inner.count_tokens(m["content"]) for m in messages)
        self.calls.append(Call(prompt, (first or end) - started, end - started, self.inner.count_tokens(text)))


def run_backend(backend: str, config: Any, retriever: Any, questions: list[str]) -> dict[str, Any]:
    """Loads `backend`'s generator, warms the assistant up on the first question, then times every question."""
    from measure import Latency, rss_mb

    from rag import pipeline
    from rag.evaluate import percentiles
    from rag.types import Answer

    config = dataclasses.replace(config, generate=dataclasses.replace(config.generate, backend=backend))
    assistant = pipeline.open_assistant(config, retriever=retriever)
    generator = assistant.generator = TimedGenerator(assistant.generator)
    started = time.perf_counter()
    generator.count_tokens("load")  # the model loads lazily
    load_s = time.perf_counter() - started
    assistant.ask(questions[0])  # loads the judge too, outside the timings
    generator.calls.clear()
    first, total, answers = [], [], []
    for question in questions:
        started, first_at = time.perf_counter(), None
        for event in assistant.stream(question):
            if isinstance(event, Answer):
                answers.append(event.text if event.answerable else "(declined)")
            else:
                first_at = first_at or time.perf_counter()
        end = time.perf_counter()
        first.append((first_at or end) - started)
        total.append(end - started)
    calls = generator.calls
    rates = [(c.tokens - 1) / (c.total_s - c.first_s) for c in calls if c.tokens > 1 and c.total_s > c.first_s]
    return {
        "backend": backend,
        "generator": generator.id,
        "load_s": round(load_s, 2),
        "rss_mb_after": round(rss_mb()),
        "first_token": dataclasses.asdict(Latency.of(first)),
        "answer": dataclasses.asdict(Latency.of(total)),
        "prefill": dataclasses.asdict(Latency.of([c.first_s for c in calls])),
        "prompt_tokens_p50": int(percentiles([c.prompt_tokens for c in calls])["p50"]),
        "tokens_per_s_p50": percentiles(rates)["p50"] if rates else None,
        "generated_tokens_p50": int(percentiles([c.tokens for c in calls])["p50"]),
        "answers": answers,
    }


def print_table(runs: list[dict[str, Any]]) -> None:
    rows = [
        ("load, s", lambda r: f"{r['load_s']:.1f}"),
        ("first token p50 / p95, ms (question to first piece)", lambda r: _p(r["first_token"])),
        ("prefill p50 / p95, ms (generator call to first piece)", lambda r: _p(r["prefill"])),
        ("prompt tokens p50", lambda r: str(r["prompt_tokens_p50"])),
        ("decoding, tokens/s p50", lambda r: str(r["tokens_per_s_p50"])),
        ("whole answer p50 / p95, ms", lambda r: _p(r["answer"])),
        ("tokens generated p50", lambda r: str(r["generated_tokens_p50"])),
        ("process RSS after, MB", lambda r: str(r["rss_mb_after"])),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'':{width}}  " + "  ".join(f"{r['backend']:>16}" for r in runs))
    for name, cell in rows:
        print(f"{name:{width}}  " + "  ".join(f"{cell(r):>16}" for r in runs))


def _p(latency: dict[str, float]) -> str:
    return f"{latency['p50_ms']:.0f} / {latency['p95_ms']:.0f}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--qa", type=Path, default=ROOT / "eval" / "gold-tune.jsonl", help="answerable questions come from here"
    )
    p.add_argument("--questions", type=int, default=12, help="how many (default 12)")
    p.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated (default both)")
    p.add_argument("--json", type=Path, default=ROOT / "docs" / "generators.json", help="where the figures go")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from measure import machine

    from rag import pipeline
    from rag.config import load_config
    from rag.errors import RagError
    from rag.evaluate import read_questions

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends or args.questions < 1:
        print(f"error: --backends takes {', '.join(BACKENDS)} and --questions at least 1", file=sys.stderr)
        return 2
    try:
        config = load_config()
        questions = [q.question for q in read_questions(args.qa) if q.answerable][: args.questions]
        retriever = pipeline.open_retriever(config)
        runs = []
        for backend in backends:
            print(f"{backend}: loading, then {len(questions)} questions", file=sys.stderr)
            runs.append(run_backend(backend, config, retriever, questions))
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    result: dict[str, Any] = {"machine": dataclasses.asdict(machine()), "qa": str(args.qa), "questions": questions}
    result["runs"] = runs
    if len(runs) == 2:
        result["same_answer"] = sum(a == b for a, b in zip(runs[0]["answers"], runs[1]["answers"], strict=True))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print_table(runs)
    if "same_answer" in result:
        print(f"same checked answer under both backends: {result['same_answer']} of {len(questions)}")
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
