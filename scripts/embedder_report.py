"""The default embedder in float32 against the same model in int8, in PyTorch and in ONNX Runtime, in one run.

    .venv/bin/python scripts/embedder_report.py      # writes docs/results/embedder.json and embedder.md

The four: `embed.quantize` "" or "int8", each with `embed.backend` "torch" or "onnx". Speed: passages per
second embedding the shipped corpus's chunks, and the p50 of one query, the models alternating three times
(machines here vary by 1.5x from run to run: read the ratios). Retrieval: the shipped
corpus indexed by each, then MRR@10 and hit@5 of the dense and the fused stage on the tuning, validation and
blind questions (the sets of scripts/rerank_report.py). The injection head (trained on float32 vectors): the
hostile tuning passages it finds and the hard benign ones it flags, given each model's vectors.
"""

from __future__ import annotations

import dataclasses
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

from answer_report import ROOT, SETS, commit, machine, write_results
from injection_report import read
from rerank_report import GROUPS

from rag import injection, store
from rag.build import update_index
from rag.chunk import chunk_document
from rag.config import EmbedConfig, load_config
from rag.embed import SentenceTransformerEmbedder
from rag.evaluate import read_questions, relevant_counts, score_rankings
from rag.load import load_corpus
from rag.search import Retriever

ROUNDS = 3
QUERIES = ["这期日报里哪些论文做视频生成？", "What does the weekly report say about Qwen3 embeddings?"] * 5


# The models compared, as the `embed` settings each changes.
MODELS = {
    "float32": {"backend": "torch", "quantize": ""},
    "int8": {"backend": "torch", "quantize": "int8"},
    "onnx": {"backend": "onnx", "quantize": ""},
    "onnx int8": {"backend": "onnx", "quantize": "int8"},
}


def make_embedders(config: EmbedConfig, names: list[str]) -> dict[str, SentenceTransformerEmbedder]:
    """The configured embedder as each of `names` (keys of MODELS) runs it."""
    return {name: SentenceTransformerEmbedder(dataclasses.replace(config, **MODELS[name])) for name in names}


def speed(embedders: dict[str, SentenceTransformerEmbedder], texts: list[str]) -> dict:
    """Passages per second and query p50 (ms) of each embedder, alternating `ROUNDS` times."""
    seconds: dict[str, list[float]] = {name: [] for name in embedders}
    query_ms: dict[str, list[float]] = {name: [] for name in embedders}
    for _ in range(ROUNDS):
        for name, embedder in embedders.items():
            started = time.perf_counter()
            embedder.embed_passages(texts)
            seconds[name].append(time.perf_counter() - started)
            for query in QUERIES:
                started = time.perf_counter()
                embedder.embed_queries([query])
                query_ms[name].append(1000 * (time.perf_counter() - started))
    return {
        name: {
            "passages_per_s": round(len(texts) / statistics.median(seconds[name]), 1),
            "query_p50_ms": round(statistics.median(query_ms[name]), 1),
        }
        for name in embedders
    }


def retrieval(embedder: SentenceTransformerEmbedder, config, documents) -> dict:
    """MRR@10 and hit@5 (with intervals) of the dense and fused stages per group, over an index built by it."""
    figures: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        update_index(Path(folder), documents, embedder, config.chunk, config.index.factory)
        retriever = Retriever(store.load(Path(folder)), embedder, config.search)
        chunks = retriever.index.chunks
        for group, names in GROUPS.items():
            questions = [q for n in names for q in read_questions(ROOT / SETS[n]) if q.answerable and q.evidence]
            stages = retriever.stages([q.question for q in questions], rerank=False)
            relevant = relevant_counts(questions, chunks)
            figures[group] = {"n": len(questions)}
            for stage in ("dense", "fused"):
                scored, _ = score_rankings(questions, [getattr(s, stage) for s in stages], chunks, relevant)
                figures[group][stage] = {k: scored["all"][k] for k in ("mrr@10", "mrr@10_ci", "hit@5", "hit@5_ci")}
    return figures


