"""The `rag` command: build the index, search it, answer questions, serve the chat page, measure."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.config import Config, load_config
from rag.errors import InputError, RagError

if TYPE_CHECKING:
    from rag.answer import Assistant

# Nothing the project runs may reach a model hub; users of the full-size profile can set these to 0.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Options that `rag search` and `rag ask` share.
JsonLines = Annotated[bool, typer.Option("--json", help="One JSON line per question.")]
QuestionsFile = Annotated[
    Path | None, typer.Option("--questions", help="JSONL file with an id and a question per line.")
]
RerankFlag = Annotated[
    bool | None,
    typer.Option(
        "--rerank/--no-rerank",
        help="Rerank the fused hits with the LLM judge. Off by default (search.rerank, answer.rerank): offline it "
        "did not lift MRR@10 on held-out questions and costs about 6 s (docs/results/rerank.md).",
    ),
]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Ask questions across AI-news digests.")
state: dict[str, Config] = {}


def config() -> Config:
    return state["config"]


@app.callback()
def main(
    config_file: Annotated[
        Path | None, typer.Option("--config", help="TOML file overriding the defaults, e.g. configs/full.toml.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    state["config"] = load_config(config_file)


@app.command()
def index(
    corpus: Annotated[
        list[Path] | None, typer.Option("--corpus", help="Another folder (or file) of digests; repeatable.")
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start from scratch instead of updating.")] = False,
    workers: Annotated[
        int, typer.Option("--workers", help="Embed in this many processes (Ray actors with --ray), each with a model.")
    ] = 1,
    ray: Annotated[
        bool, typer.Option("--ray", help="Embed with Ray Data: on the cluster RAY_ADDRESS names, else a local one.")
    ] = False,
) -> None:
    """Build the index, or update it with new, changed and deleted digests."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from rag import backfill, pipeline
    from rag.build import update_index
    from rag.load import load_corpus

    cfg = config()
    started = time.perf_counter()
    documents, problems = load_corpus(pipeline.corpus_roots(cfg, corpus))
    for problem in problems:
        typer.secho(f"skipped {problem.path}: {problem.reason}", fg="yellow", err=True)
    columns = (TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"))
    with (
        backfill.spread(pipeline.make_embedder(cfg), workers, ray) as embedder,
        Progress(*columns, TimeRemainingColumn(), transient=True) as bar,
    ):
        task = bar.add_task("embed", total=None, rate="")

        def progress(done: int, total: int) -> None:
            rate = done / max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=done, total=total, rate=f"{rate:.1f} chunks/s")

        report = update_index(
            pipeline.index_dir(cfg),
            documents,
            embedder,
            cfg.chunk,
            factory=cfg.index.factory,
            rebuild=rebuild,
            progress=progress,
            dense=cfg.store,
        )
    elapsed = time.perf_counter() - started
    where = pipeline.index_dir(cfg)
    if not report.written:
        typer.echo(
            f"index in {where}/ is up to date: {report.unchanged} digests, {report.chunks} chunks ({elapsed:.1f} s)"
        )
        return
    typer.echo(
        f"indexed {len(documents)} digests into {where}/: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged; "
        f"{report.chunks} chunks, {report.embedded} embedded ({elapsed:.1f} s)"
    )


def _rows(question: str | None, questions: Path | None) -> list[dict]:
    """The questions to run: each line of the --questions file, or the one question given."""
    from rag.evaluate import read_jsonl

    if questions is not None:
        return read_jsonl(questions)
    if question is None:
        raise InputError("give a question or --questions FILE.jsonl")
    return [{"id": "1", "question": question}]


def _hit_json(hit) -> dict:
    c = hit.chunk
    return {
        "rank": hit.rank,
        "chunk_id": c.chunk_id,
        "source": c.doc_id,
        "section": c.section,
        "text": c.text,
        "score": round(hit.score, 6),
        "flags": list(c.flags),
    }


