"""Measures answers on every question set and writes docs/results/answers.json, then the tables rendered from it.

    .venv/bin/python scripts/answer_report.py                      # every set, each check ablated (~40 min)
    .venv/bin/python scripts/answer_report.py --sets tuning --no-ablate
    .venv/bin/python scripts/answer_report.py --render             # only re-render the tables from the JSON
    .venv/bin/python scripts/answer_report.py --before b04e382 blind=/tmp/blind.json   # rows measured earlier

Each set runs `rag eval --qa FILE --answers --json [--ablate all]` in a process of its own, as a user would.
The tables go to docs/results/answers.md and to the README between its `answers:begin`/`answers:end` marks;
no figure in them is typed by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"
# The same sets measured on the code before the answer policy (`rag eval --qa FILE --answers --json` at b04e382).
BEFORE = RESULTS / "answers-before-policy.json"
SETS = {
    "tuning": "eval/gold-tune.jsonl",
    "tuning2": "eval/gold-tune2.jsonl",
    "validation": "eval/gold-valid.jsonl",
    "validation2": "eval/valid2.jsonl",
    "blind": "eval/blind.jsonl",
    "dev": "../shared/eval/dev.jsonl",
    "off-topic": "eval/offtopic.jsonl",
}
HELD_OUT = ("validation", "validation2", "blind")  # what a check must earn its place on
SHARES = (
    ("answer_hit", "answerable", "gold answer"),
    ("evidence_cited", "answerable", "evidence cited"),
    ("declined_unanswerable", "unanswerable", "unanswerable declined"),
    ("declined_answerable", "answerable", "answerable declined"),
)


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError, StopIteration):
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    cpu = model or platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "rag"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def measure(name: str, path: Path, ablate: bool) -> dict:
    command = [str(ROOT / ".venv" / "bin" / "rag"), "eval", "--qa", str(path), "--answers", "--json"]
    command += ["--ablate", "all"] if ablate else []
    print(f"{name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    # Answers read the first stage's order (answer.rerank is off): judging the retrieval order as well would
    # only add seconds a question to this measurement.
    env = {**os.environ, "RAG_SEARCH__RERANK": "false", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"{name}: rag eval failed: {done.stderr.strip().splitlines()[-1:]}")
    report = json.loads(done.stdout)
    return {"file": SETS[name], "answers": report["answers"], "retrieval": report["stages"].get("final", {})}


def cell(figures: dict, key: str) -> str:
    from rag.evaluate import wilson

    over = figures["unanswerable" if key == "declined_unanswerable" else "answerable"]
    lo, hi = figures.get(f"{key}_ci") or wilson(round(figures[key] * over), over)
    return f"{figures[key]:.3f} ({lo:.2f}-{hi:.2f})"


def count(figures: dict, key: str, over: str) -> tuple[int, int]:
    return round(figures[key] * figures[over]), figures[over]


def pooled(sets: dict, names: tuple[str, ...], key: str, over: str, ablation: str | None = None) -> float | None:
    hits = total = 0
    for name in names:
        if name not in sets:
            continue
        figures = sets[name]["answers"]
        if ablation and ablation not in figures["ablations"]:
            return None  # a check newer than the measurement
        figures = figures["ablations"][ablation] if ablation else figures
        k, n = count(figures, key, over)
        hits, total = hits + k, total + n
    return hits / total if total else None


def load_before() -> dict | None:
    return json.loads(BEFORE.read_text(encoding="utf-8")) if BEFORE.exists() else None


def render(results: dict, before: dict | None = None) -> str:
    sets = dict(results["sets"])
    if before:
        sets |= {f"{name}, before (at {before['commit']})": measured for name, measured in before["sets"].items()}
    lines = [
        f"Measured {results['date']} at {results['commit']} on {results['machine']}, offline default models, "
        f"by `python scripts/answer_report.py` (docs/results/answers.json). In brackets: the 95% interval over "
        f"the set's questions.",
        "",
        "| set | answerable / not | gold answer | evidence cited | unanswerable declined | answerable declined "
        "| answer length p50 | looping | first token p50 | prefill p50 | whole answer p50 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, measured in sets.items():
        f = measured["answers"]
        declined = cell(f, "declined_unanswerable") if f["unanswerable"] else "-"
        answered = [cell(f, k) if f["answerable"] else "-" for k in ("answer_hit", "evidence_cited")]
        wrongly = cell(f, "declined_answerable") if f["answerable"] else "-"
        prefill = "-"
        if "prefill_ms" in f:
            prefill = f"{f['prefill_ms']['p50'] / 1000:.1f} s ({f['prompt_tokens_p50']} tokens)"
        lines.append(
            f"| {name} | {f['answerable']} / {f['unanswerable']} | {answered[0]} | {answered[1]} | {declined} "
            f"| {wrongly} | {f.get('answer_chars_p50', '-')} | {f.get('looping', '-')} "
            f"| {f['first_token_ms']['p50'] / 1000:.1f} s "
            f"| {prefill} | {f['answer_ms']['p50'] / 1000:.1f} s |"
        )
    ablated = [n for n in HELD_OUT if "ablations" in sets.get(n, {}).get("answers", {})]
    if ablated:
        from rag.policy import CHECKS

        lines += [
            "",
            f"The answer policy (rag/policy.py), in order. Each change is the figure without the check minus the "
            f"figure with it, over {' + '.join(ablated)} pooled: a check earns its place when removing it costs "
            f"(gold answer or evidence down, unanswerable declined down, answerable declined up).",
            "",
            "| check | when | does | why | settings | fired | gold answer | evidence cited | unanswerable declined "
            "| answerable declined |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for check in CHECKS.values():
            fired = sum(sets[n]["answers"]["checks_fired"].get(check.name, 0) for n in ablated)
            deltas = []
            for key, over, _ in SHARES:
                base = pooled(sets, tuple(ablated), key, over)
                without = pooled(sets, tuple(ablated), key, over, check.name)
                deltas.append("-" if base is None or without is None else f"{without - base:+.3f}")
            settings = f"`{check.keys}`" if check.keys else ""
            lines.append(
                f"| `{check.name}` | {check.when} | {check.does} | {check.why} | {settings} | {fired} | "
                + " | ".join(deltas)
                + " |"
            )
    return "\n".join(lines) + "\n"


def summary(results: dict) -> str:
    """The README's short table: the main figures per set; the whole of `render` is in docs/results/answers.md."""
    lines = [
        f"Measured {results['date']} at {results['commit']} on {results['machine']}, offline default models, by "
        f"`python scripts/answer_report.py`; 95% intervals in brackets. Every column, the figures before the "
        f"answer policy and what each of its checks is worth: [docs/results/answers.md](docs/results/answers.md).",
        "",
        "| set | answerable / not | gold answer | unanswerable declined | answerable declined | first token p50 |",
        "|---|---|---|---|---|---|",
    ]
    for name, measured in results["sets"].items():
        f = measured["answers"]
        answered = cell(f, "answer_hit") if f["answerable"] else "-"
        declined = cell(f, "declined_unanswerable") if f["unanswerable"] else "-"
        wrongly = cell(f, "declined_answerable") if f["answerable"] else "-"
        lines.append(
            f"| {name} | {f['answerable']} / {f['unanswerable']} | {answered} | {declined} | {wrongly} "
            f"| {f['first_token_ms']['p50'] / 1000:.1f} s |"
        )
    return "\n".join(lines) + "\n"


