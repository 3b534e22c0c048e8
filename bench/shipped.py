"""The shipped corpus with the real default models: embedding throughput and its bound, accuracy, answer times."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from indexing import Stored, Update, stored, timed_update
from measure import Latency, Limits

from rag import pipeline, store
from rag.config import Config
from rag.embed import Embedder
from rag.evaluate import Question, relevant_counts, score_rankings
from rag.load import load_corpus, parse
from rag.search import Retriever
from rag.types import Document


def documents(corpus: Path, slice_chars: int = 0) -> list[Document]:
    """The corpus's digests; with `slice_chars`, only the first that many characters of each (for --quick)."""
    docs, problems = load_corpus([corpus])
    if problems:
        raise RuntimeError(f"cannot read the corpus: {problems}")
    if slice_chars:
        docs = [parse(d.text[:slice_chars], d.doc_id) for d in docs]
    return docs


@dataclass(frozen=True)
class IndexRuns:
    """Building and updating the shipped index with the real embedder.

    `remove_digest` drops the largest digest and `add_digest` puts it back: its chunks' vectors left the index
    with it, so they are embedded again, as for any new digest of that size.
    """

    documents: int
    chunks: int
    build: Update
    unchanged: Update
    remove_digest: Update
    add_digest: Update
    digest: str
    stored: Stored


def index_runs(index_dir: Path, docs: list[Document], embedder: Embedder) -> IndexRuns:
    build = timed_update(index_dir, docs, embedder, rebuild=True)
    unchanged = timed_update(index_dir, docs, embedder)
    largest = max(docs, key=lambda d: len(d.text))
    rest = [d for d in docs if d is not largest]
    removed = timed_update(index_dir, rest, embedder) if rest else unchanged
    added = timed_update(index_dir, docs, embedder)
    return IndexRuns(len(docs), build.chunks, build, unchanged, removed, added, largest.doc_id, stored(index_dir))


def accuracy(retriever: Retriever, gold: Sequence[Question], rerank: bool) -> dict[str, dict[str, float]]:
    """hit@k, MRR@10 and nDCG@10 of every stage over all answerable questions, scored as `rag eval` scores."""
    results = [retriever.stages([q.question], rerank=rerank)[0] for q in gold]
    relevant = relevant_counts(gold, retriever.index.chunks)
    report = {}
    for stage in ("keyword", "dense", "fused", "reranked"):
        rankings = [getattr(r, stage) for r in results]
        if not any(rankings):
            continue
        report[stage] = score_rankings(gold, rankings, retriever.index.chunks, relevant)[0]["all"]
    return report


@dataclass(frozen=True)
class EmbeddingBound:
    """What the embedder's arithmetic allows on this machine.

    FLOPs of one passage of T tokens: 2 * P * T for the weights (P non-embedding parameters, one multiply-add
    each per token) plus 4 * L * d * T^2 for attention scores and mixing; at `Limits.matmul_gflops` that
    gives the most passages a second the hardware could embed (padding and everything else are overhead).
    """

    params_total: int
    params_non_embedding: int
    layers: int
    hidden: int
    tokens_per_passage: float
    gflop_per_passage: float
    passages_per_s_bound: float


def passage_tokens(texts: Sequence[str], prompt: str = "passage: ") -> list[int]:
    """Tokens of each passage as the default e5 model reads it (its own tokenizer, specials included, not cut)."""
    from tokenizers import Tokenizer

    from rag.weights import ensure_e5_model

    tokenizer = Tokenizer.from_file(str(ensure_e5_model() / "tokenizer.json"))
    return [len(e.ids) for e in tokenizer.encode_batch([prompt + t for t in texts])]


