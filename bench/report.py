"""The bench's outputs: rich tables on the terminal, and a PNG of cost against corpus size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

MB = 1e6


def _lat(latency: dict[str, Any] | None, stage: str) -> str:
    row = (latency or {}).get(stage)
    return f"{row['p50_ms']:.2f} / {row['p95_ms']:.2f}" if row else "-"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def corpora(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per corpus, shipped first, with the figures the tables and the plot share."""
    rows = []
    shipped = result.get("shipped")
    if shipped:
        index = shipped["index"]
        rows.append(
            {
                "name": "shipped (real e5)",
                "chunks": index["chunks"],
                "build_s": index["build"]["seconds"],
                "embed_s": index["build"]["parts"]["embed"],
                "embed_note": "measured",
                "unchanged_s": index["unchanged"]["seconds"],
                "digest_s": index["add_digest"]["seconds"],
                "digest_chunks": index["add_digest"]["embedded"],
                "load_s": index["stored"]["load_s"],
                "disk_bytes": index["stored"]["disk"]["total"],
                "peak_rss_mb": shipped["peak_rss_mb"]["after_index"],
                "latency": shipped["latency"],
                "dense_bound_ms": shipped["dense_bound_ms"],
            }
        )
    for run in result.get("synthetic", []):
        rows.append(
            {
                "name": f"synthetic {run['size']:,}",
                "chunks": run["chunks"],
                "build_s": run["build_est_s"],
                "embed_s": run["embed_extrapolated_s"],
                "embed_note": "extrapolated",
                "unchanged_s": run["unchanged"]["seconds"],
                "digest_s": run["add_digest_est_s"],
                "digest_chunks": run["digest_chunks"],
                "load_s": run["stored"]["load_s"],
                "disk_bytes": run["stored"]["disk"]["total"],
                "peak_rss_mb": run["peak_rss_mb"],
                "latency": run["latency"],
                "dense_bound_ms": run["dense_bound_ms"],
                "build_measured_s": run["build"]["seconds"] - run["build"]["parts"]["embed"],
            }
        )
    return rows


def print_report(result: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    m, lim = result["machine"], result["limits"]
    console.print(
        f"\n[bold]digest-rag bench[/bold] {m['date']}  {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, "
        f"Python {m['python']}, torch {m['torch']}, faiss {m['faiss']}; load average at start "
        f"{m['load_average'][0]:.2f}\nmeasured limits: memory copy {lim['bandwidth_gbs']} GB/s (read + write, one "
        f"thread), float32 matmul {lim['matmul_gflops']} GFLOP/s ({lim['torch_threads']} threads)"
    )
    rows = corpora(result)
    console.print(_build_table(rows))
    console.print(_search_table(rows))
    console.print(_approximate_table(result.get("synthetic", [])))
    if result.get("shipped"):
        console.print(_shipped_table(result["shipped"]))
    if result.get("baseline"):
        console.print(_baseline_table(result["baseline"]))
    console.print(_targets_table(result["targets"]))
    for note in result["notes"]:
        console.print(f"- {note}", style="dim")


def _build_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Index: build, update, load, size (seconds unless named)")
    columns = ("corpus", "chunks", "build", "of it embedding", "chunks/s", "unchanged", "+1 digest", "load", "disk MB")
    for column in (*columns, "peak RSS MB"):
        table.add_column(column, justify="right" if column != "corpus" else "left")
    for r in rows:
        embed = _num(r["embed_s"], 1) + (" (extrap.)" if r["embed_note"] == "extrapolated" else "")
        table.add_row(
            r["name"],
            f"{r['chunks']:,}",
            _num(r["build_s"], 1),
            embed,
            _num(r["chunks"] / r["build_s"] if r["build_s"] else None, 1),
            _num(r["unchanged_s"], 2),
            f"{_num(r['digest_s'], 1)} ({r['digest_chunks']} ch.)",
            _num(r["load_s"], 2),
            _num(r["disk_bytes"] / MB, 1),
            _num(r["peak_rss_mb"], 0),
        )
    return table


def _search_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Search latency per stage, ms p50 / p95 (warm process, one question at a time)")
    columns = ("corpus", "n", "embed query", "keyword", "dense", "dense bound", "fusion", "first stage", "rerank")
    for column in columns:
        table.add_column(column, justify="right" if column != "corpus" else "left")
    for r in rows:
        lat = r["latency"]
        synthetic = r["name"].startswith("synthetic")
        table.add_row(
            r["name"],
            str(lat["first_stage"]["n"]),
            "(stand-in)" if synthetic else _lat(lat, "embed_query"),
            _lat(lat, "keyword"),
            _lat(lat, "dense"),
            _num(r["dense_bound_ms"], 3),
            _lat(lat, "fusion"),
            _lat(lat, "first_stage") + (" *" if synthetic else ""),
            _lat(lat, "rerank"),
        )
    return table


def _approximate_table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="Approximate dense search (HNSW) against exact, synthetic corpora (random vectors: a floor)")
    for column in ("corpus", "factory", "build s", "efSearch", "recall@10", "search p50 / p95 ms", "exact p50 ms"):
        table.add_column(column, justify="right" if column != "corpus" else "left")
    for run in runs:
        for a in run.get("approximate", []):
            table.add_row(
                f"synthetic {run['size']:,}",
                a["factory"],
                _num(a["build_s"], 1),
                str(a["ef_search"]),
                _num(a["recall"], 3),
                f"{_num(a['latency']['p50_ms'])} / {_num(a['latency']['p95_ms'])}",
                _num(run["latency"]["dense"]["p50_ms"]),
            )
    return table