def write_tables(results: dict) -> None:
    table = render(results, load_before())
    (RESULTS / "answers.md").write_text("# Answer figures\n\n" + table, encoding="utf-8")
    write_block(ROOT / "README.md", "answers", summary(results))


def write_results(name: str, report: dict, render: Callable[[dict], str], folder: Path = RESULTS) -> None:
    """Writes a script's figures to `folder`/NAME.json and the table rendered from them to NAME.md (what
    tests/test_results_docs.py checks), and prints the table."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / f"{name}.md").write_text(render(report), encoding="utf-8")
    print(render(report))


def write_block(path: Path, name: str, text: str) -> None:
    """Puts `text` between the file's `<!-- name:begin -->` and `<!-- name:end -->` marks (if it has them)."""
    old = path.read_text(encoding="utf-8")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        path.write_text(f"{head}{begin}\n{text}{end}{rest.split(end, 1)[1]}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of {', '.join(SETS)}")
    p.add_argument("--no-ablate", action="store_true", help="skip measuring each check by its absence")
    p.add_argument("--render", action="store_true", help="only render the tables from the JSON")
    p.add_argument("--json", type=Path, default=RESULTS / "answers.json", help="where the figures go")
    p.add_argument(
        "--before",
        metavar="COMMIT SET=FILE,...",
        nargs=2,
        help="keep `rag eval --answers --json` outputs measured at an earlier COMMIT as the 'before' rows",
    )
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.before:
        at, files = args.before
        pairs = dict(pair.split("=", 1) for pair in files.split(","))
        sets = {name: {"answers": json.loads(Path(f).read_text())["answers"]} for name, f in pairs.items()}
        BEFORE.write_text(json.dumps({"commit": at, "sets": sets}, indent=1) + "\n", encoding="utf-8")
        write_tables(json.loads(args.json.read_text(encoding="utf-8")))
        return 0
    if args.render:
        write_tables(json.loads(args.json.read_text(encoding="utf-8")))
        return 0
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown:
        p.error(f"unknown set {unknown[0]!r}; the sets are {', '.join(SETS)}")
    results = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "sets": {},
    }
    for name in names:
        path = (ROOT / SETS[name]).resolve()
        if not path.exists():
            print(f"{name}: {path} not found, skipped", file=sys.stderr)
            continue
        results["sets"][name] = measure(name, path, ablate=not args.no_ablate and name in HELD_OUT)
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_tables(results)
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