@app.command()
def search(
    question: Annotated[str | None, typer.Argument(help="The question.")] = None,
    k: Annotated[int, typer.Option("--k", help="How many passages.")] = 10,
    as_json: JsonLines = False,
    questions: QuestionsFile = None,
    rerank: RerankFlag = None,
) -> None:
    """Print the passages that best match a question (or each question of a JSONL file)."""
    from rag import pipeline

    if question is not None and questions is not None:
        raise InputError("give a question or --questions FILE.jsonl, not both")
    if k < 1:
        raise InputError(f"--k must be at least 1, got {k}")
    if question is None and questions is None:
        if not sys.stdin.isatty():
            raise InputError('give a question or --questions FILE.jsonl, e.g. rag search "What is MOVA?"')
        _interactive(k, rerank)
        return
    rows = _rows(question, questions)
    retriever = pipeline.open_retriever(config(), rerank)
    results = retriever.search_many([r["question"] for r in rows], k)
    for row, hits in zip(rows, results, strict=True):
        if as_json:
            line = {"id": row["id"], "question": row["question"], "hits": [_hit_json(h) for h in hits]}
            typer.echo(json.dumps(line, ensure_ascii=False))
            continue
        if questions:
            typer.secho(f"\n[{row['id']}] {row['question']}", bold=True)
        _print_hits(hits)


def _print_hits(hits) -> None:
    for hit in hits:
        c = hit.chunk
        where = " · ".join(p for p in (c.doc_id, c.date, c.section, c.heading) if p)
        typer.secho(f"{hit.rank:>2}. {hit.score:.3f}  {where}", fg="cyan")
        typer.echo("    " + c.text.strip().replace("\n", "\n    ") + "\n")


def _interactive(k: int, rerank: bool | None) -> None:
    """A question prompt in a loop, the model loaded once; an empty line or Ctrl-D ends it."""
    from rag import pipeline

    retriever = pipeline.open_retriever(config(), rerank)
    typer.echo(f"Searching {len(retriever.index.chunks)} passages. Ask a question (empty line to quit).")
    while True:
        try:
            question = input("? ").strip()
        except EOFError:
            return
        if not question:
            return
        try:
            _print_hits(retriever.search(question, k))
        except InputError as e:
            typer.secho(f"error: {e}", fg="red", err=True)


def _answer_json(row_id: str, answer) -> dict:
    return {
        "id": row_id,
        "question": answer.question,
        "answer": answer.text,
        "answerable": answer.answerable,
        "reply": answer.reply,
        "quote": answer.quote,
        "decline_reason": answer.decline_reason,
        "citations": [
            {
                "n": c.n,
                "chunk_id": c.chunk.chunk_id,
                "source": c.chunk.doc_id,
                "section": c.chunk.section,
                "link": c.chunk.link,
                "text": c.chunk.text,
                "span": [c.start, c.end],
                "flags": list(c.chunk.flags),
            }
            for c in answer.citations
        ],
        "unsupported": list(answer.unsupported),
        "checks": list(answer.checks),
        "passages": [
            {"n": i, "chunk_id": h.chunk.chunk_id, "source": h.chunk.doc_id, "flags": list(h.chunk.flags)}
            for i, h in enumerate(answer.passages, 1)
        ],
    }


def _print_answer(answer, streamed: str) -> None:
    """Prints the checked answer (again, if checking changed what was streamed) and its sources."""
    if answer.text != streamed.strip():
        if streamed:
            typer.secho("\n(checked)", dim=True)
        typer.echo(answer.text)
    else:
        typer.echo()
    if answer.unsupported:
        typer.secho(f"unsupported by the passages: {' | '.join(answer.unsupported)}", fg="yellow")
    for c in answer.citations:
        where = " · ".join(p for p in (c.chunk.doc_id, c.chunk.date, c.chunk.section) if p)
        typer.secho(f"[{c.n}] {where}", fg="cyan")
        if c.chunk.flags:
            typer.secho(f"    holds instructions addressed to AI assistants ({', '.join(c.chunk.flags)})", fg="yellow")
        typer.echo("    " + c.quote.strip().replace("\n", "\n    "))
    if not answer.answerable:
        _print_hits(answer.passages)


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question.")] = None,
    as_json: JsonLines = False,
    questions: QuestionsFile = None,
    rerank: RerankFlag = None,
) -> None:
    """Answer a question from the digests, with numbered citations (or say the digests don't say)."""
    from rag import pipeline
    from rag.types import Answer

    if (question is None) == (questions is None):
        raise InputError('give a question or --questions FILE.jsonl, e.g. rag ask "What is MOVA?"')
    rows = _rows(question, questions)
    assistant = pipeline.open_assistant(config(), rerank)
    for row in rows:
        if as_json:
            typer.echo(json.dumps(_answer_json(row["id"], assistant.ask(row["question"])), ensure_ascii=False))
            continue
        if questions:
            typer.secho(f"\n[{row['id']}] {row['question']}", bold=True)
        streamed = ""
        for event in assistant.stream(row["question"]):
            if isinstance(event, Answer):
                _print_answer(event, streamed)
            else:
                streamed += event
                typer.echo(event, nl=False)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Interface to bind; 0.0.0.0 serves every interface.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port of the chat page.")] = 7860,
    mcp: Annotated[
        bool,
        typer.Option("--mcp", help="Also serve search and ask as MCP tools at /gradio_api/mcp/ (not with a login)."),
    ] = False,
    uploads: Annotated[
        bool,
        typer.Option(
            "--uploads", help="Let the page add digests to the shared index without a login (on with a login)."
        ),
    ] = False,
    openai: Annotated[
        bool,
        typer.Option("--openai", help="Also serve an OpenAI-compatible /v1/chat/completions (not with a login)."),
    ] = False,
) -> None:
    """Serve the chat page (log in with RAG_UI_USER / RAG_UI_PASSWORD when they are set)."""
    from ui.app import serve as serve_page

    serve_page(config(), host=host, port=port, mcp=mcp, uploads=True if uploads else None, openai=openai)