def _shipped_table(shipped: dict[str, Any]) -> Table:
    table = Table(title="Shipped corpus with the default models: measured against the physical bound")
    for column in ("figure", "measured", "bound or estimate", "how it is computed"):
        table.add_column(column)
    e = shipped["embedding"]
    table.add_row(
        "embedding, passages/s",
        _num(e["measured_passages_per_s"], 1),
        _num(e["bound"]["passages_per_s_bound"], 1),
        f"{e['bound']['gflop_per_passage']} GFLOP a passage ({e['bound']['tokens_per_passage']} tokens, "
        f"{e['bound']['params_non_embedding'] / 1e6:.1f}M non-embedding params) at the matmul rate",
    )
    table.add_row("embedder load, s", _num(shipped["embedder_load_s"], 2), "-", "")
    rss = shipped["peak_rss_mb"]
    table.add_row(
        "peak RSS MB (VmHWM)",
        " / ".join(f"{rss[k]:.0f}" for k in ("after_index", "after_search", "after_answers")),
        "-",
        "after indexing (e5) / after search (+ reranker) / after answers (+ generator)",
    )
    a = shipped.get("answers")
    if a:
        table.add_row(
            "first token, ms p50 / p95",
            f"{a['first_token']['p50_ms']:.0f} / {a['first_token']['p95_ms']:.0f}",
            _num(a["first_token_est_ms"], 0) + " (est.)",
            f"prefill of ~{a['prompt_tokens_est']} prompt tokens, 2 FLOP/param/token at the fp32 matmul rate "
            "(an estimate: llama.cpp's int8 kernels can beat it)",
        )
        table.add_row(
            "whole answer, ms p50 / p95",
            f"{a['answer']['p50_ms']:.0f} / {a['answer']['p95_ms']:.0f}",
            _num(a["answer_bound_ms"], 0),
            f"estimate above + {a['pieces_p50']} tokens, each reading the whole model once at the copy bandwidth",
        )
        table.add_row("generator load, s", _num(a["generator_load_s"], 2), "-", f"{a['declined']} declined")
    return table


