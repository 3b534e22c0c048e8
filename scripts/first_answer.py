"""How long the first question after `rag serve` takes against the second: the models are warmed while the
page starts (ui/warm.py), so a reader who asks at once should wait about as long as for the next question.

    .venv/bin/python scripts/first_answer.py          # writes docs/results/first-answer.json and .md

Starts `rag serve` four times over ./index (or $RAG_INDEX__DIR). Each time it asks two questions through /ask,
A then B and then B then A, so each question is once first and once second: twice the moment the page
answers (a reader who asks at once, while the page says the models are loading), twice once the server's log
says the models are warmed (a reader who waits for "Models ready"). Reports the seconds until the page
answered and each answer's latency; each ratio is (A first + B first) / (A second + B second).
"""

from __future__ import annotations

import datetime
import tempfile
import time
from pathlib import Path

from answer_report import commit, machine, write_results
from load_test import free_port, make_client, start_server, stop_server, wait_until_up

QUESTIONS = {
    "A": "MOVA 是什么模型？它用了多大参数量的架构？",
    "B": "How much faster is Aster than existing methods for scientific discovery?",
}


def wait_for_warm_up(log, server) -> None:
    """Waits until the server's log says the models are warmed (or failed to be)."""
    started = time.monotonic()
    while time.monotonic() - started < 600:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        text = Path(log.name).read_text(errors="replace")
        if "models warmed in" in text or "warming the models failed" in text:
            return
        time.sleep(0.5)
    raise RuntimeError("the models were not warmed within 600 s")


def one_start(order: list[str], ready: bool) -> dict:
    """Starts the server, asks the questions in `order` as soon as the page answers (or, when `ready`, once the
    models are warmed); returns the timings."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log") as log:
        started = time.monotonic()
        server = start_server(port, log, verbose=True)  # its log says when the models are warmed
        try:
            wait_until_up(url, server, log)
            up = time.monotonic() - started
            if ready:
                wait_for_warm_up(log, server)
            warm = time.monotonic() - started
            client = make_client(url)
            took = {}
            for name in order:
                asked = time.monotonic()
                result = client.predict(QUESTIONS[name], api_name="/ask")
                took[name] = round(time.monotonic() - asked, 2)
                if not isinstance(result, dict) or "answer" not in result:
                    raise RuntimeError(f"/ask returned {result!r:.200}")
        finally:
            stop_server(server)
    return {"order": order, "ready": ready, "page_up_s": round(up, 2), "asked_at_s": round(warm, 2), "seconds": took}


def render(report: dict) -> str:
    runs = report["runs"]
    lines = [
        "# The first question after `rag serve`",
        "",
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `scripts/first_answer.py`: "
        "four starts of the server, two questions asked through `/ask` each time (A then B, then B then A), the "
        "moment the page answered, then once its log said the models were warmed.",
        "",
        "| start | first question asked | page answered after | asked after | first question | second question |",
        "|---|---|---|---|---|---|",
    ]
    for i, run in enumerate(runs, 1):
        first, second = run["order"]
        when = "once the models were warmed" if run["ready"] else "the moment the page answered"
        lines.append(
            f"| {i} | {when} | {run['page_up_s']:.1f} s | {run['asked_at_s']:.1f} s | "
            f"{first}: {run['seconds'][first]:.1f} s | {second}: {run['seconds'][second]:.1f} s |"
        )
    lines += [
        "",
        "First over second, both questions: asked the moment the page answered "
        f"**{report['ratio']['at_once']:.2f}**; asked once the page said the models were ready "
        f"**{report['ratio']['when_ready']:.2f}**.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    runs = [one_start(order, ready) for ready in (False, True) for order in (["A", "B"], ["B", "A"])]

    def ratio(pair: list[dict]) -> float:
        first = pair[0]["seconds"]["A"] + pair[1]["seconds"]["B"]
        return round(first / (pair[0]["seconds"]["B"] + pair[1]["seconds"]["A"]), 3)

    report = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "questions": QUESTIONS,
        "runs": runs,
        "ratio": {"at_once": ratio(runs[:2]), "when_ready": ratio(runs[2:])},
    }
    write_results("first-answer", report, render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