uploads_app = typer.Typer(no_args_is_help=True, help="The digests added from the page: list them or remove them.")
app.add_typer(uploads_app, name="uploads")


@uploads_app.command("list")
def uploads_list(as_json: Annotated[bool, typer.Option("--json", help="One JSON line per upload.")] = False) -> None:
    """List the uploaded digests: file, size, who added it and when."""
    from ui import uploads

    folder = uploads.default_dir(config())
    rows = uploads.listed(folder)
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False) if as_json else "\t".join(str(v) for v in row.values()))
    if not rows and not as_json:
        typer.echo(f"no uploaded digests in {folder}/")


@uploads_app.command("remove")
def uploads_remove(
    names: Annotated[list[str], typer.Argument(help="File names, as `rag uploads list` shows them.")],
) -> None:
    """Remove uploaded digests, and their passages from the index."""
    from rag import pipeline
    from ui import uploads

    cfg = config()
    folder = uploads.default_dir(cfg)
    for name in names:
        uploads.remove(folder, name, by=os.environ.get("USER", ""))
    try:
        report = uploads.reindex(cfg, folder, pipeline.make_embedder(cfg))
    except RagError as e:
        raise RagError(f"removed {', '.join(names)}, but the index still holds them ({e}); run `rag index`") from None
    typer.echo(
        f"removed {', '.join(names)}; the index holds {report.chunks} chunks ({len(report.removed)} digests left it)"
    )