def _baseline_table(baseline: dict[str, Any]) -> Table:
    table = Table(title="Ours vs the usual pipeline (shipped corpus, same embedder, measured in one run)")
    columns = ("pipeline", "passages", "tokens/passage", ">512 tokens", "tokens embedded", "build s")
    columns = (*columns, "search p50 / p95 ms", "hit@5")
    for column in (*columns, "MRR@10"):
        table.add_column(column, justify="right" if column != "pipeline" else "left")
    for name, p in baseline["pipelines"].items():
        table.add_row(
            name,
            str(p["passages"]),
            _num(p["tokens_per_passage"], 0),
            f"{100 * p['truncated']:.0f}%",
            f"{p['tokens_embedded']:,}",
            _num(p["build_s"], 1),
            f"{p['search']['p50_ms']:.1f} / {p['search']['p95_ms']:.1f}" if p["search"] else "-",
            _num(p["hit@5"], 3),
            _num(p["mrr@10"], 3),
        )
    for name, ratios in baseline["ratios"].items():
        table.add_row(
            f"ratio {name}",
            "",
            "",
            "",
            "",
            _num(ratios.get("build_s"), 2),
            _num(ratios.get("search_p50"), 2),
            _num(ratios.get("hit@5"), 2),
            _num(ratios.get("mrr@10"), 2),
        )
    return table


def _targets_table(targets: list[dict[str, Any]]) -> Table:
    table = Table(title="Targets (issue: Benchmark)")
    for column in ("target", "measured", "limit", "met"):
        table.add_column(column)
    for t in targets:
        met = "[green]yes[/green]" if t["met"] else "[red]no[/red]"
        table.add_row(t["name"], f"{t['value']:.3g} {t['unit']}", f"{t['op']} {t['limit']:g} {t['unit']}", met)
    return table


def plot(result: dict[str, Any], path: Path) -> None:
    """Build time, search p50, index size and load time against chunks, log-log, with the bounds drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = corpora(result)
    synthetic = [r for r in rows if r["name"].startswith("synthetic")]
    shipped = [r for r in rows if not r["name"].startswith("synthetic")]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))

    def panel(ax, title: str, unit: str, series: dict[str, tuple[list[dict], Any]], style: dict[str, str]) -> None:
        for label, (data, value) in series.items():
            points = [(r["chunks"], value(r)) for r in data if value(r)]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, style.get(label, "o-"), label=label)
        ax.set(xscale="log", yscale="log", title=title, xlabel="chunks", ylabel=unit)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)

    rate = ((result.get("shipped") or {}).get("embedding") or {}).get("bound", {}).get("passages_per_s_bound")
    panel(
        axes[0][0],
        "index build",
        "seconds",
        {
            "synthetic, e5 embedding extrapolated": (synthetic, lambda r: r["build_s"]),
            "synthetic, measured without embedding": (synthetic, lambda r: r.get("build_measured_s")),
            "shipped, real e5": (shipped, lambda r: r["build_s"]),
            "e5 FLOP bound alone": (rows, lambda r: r["chunks"] / rate if rate else None),
        },
        {"synthetic, measured without embedding": "s--", "shipped, real e5": "k*", "e5 FLOP bound alone": "k:"},
    )
    panel(
        axes[0][1],
        "search p50 (warm)",
        "ms",
        {
            "first stage, real query embedding": (shipped, lambda r: r["latency"]["first_stage"]["p50_ms"]),
            "first stage without query embedding": (synthetic, lambda r: r["latency"]["first_stage"]["p50_ms"]),
            "keyword (BM25)": (rows, lambda r: r["latency"]["keyword"]["p50_ms"]),
            "dense (FAISS flat)": (rows, lambda r: r["latency"]["dense"]["p50_ms"]),
            "dense bound: N*d*4 bytes / bandwidth": (rows, lambda r: r["dense_bound_ms"]),
        },
        {"first stage, real query embedding": "k*", "dense bound: N*d*4 bytes / bandwidth": "k:"},
    )
    panel(
        axes[1][0],
        "index size on disk",
        "MB",
        {
            "all files": (rows, lambda r: r["disk_bytes"] / MB),
            "vectors alone: N*d*4 bytes": (rows, lambda r: r["chunks"] * 384 * 4 / MB),
        },
        {"vectors alone: N*d*4 bytes": "k:"},
    )
    panel(axes[1][1], "index load (rag.store.load)", "seconds", {"load": (rows, lambda r: r["load_s"])}, {})
    fig.suptitle(f"digest-rag bench {result['machine']['date']}, {result['machine']['cpus']} CPUs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
