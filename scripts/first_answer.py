"""How long the first question after `rag serve` takes against the second: the models are warmed while the
page starts (ui/warm.py), so a reader who asks at once should wait about as long as for the next question.

    .venv/bin/python scripts/first_answer.py          # writes docs/results/first-answer.json and .md

Starts `rag serve` twice over ./index (or $RAG_INDEX__DIR). Each time it asks two questions through /ask the
moment the page answers, A then B the first time and B then A the second, so each question is once first and
once second. Reports the seconds until the page answered and each answer's latency; the ratio is
(A first + B first) / (A second + B second).
"""

from __future__ import annotations

import datetime
import json
import tempfile
import time

from answer_report import ROOT, commit, machine
from load_test import free_port, make_client, start_server, stop_server, wait_until_up

QUESTIONS = {
    "A": "MOVA 是什么模型？它用了多大参数量的架构？",
    "B": "How much faster is Aster than existing methods for scientific discovery?",
}
RESULTS = ROOT / "docs" / "results"


def one_start(order: list[str]) -> dict:
    """Starts the server, asks the questions in `order` as soon as the page answers; returns the timings."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log") as log:
        started = time.monotonic()
        server = start_server(port, log)
        try:
            wait_until_up(url, server, log)
            up = time.monotonic() - started
            client = make_client(url)
            took = {}
            for name in order:
                asked = time.monotonic()
                result = client.predict(QUESTIONS[name], api_name="/ask")
                took[name] = round(time.monotonic() - asked, 2)
                if not isinstance(result, dict) or "text" not in result:
                    raise RuntimeError(f"/ask returned {result!r:.200}")
        finally:
            stop_server(server)
    return {"order": order, "page_up_s": round(up, 2), "seconds": took}


def render(report: dict) -> str:
    runs = report["runs"]
    lines = [
        "# The first question after `rag serve`",
        "",
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `scripts/first_answer.py`: "
        "two starts of the server, two questions asked through `/ask` the moment the page answered (A then B, "
        "then B then A).",
        "",
        "| start | page answered after | first question | second question |",
        "|---|---|---|---|",
    ]
    for i, run in enumerate(runs, 1):
        first, second = run["order"]
        lines.append(
            f"| {i} | {run['page_up_s']:.1f} s | {first}: {run['seconds'][first]:.1f} s | "
            f"{second}: {run['seconds'][second]:.1f} s |"
        )
    lines += ["", f"First over second, both questions: **{report['ratio']:.2f}**."]
    return "\n".join(lines) + "\n"


def main() -> int:
    runs = [one_start(["A", "B"]), one_start(["B", "A"])]
    first = runs[0]["seconds"]["A"] + runs[1]["seconds"]["B"]
    second = runs[0]["seconds"]["B"] + runs[1]["seconds"]["A"]
    report = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "questions": QUESTIONS,
        "runs": runs,
        "ratio": round(first / second, 3),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=1, ensure_ascii=False) + "\n"
    (RESULTS / "first-answer.json").write_text(text, encoding="utf-8")
    (RESULTS / "first-answer.md").write_text(render(report), encoding="utf-8")
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