@app.command("eval")
def evaluate(
    qa: Annotated[Path, typer.Option("--qa", help="Gold questions (JSONL with question, evidence, answerable).")],
    ks: Annotated[str, typer.Option("--k", help="Cut-offs for hit@k, comma-separated.")] = "1,3,5,10",
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    stages: Annotated[bool, typer.Option("--stages", help="Report keyword, dense, fused and reranked.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Draw the stage comparison to a PNG.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="List the questions each stage missed.")] = False,
    answers: Annotated[
        bool, typer.Option("--answers", help="Also generate answers and measure them (slow: seconds a question).")
    ] = False,
    ablate: Annotated[
        list[str] | None,
        typer.Option(
            "--ablate",
            help="With --answers: measure again without this check of rag/policy.py (repeatable; 'all': each).",
        ),
    ] = None,
) -> None:
    """Measure retrieval accuracy (and with --answers, answer quality) on a gold question file."""
    from rag import pipeline
    from rag.evaluate import percentiles, read_questions, relevant_counts, score_rankings

    try:
        cutoffs = tuple(sorted({int(x) for x in ks.split(",") if x.strip()}))
    except ValueError:
        raise InputError(f"--k takes numbers separated by commas, got {ks!r}") from None
    if not cutoffs or cutoffs[0] < 1:
        raise InputError(f"--k takes positive numbers, got {ks!r}")
    if ablate:
        from rag.policy import validate

        validate([] if ablate == ["all"] else ablate)  # a wrong name fails now, not after the answers
    gold = read_questions(qa)
    retriever = pipeline.open_retriever(config(), rerank=True if stages else None)
    retriever.stages([gold[0].question])  # warm up: models load outside the timings
    results, first_ms, total_ms = [], [], []
    for q in gold:  # one at a time, as a chat asks them, so the latencies are per question
        started = time.perf_counter()
        retriever.stages([q.question], rerank=False)
        first_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        results.extend(retriever.stages([q.question]))
        total_ms.append(1000 * (time.perf_counter() - started))
    latency = {"first_stage_ms": percentiles(first_ms), "with_rerank_ms": percentiles(total_ms)}
    relevant = relevant_counts(gold, retriever.index.chunks)
    names = ["keyword", "dense", "fused", "reranked"] if stages else ["final"]
    report, misses = {}, {}
    for name in names:
        rankings = [getattr(r, name) if name != "final" else r.final() for r in results]
        if not any(rankings):
            continue
        report[name], misses[name] = score_rankings(gold, rankings, retriever.index.chunks, relevant, cutoffs)
    if answers:
        assistant = pipeline.open_assistant(config(), retriever=retriever)
        report_answers = _evaluate_answers(gold, assistant, verbose)  # leaves `assistant` replaying its replies
        if ablate:
            report_answers["ablations"] = _ablate(gold, ablate, assistant)
    elif ablate:
        raise InputError("--ablate measures answers: add --answers")
    if plot:
        from rag.evaluate import plot_stages

        plot_stages(report, plot, title=f"{qa.name}: retrieval by stage")
    if as_json:
        extra = {"answers": report_answers} if answers else {}
        typer.echo(json.dumps({"qa": str(qa), "stages": report, "latency": latency, **extra}))
        return
    columns = [f"hit@{k}" for k in cutoffs] + ["mrr@10", "ndcg@10"]
    for name, metrics in report.items():
        typer.secho(f"\n{name}", bold=True)
        if not metrics:
            typer.echo("no question has evidence strings (list questions): retrieval not scored")
            continue
        typer.echo(f"{'group':<18}{'n':>4}" + "".join(f"{c:>9}" for c in columns) + f"{'mrr@10 95%':>14}")
        for group in sorted(metrics, key=lambda g: (g != "all", g)):
            row = metrics[group]
            low, high = row["mrr@10_ci"]
            figures = "".join(f"{row[c]:>9.3f}" for c in columns)
            typer.echo(f"{group:<18}{int(row['n']):>4}{figures}{low:>8.2f}-{high:.2f}")
        if verbose:
            for q, rank in misses[name]:
                if rank is None or rank > 1:
                    typer.echo(f"  {q.id} rank={rank or '>10'}  {q.question}")
    first, full = latency["first_stage_ms"], latency["with_rerank_ms"]
    whole = "with reranking" if retriever.reranker is not None else "the whole search (no reranker)"
    typer.echo(
        f"\nlatency per question: first stage p50 {first['p50']:.0f} ms, p95 {first['p95']:.0f} ms; "
        f"{whole} p50 {full['p50']:.0f} ms, p95 {full['p95']:.0f} ms"
    )
    if answers:
        _print_answer_figures(report_answers)
        for name, figures in report_answers.get("ablations", {}).items():
            typer.secho(f"\nwithout {name}", bold=True)
            _print_answer_figures(figures)


def _replayed(assistant: Assistant) -> None:
    """Wraps the assistant's generator and judge in `Replay`s (see rag/evaluate.py)."""
    from rag.evaluate import Replay, ReplayJudge

    assistant.generator = Replay(assistant.generator)
    if assistant.judge is not None:
        assistant.judge = ReplayJudge(assistant.judge)


def _answer(gold, assistant) -> tuple[dict, list[dict], list]:
    """Answers every question as the chat would (streaming, one at a time) and scores the answers."""
    from rich.progress import track

    from rag.evaluate import answer_all, answer_figures, percentiles

    answers, first_ms, total_ms = answer_all(assistant, gold, lambda qs: track(qs, "answering", transient=True))
    figures, rows = answer_figures(gold, answers)
    figures["first_token_ms"] = percentiles(first_ms)
    figures["answer_ms"] = percentiles(total_ms)
    return figures, rows, answers


def _evaluate_answers(gold, assistant, verbose: bool) -> dict:
    from rag.evaluate import Replay, percentiles

    assistant.ask(gold[0].question)  # warm up: models load outside the timings
    _replayed(assistant)
    figures, rows, results = _answer(gold, assistant)
    replay = assistant.generator
    if isinstance(replay, Replay) and replay.prefill_ms:
        figures["prefill_ms"] = percentiles(replay.prefill_ms)
        figures["prompt_tokens_p50"] = sorted(replay.prompt_tokens)[len(replay.prompt_tokens) // 2]
    if verbose:
        for q, row, answer in zip(gold, rows, results, strict=True):
            if q.items:
                if row["named"] < row["items"] or row["extra"]:
                    typer.echo(f"  {q.id} named {row['named']} of {row['items']}, {row['extra']} other: {q.question}")
                    typer.echo(f"      -> {answer.text}  (gold: {' / '.join(s[0] for s in q.items)})")
                continue
            wrong = row["declined"] if q.answerable else not row["declined"]
            if wrong or (q.answerable and not row["answer_hit"]):
                typer.echo(f"  {q.id} {'declined' if row['declined'] else 'answered'}: {q.question}")
                typer.echo(f"      -> {answer.text}  (gold: {' / '.join(q.answers) or 'decline'}; {answer.checks})")
            if not row["declined"] and not row["in_language"]:
                typer.echo(f"  {q.id} answered in another language: {q.question}\n      -> {answer.text}")
    return figures


def _ablate(gold, names: list[str], replayed: Assistant) -> dict[str, dict]:
    """Figures without each named check, replaying the replies `replayed` recorded in the measurement before (no
    timings)."""
    import dataclasses

    from rag.evaluate import ReplayEmbedder
    from rag.policy import CHECKS, validate

    names = list(CHECKS) if names == ["all"] else names
    validate(names)
    replayed.retriever.embedder = ReplayEmbedder(replayed.retriever.embedder)  # no timings from here on
    kept = replayed.answer_config
    out = {}
    for name in names:
        replayed.answer_config = dataclasses.replace(kept, skip=tuple(sorted({*kept.skip, name})))
        figures, _, _ = _answer(gold, replayed)
        for key in ("first_token_ms", "answer_ms"):
            figures.pop(key)
        out[name] = figures
    replayed.answer_config = kept
    return out


def _print_answer_figures(f: dict) -> None:
    typer.secho("\nanswers", bold=True)
    if f["answerable"] + f["unanswerable"]:
        typer.echo(
            f"gold answer in the answer      {f['answer_hit']:.3f}  (of {f['answerable']} answerable)\n"
            f"evidence among the citations   {f['evidence_cited']:.3f}\n"
            f"unanswerable declined          {f['declined_unanswerable']:.3f}  (of {f['unanswerable']})\n"
            f"answerable wrongly declined    {f['declined_answerable']:.3f}\n"
            f"sentences with a citation      {f['supported_sentences']:.3f}\n"
            f"in the question's language     {f['in_language']:.3f}  (of {f['answered']} answered)"
        )
    if "first_token_ms" in f:
        typer.echo(
            f"first token p50 {f['first_token_ms']['p50']:.0f} ms, p95 {f['first_token_ms']['p95']:.0f} ms; "
            f"whole answer p50 {f['answer_ms']['p50']:.0f} ms, p95 {f['answer_ms']['p95']:.0f} ms"
        )
    typer.echo(
        f"answer length p50 {f['answer_chars_p50']} characters; answers repeating a phrase {f['looping']}; "
        f"checks fired: {', '.join(f'{k} {v}' for k, v in f['checks_fired'].items()) or 'none'}"
    )
    if f.get("prefill_ms"):
        typer.echo(
            f"prefill p50 {f['prefill_ms']['p50']:.0f} ms, p95 {f['prefill_ms']['p95']:.0f} ms "
            f"(prompt p50 {f['prompt_tokens_p50']} tokens)"
        )
    if f.get("lists"):
        typer.echo(
            f"list questions: items named {f['list_items_named']:.3f} (of {f['lists']} questions), "
            f"cited papers not on the gold list {f['list_extra_cited']:.1f} a question"
        )


def run() -> None:
    """Entry point: library errors become one line on stderr and exit code 1."""
    try:
        app()
    except RagError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.secho("interrupted; the index on disk is unchanged unless a build had finished", err=True)
        sys.exit(130)