def embedding_bound(embed_texts: Sequence[str], limits: Limits, max_tokens: int = 512) -> EmbeddingBound:
    """The bound for the offline default e5 model over `embed_texts`, each cut to `max_tokens` as the model does."""
    from safetensors import safe_open

    from rag.weights import ensure_e5_model

    folder = ensure_e5_model()
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    layers, hidden = int(config["num_hidden_layers"]), int(config["hidden_size"])
    total = non_embedding = 0
    with safe_open(folder / "model.safetensors", "np") as f:
        for name in f.keys():  # noqa: SIM118 (safe_open is not a dict)
            size = math.prod(f.get_slice(name).get_shape())
            total += size
            non_embedding += size if not name.startswith(("embeddings.", "pooler.")) else 0
    lengths = [min(n, max_tokens) for n in passage_tokens(embed_texts)]
    flops = [2 * non_embedding * n + 4 * layers * hidden * n * n for n in lengths]
    mean_flops = sum(flops) / len(flops)
    return EmbeddingBound(
        total,
        non_embedding,
        layers,
        hidden,
        round(sum(lengths) / len(lengths), 1),
        round(mean_flops / 1e9, 3),
        round(limits.matmul_gflops * 1e9 / mean_flops, 1),
    )


@dataclass(frozen=True)
class AnswerTimes:
    """Streaming answers from a warm process, one question at a time, as the chat page asks them.

    `answer_bound_ms - first_token_est_ms` is a bound: each generated token reads the whole quantized model
    once (model bytes / memory bandwidth). `first_token_est_ms` is an estimate, not a bound: prompt tokens
    * 2 * non-embedding parameters at the float32 matmul rate, while llama.cpp's 4-bit kernels multiply in
    int8 and can run faster.
    """

    generator_load_s: float
    first_token: Latency
    answer: Latency
    pieces_p50: float
    declined: int
    prompt_tokens_est: int
    first_token_est_ms: float | None
    answer_bound_ms: float | None


def answer_times(retriever: Retriever, questions: Sequence[str], limits: Limits) -> AnswerTimes:
    from rag.types import Answer

    config = Config()
    assistant = pipeline.open_assistant(config, retriever=retriever)
    started = time.perf_counter()
    assistant.generator.count_tokens("load")  # the model loads lazily
    load_s = time.perf_counter() - started
    # Warm up on a prompt of its own: llama.cpp would reuse the cached prompt of a timed question.
    "".join(assistant.generator.stream([{"role": "user", "content": "Say hello."}], 4))
    first, total, pieces, declined = [], [], [], 0
    for question in questions:
        started, first_at, count = time.perf_counter(), None, 0
        for event in assistant.stream(question):
            if isinstance(event, Answer):
                declined += not event.answerable
            else:
                first_at = first_at or time.perf_counter()
                count += 1
        end = time.perf_counter()
        first.append((first_at or end) - started)
        total.append(end - started)
        pieces.append(count)
    g = config.generate
    prompt = g.passages * (g.passage_tokens + 20) + 120  # excerpts, their headers, instructions and question
    first_bound, answer_bound = _generator_bounds(assistant.generator, prompt, sorted(pieces)[len(pieces) // 2], limits)
    return AnswerTimes(
        round(load_s, 3),
        Latency.of(first),
        Latency.of(total),
        sorted(pieces)[len(pieces) // 2],
        declined,
        prompt,
        first_bound,
        answer_bound,
    )


def _generator_bounds(generator, prompt_tokens: int, pieces: int, limits: Limits) -> tuple[float | None, float | None]:
    """(first token, whole answer) bounds in ms for the llama.cpp default; None for another backend."""
    llm = getattr(generator, "_llm", None)  # llama_cpp.Llama once loaded; llama.cpp counts its parameters
    if llm is None or not hasattr(llm, "_model"):
        return None, None
    # The GGUF stores the token embedding and the output matrix apart; prefill computes logits only once.
    non_embedding = llm._model.n_params() - 2 * llm.n_vocab() * llm.n_embd()
    prefill_s = prompt_tokens * 2 * non_embedding / (limits.matmul_gflops * 1e9)
    decode_s = pieces * llm._model.size() / (limits.bandwidth_gbs * 1e9)
    return round(1000 * prefill_s, 1), round(1000 * (prefill_s + decode_s), 1)


def open_retriever(index_dir: Path, embedder: Embedder, rerank: bool) -> Retriever:
    """The pipeline's retriever over `index_dir`, sharing the already loaded embedder."""
    config = Config()
    reranker = pipeline.make_reranker(config) if rerank else None
    return Retriever(store.load(index_dir), embedder, config.search, reranker, config.rerank)