def injection_head(embedder: SentenceTransformerEmbedder) -> dict:
    """The float32-trained head alone on the hostile tuning passages (found) and hard benign ones (flagged)."""
    head = injection.Head.load(embedder.id)  # the float32 model's head, read by both
    assert head is not None, "no injection head for the default embedder"
    out = {}
    for name, key in (("tune-hostile.jsonl", "hostile_found"), ("tune-benign.jsonl", "benign_flagged")):
        texts = [row["text"] for row in read(ROOT / "eval" / "injection" / name)]
        learned = ["learned" in kinds for kinds in injection.detect(texts, head, embedder.embed_passages)]
        out[key] = [sum(learned), len(texts)]
    return out


def largest_change(report: dict, name: str) -> float:
    """The largest move of any MRR@10 or hit@5 (any group, either stage) of model `name` from float32's."""
    retrieval = report["retrieval"]
    return max(
        abs(retrieval[name][group][stage][k] - retrieval["float32"][group][stage][k])
        for group in retrieval["float32"]
        for stage in ("dense", "fused")
        for k in ("mrr@10", "hit@5")
    )


def render(report: dict) -> str:
    speed, retrieval = report["speed"], report["retrieval"]
    lines = [
        "# The embedder in float32 and int8, in PyTorch and ONNX Runtime",
        "",
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `scripts/embedder_report.py`: "
        'e5-small (the offline default) as it is and with its weights in int8 (`embed.quantize = "int8"`), run '
        'by PyTorch or by ONNX Runtime (`embed.backend = "onnx"`). Speed over the '
        f"{report['passages']} chunks of the shipped corpus, the models alternating {ROUNDS} times (medians); "
        "95% bootstrap intervals in brackets.",
        "",
        "| model | passages/s | against float32 | query p50 | largest move of MRR@10 or hit@5 |",
        "|---|---|---|---|---|",
    ]
    for name, f in speed.items():
        ratio = f["passages_per_s"] / speed["float32"]["passages_per_s"]
        moved = f"{largest_change(report, name):.3f}" if name != "float32" else "-"
        lines.append(f"| {name} | {f['passages_per_s']} | {ratio:.2f}x | {f['query_p50_ms']} ms | {moved} |")

    def ci(f: dict, k: str) -> str:
        low, high = f[f"{k}_ci"]
        return f"{f[k]:.3f} ({low:.2f}-{high:.2f})"

    for metric in ("mrr@10", "hit@5"):
        lines += ["", f"{metric.upper().replace('HIT', 'hit')} of the shipped corpus indexed by each model:", ""]
        lines += [f"| group | questions | stage | {' | '.join(retrieval)} |", "|---|---|---|" + "---|" * len(retrieval)]
        for group, f32 in retrieval["float32"].items():
            for stage in ("dense", "fused"):
                cells = " | ".join(ci(retrieval[name][group][stage], metric) for name in retrieval)
                lines.append(f"| {group} | {f32['n']} | {stage} | {cells} |")
    lines += ["", "The injection head, trained on float32 vectors, reading each model's vectors:", ""]
    lines += ["| model | hostile tuning passages found | hard benign tuning passages flagged |", "|---|---|---|"]
    for name, f in report["injection"].items():
        lines.append(f"| {name} | {f['hostile_found'][0]}/{f['hostile_found'][1]} | "
                     f"{f['benign_flagged'][0]}/{f['benign_flagged'][1]} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> int:
    config = load_config(None)
    documents, _ = load_corpus([Path(p) for p in config.corpus.paths])
    embedders = make_embedders(config.embed, list(MODELS))
    report: dict = {"date": datetime.date.today().isoformat(), "commit": commit(), "machine": machine()}
    report["retrieval"], report["injection"] = {}, {}
    for name, embedder in embedders.items():
        print(f"{name}: index, retrieval, injection head", file=sys.stderr)
        report["retrieval"][name] = retrieval(embedder, config, documents)
        report["injection"][name] = injection_head(embedder)
    texts = [c.embed_text for d in documents for c in chunk_document(d, config.chunk)]  # what an index embeds
    report["passages"] = len(texts)
    print("speed", file=sys.stderr)
    report["speed"] = speed(embedders, texts)
    write_results("embedder", report, render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
