"""Faster embedding on one machine, in one run: the embedder in float32 and int8, and builds spread over workers.

    .venv/bin/python bench/scale_out.py      # writes docs/results/scale-out.json and scale-out.md (~12 min)
    .venv/bin/python bench/scale_out.py --render     # only the tables and the README's lines, from the JSON

Passages/s: the shipped corpus's chunks embedded by the default e5 in float32, in int8 (`embed.quantize`) in
PyTorch and in ONNX Runtime (`embed.backend = "onnx"`), and by two local processes of each (`rag index
--workers 2`, pool started and warm), alternating three times (medians; machines here vary by 1.5x from run
to run, so read the ratios). Builds: `rag index --rebuild` of the shipped corpus as a user runs it (a new
process: model loading, the injection check, embedding and writing), plain, with `--workers 2`, and with
`--ray --workers 2` (a Ray started for the build); the three indexes are checked to hold the same chunks.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from answer_report import RESULTS, commit, machine, write_block, write_results  # noqa: E402
from embedder_report import make_embedders, speed  # noqa: E402

from rag import backfill, store  # noqa: E402
from rag.chunk import chunk_document  # noqa: E402
from rag.config import load_config  # noqa: E402
from rag.load import load_corpus  # noqa: E402

BUILDS = {"plain": [], "--workers 2": ["--workers", "2"], "--ray --workers 2": ["--ray", "--workers", "2"]}


def passages_per_s(embedders: dict, texts: list[str]) -> dict[str, float]:
    for embedder in embedders.values():
        embedder.embed_passages(texts[:4])  # loads the model (in each worker, for the pools)
    return {name: figures["passages_per_s"] for name, figures in speed(embedders, texts).items()}


def builds(workdir: Path) -> dict[str, dict]:
    out, chunk_ids = {}, {}
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    for name, args in BUILDS.items():
        index_dir = workdir / name.replace(" ", "").replace("-", "_")
        started = time.perf_counter()
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "rag"), "index", "--rebuild", *args],
            env={**env, "RAG_INDEX__DIR": str(index_dir), "HF_HUB_OFFLINE": "1"},
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        out[name] = {"seconds": round(time.perf_counter() - started, 1)}
        chunk_ids[name] = [c.chunk_id for c in store.load(index_dir).chunks]
        out[name]["chunks"] = len(chunk_ids[name])
    if len({tuple(ids) for ids in chunk_ids.values()}) != 1:
        raise SystemExit("the builds hold different chunks")
    return out


def render(report: dict) -> str:
    speed, built = report["passages_per_s"], report["builds"]
    lines = [
        "# Scaling out on one machine",
        "",
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `bench/scale_out.py`, over the "
        f"{report['passages']} chunks of the shipped corpus. Ratios are within this run.",
        "",
        "| embedder | passages/s | against float32 |",
        "|---|---|---|",
    ]
    for name, rate in speed.items():
        lines.append(f"| {name} | {rate} | {rate / speed['float32']:.2f}x |")
    lines += [
        "",
        "`rag index --rebuild` of the shipped corpus, a new process each (loading the models, the injection "
        "check, embedding, writing):",
        "",
        "| build | seconds | against plain |",
        "|---|---|---|",
    ]
    for name, f in built.items():
        lines.append(f"| `{name}` | {f['seconds']} | {f['seconds'] / built['plain']['seconds']:.2f}x |")
    return "\n".join(lines) + "\n"


def summary(report: dict, recall: dict, parity: dict) -> str:
    """The README's lines on scaling out: this run's ratios, and the Milvus parity and HNSW recall results."""
    speed, built = report["passages_per_s"], report["builds"]
    hnsw = next(a for a in recall["approximate"] if a["factory"] == "HNSW32" and a["value"] == 256)
    fastest = max(speed, key=speed.get)
    return (
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `bench/scale_out.py`: the "
        f"fastest embedder ({fastest}) embeds {speed[fastest] / speed['float32']:.2f}x float32's passages/s; "
        "rebuilding the shipped corpus takes "
        f"{built['--workers 2']['seconds'] / built['plain']['seconds']:.2f}x the plain time with `--workers 2`, "
        f"{built['--ray --workers 2']['seconds'] / built['plain']['seconds']:.2f}x with `--ray`. Milvus Lite "
        f"gives FAISS's top 10 for {parity['stages']['fused']['same_order']}/{parity['questions']} questions; "
        f"HNSW32 recall@10 is {hnsw['recall']:.3f} at efSearch 256 on {recall['passages']:,} e5 vectors.\n"
    )


def readme_summary(report: dict) -> str:
    def read(name: str) -> dict:
        return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))

    return summary(report, read("recall"), read("store-parity"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render", action="store_true", help="only write the tables from scale-out.json")
    if parser.parse_args(argv).render:
        report = json.loads((RESULTS / "scale-out.json").read_text(encoding="utf-8"))
    else:
        report = measure()
    write_results("scale-out", report, render)
    write_block(ROOT / "README.md", "scale-out", readme_summary(report))
    return 0


def measure() -> dict:
    config = load_config(None)
    documents, _ = load_corpus([Path(p) for p in config.corpus.paths])
    texts = [c.embed_text for d in documents for c in chunk_document(d, config.chunk)]  # what an index embeds
    report: dict = {"date": datetime.date.today().isoformat(), "commit": commit(), "machine": machine()}
    report["passages"] = len(texts)
    embedders: dict = make_embedders(config.embed, ["float32", "int8", "onnx int8"])
    print("passages/s", file=sys.stderr)
    with contextlib.ExitStack() as pools:
        for name in list(embedders):
            embedders[f"{name}, 2 processes"] = pools.enter_context(backfill.spread(embedders[name], workers=2))
        report["passages_per_s"] = passages_per_s(embedders, texts)
    print("builds", file=sys.stderr)
    with tempfile.TemporaryDirectory() as workdir:
        report["builds"] = builds(Path(workdir))
    return report


if __name__ == "__main__":
    raise SystemExit(main())
