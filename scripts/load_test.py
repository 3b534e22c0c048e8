"""Load test of the chat page's API: N concurrent users asking for a fixed time, on this machine only.

    .venv/bin/python scripts/load_test.py                                  # 20 users for 120 s
    .venv/bin/python scripts/load_test.py --users 3 --seconds 30 --json load.json

Starts `rag serve` on 127.0.0.1 (a free port unless --port is given) over the index in ./index (or
$RAG_INDEX__DIR), warms it up with one /ask call (the models load lazily), then runs one
gradio_client.Client per user, each asking questions about the shipped digests until the time is up:
/ask, and /search for every 4th request. A
request started before the deadline may finish; one still running 300 s after it counts as an error.
Meanwhile the server's memory (VmRSS of the process and its children) is sampled once a second.

Reports completed requests, errors, p50/p95/max latency per endpoint (nearest rank; queueing included:
the server answers one request at a time) and memory. Exit code 1 when a request failed or the memory grew
by 5% or more of its post-warm-up size (median of the last quarter of the samples minus that of the first).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from rag.evaluate import percentiles

ROOT = Path(__file__).resolve().parent.parent
INDEX = Path(os.environ.get("RAG_INDEX__DIR", ROOT / "index"))  # the index `rag serve` would open
RAG = Path(sys.executable).parent / "rag"  # the console script of this environment
HOST = "127.0.0.1"
SEARCH_EVERY = 4  # every 4th request goes to /search, the others to /ask
STRAGGLER_GRACE_S = 300.0
STARTUP_TIMEOUT_S = 180.0
WARMUP_TIMEOUT_S = 600.0
GROWTH_LIMIT = 0.05  # of the RSS after warm-up
MAX_USERS, MAX_SECONDS = 64, 1800

# About the shipped digests (corpus/); written for this test, none taken from the eval sets.
QUESTIONS = [
    "MOVA 能同时生成哪些内容？它是开源的吗？",
    "How small does NanoQuant make Llama-2-70B, in GB?",
    "Aster 在哪几个跨领域任务上做了验证？",
    "Which embedding dimensions can Qwen3-Embedding output?",
    "GISA 评测了哪些商业搜索产品？",
    "What does MotionCrafter reconstruct from a video?",
    "RelayGen 在生成过程中如何切换模型？",
    "What answer formats does the GISA benchmark use?",
]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One request: its endpoint, seconds from submission to result (queueing included), and error if any."""

    endpoint: str
    seconds: float
    error: str | None = None


# ---- the server ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(port: int, log: IO[bytes], verbose: bool = False) -> subprocess.Popen[bytes]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", RAG_INDEX__DIR=str(INDEX))
    command = [str(RAG), *(["--verbose"] if verbose else []), "serve", "--host", HOST, "--port", str(port)]
    # A session of its own, so stopping it also stops anything it started.
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)


def log_tail(log: IO[bytes], lines: int = 20) -> str:
    log.flush()
    return "\n".join(Path(log.name).read_text(errors="replace").splitlines()[-lines:])


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Polls the page until it answers; raises RuntimeError with the server's log tail if it dies or hangs."""
    started = time.monotonic()
    while time.monotonic() - started < STARTUP_TIMEOUT_S:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}; its log ends:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the page did not answer within {STARTUP_TIMEOUT_S:.0f} s; the log ends:\n{log_tail(log)}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


# ---- memory ----------------------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """The pid and all its descendants, from the parent pids in /proc/*/stat."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = text[text.rfind(")") + 2 :].split()  # the command name in () may hold spaces
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def status_mb(pid: int, field: str) -> float:
    """A kB field of /proc/PID/status (VmRSS, VmHWM) in MB; 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb(root: int) -> float:
    return sum(status_mb(pid, "VmRSS") for pid in process_tree(root))


class MemorySampler(threading.Thread):
    """Samples the RSS of a process tree once a second until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[float] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append(tree_rss_mb(self.pid))
            self._stop_event.wait(1.0)

    def stop(self) -> list[float]:
        self._stop_event.set()
        self.join()
        return self.samples


# ---- the users -------------------------------------------------------------------------------------------


class Schedule:
    """Hands out (endpoint, args) round-robin over the questions, shared by all users."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def next(self) -> tuple[str, tuple[Any, ...]]:
        with self._lock:
            n = self._count
            self._count += 1
        question = QUESTIONS[n % len(QUESTIONS)]
        if n % SEARCH_EVERY == SEARCH_EVERY - 1:
            return "/search", (question, 5)
        return "/ask", (question,)


def make_client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, analytics_enabled=False)


def check(endpoint: str, result: Any) -> str | None:
    """The error of a result that came back but is not an answer (an empty answer or no hits), else None."""
    if endpoint == "/ask":
        if not isinstance(result, dict) or not str(result.get("answer") or "").strip():
            return f"empty answer: {result!r:.200}"
    elif not isinstance(result, list) or not result:
        return f"no hits: {result!r:.200}"
    return None


def call(client: Any, endpoint: str, args: tuple[Any, ...], give_up_at: float) -> Outcome:
    started = time.monotonic()
    job = client.submit(*args, api_name=endpoint)
    try:
        result = job.result(timeout=max(0.0, give_up_at - time.monotonic()))
    except TimeoutError:
        job.cancel()
        return Outcome(endpoint, time.monotonic() - started, f"still running {STRAGGLER_GRACE_S:.0f} s after the end")
    except Exception as e:
        return Outcome(endpoint, time.monotonic() - started, f"{type(e).__name__}: {e}")
    return Outcome(endpoint, time.monotonic() - started, check(endpoint, result))


def user(client: Any, schedule: Schedule, deadline: float, outcomes: list[Outcome]) -> None:
    """Asks one question after another until the deadline (list.append is thread-safe)."""
    while time.monotonic() < deadline:
        endpoint, args = schedule.next()
        # A straggler gives up after the deadline, so the loop ends after it too.
        outcomes.append(call(client, endpoint, args, deadline + STRAGGLER_GRACE_S))


def run_users(url: str, users: int, seconds: int) -> tuple[list[Outcome], float]:
    """Runs the users; returns every request's outcome and the wall time until the last one ended."""
    clients = [make_client(url) for _ in range(users)]
    schedule = Schedule()
    outcomes: list[Outcome] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=user, args=(c, schedule, started + seconds, outcomes), daemon=True) for c in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + STRAGGLER_GRACE_S + 60)
    elapsed = time.monotonic() - started
    for client in clients:
        client.close()
    return outcomes, elapsed


# ---- the report ------------------------------------------------------------------------------------------


def endpoint_stats(outcomes: list[Outcome], endpoint: str) -> dict[str, Any]:
    done = [o.seconds for o in outcomes if o.endpoint == endpoint and o.error is None]
    # rag's nearest-rank percentiles round to 0.1: fed milliseconds, they keep the seconds' decimals.
    ms = percentiles([s * 1000 for s in done]) if done else {"p50": None, "p95": None}
    return {
        "completed": len(done),
        "errors": sum(1 for o in outcomes if o.endpoint == endpoint and o.error is not None),
        "p50_s": ms["p50"] and ms["p50"] / 1000,
        "p95_s": ms["p95"] and ms["p95"] / 1000,
        "max_s": max(done, default=None),
    }


def memory_stats(after_warmup: float, samples: list[float], server_pid: int) -> dict[str, Any]:
    quarter = max(1, len(samples) // 4)
    growth = statistics.median(samples[-quarter:]) - statistics.median(samples[:quarter]) if samples else 0.0
    return {
        "rss_after_warmup_mb": round(after_warmup, 1),
        "rss_peak_mb": round(max(samples, default=after_warmup), 1),
        "rss_end_mb": round(samples[-1] if samples else after_warmup, 1),
        "server_vmhwm_mb": round(status_mb(server_pid, "VmHWM"), 1),
        "samples": len(samples),
        "growth_mb": round(growth, 1),
        "growth_limit_mb": round(GROWTH_LIMIT * after_warmup, 1),
        "grew": growth >= GROWTH_LIMIT * after_warmup,
        "samples_mb": [round(x, 1) for x in samples],  # in the JSON only, to see where it grew
    }


def machine() -> dict[str, Any]:
    total_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    return {"cpus": os.cpu_count(), "memory_gib": round(total_kb / 1024**2, 1), "python": platform.python_version()}


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


def print_report(report: dict[str, Any]) -> None:
    m, mem = report["machine"], report["memory"]
    print(f"\nload test {report['date']}  machine: {m['cpus']} CPUs, {m['memory_gib']} GiB, Python {m['python']}")
    print(f"users {report['users']}, {report['seconds']} s of asking, {report['drain_s']:.1f} s more to finish")
    print(f"warm-up (first /ask, models loading): {report['warmup_s']:.1f} s\n")
    print(f"{'endpoint':<10}{'completed':>10}{'errors':>8}{'p50 s':>9}{'p95 s':>9}{'max s':>9}")
    for name, s in report["endpoints"].items():
        row = f"{s['completed']:>10}{s['errors']:>8}{fmt(s['p50_s']):>9}{fmt(s['p95_s']):>9}{fmt(s['max_s']):>9}"
        print(f"{name:<10}{row}")
    print(f"{'total':<10}{report['completed']:>10}{report['errors']:>8}")
    print(f"throughput {report['completed'] / report['elapsed_s']:.2f} requests/s; latency includes queueing\n")
    print(f"server RSS after warm-up  {mem['rss_after_warmup_mb']:>8.1f} MB")
    print(f"server RSS peak (sampled) {mem['rss_peak_mb']:>8.1f} MB   (kernel VmHWM {mem['server_vmhwm_mb']:.1f} MB)")
    print(f"server RSS at the end     {mem['rss_end_mb']:>8.1f} MB   ({mem['samples']} samples, 1/s)")
    verdict = "GREW" if mem["grew"] else "no growth"
    print(f"growth (median last quarter - first quarter) {mem['growth_mb']:+.1f} MB: {verdict}")
    print(f"   rule: growth must stay under {GROWTH_LIMIT:.0%} of the RSS after warm-up ({mem['growth_limit_mb']} MB)")
    for error in report["error_examples"]:
        print(f"error: {error}")
    print(f"\nresult: {'FAIL' if report['failed'] else 'PASS'} (errors must be 0, memory must not grow)")


# ---- main ------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help=f"concurrent users, 1..{MAX_USERS}")
    parser.add_argument("--seconds", type=int, default=120, help=f"how long to ask, 1..{MAX_SECONDS}")
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    parser.add_argument("--port", type=int, default=0, help="port for the server; 0 picks a free one")
    parser.add_argument("--host", default=HOST, help="only 127.0.0.1 is accepted")
    args = parser.parse_args()
    if args.host != HOST:
        parser.error(f"this test only runs against {HOST}, got --host {args.host}")
    if not 1 <= args.users <= MAX_USERS:
        parser.error(f"--users must be between 1 and {MAX_USERS}, got {args.users}")
    if not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 1 and {MAX_SECONDS}, got {args.seconds}")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    return args


def load_test(url: str, server: subprocess.Popen[bytes], args: argparse.Namespace) -> dict[str, Any]:
    client = make_client(url)
    warmup = call(client, "/ask", (QUESTIONS[0],), time.monotonic() + WARMUP_TIMEOUT_S)
    client.close()
    if warmup.error:
        raise RuntimeError(f"the warm-up /ask failed: {warmup.error}")
    after_warmup = tree_rss_mb(server.pid)
    sampler = MemorySampler(server.pid)
    sampler.start()
    print(f"warmed up in {warmup.seconds:.1f} s; {args.users} users asking for {args.seconds} s", flush=True)
    outcomes, elapsed = run_users(url, args.users, args.seconds)
    samples = sampler.stop()
    if server.poll() is not None:
        outcomes.append(Outcome("server", 0.0, f"the server exited with code {server.returncode} during the run"))
    errors = [o for o in outcomes if o.error is not None]
    memory = memory_stats(after_warmup, samples, server.pid)
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "users": args.users,
        "seconds": args.seconds,
        "warmup_s": round(warmup.seconds, 2),
        "elapsed_s": round(elapsed, 2),
        "drain_s": round(max(0.0, elapsed - args.seconds), 2),
        "completed": len(outcomes) - len(errors),
        "errors": len(errors),
        "endpoints": {name: endpoint_stats(outcomes, name) for name in ("/ask", "/search")},
        "memory": memory,
        "error_examples": [f"{o.endpoint} after {o.seconds:.1f} s: {o.error}" for o in errors[:5]],
        "failed": bool(errors) or memory["grew"],
    }


def main() -> int:
    args = parse_args()
    if not (INDEX / "CURRENT").exists():
        print(f"no index in {INDEX}: run `rag index` first", file=sys.stderr)
        return 1
    # gradio_client sends telemetry unless this is set, whatever analytics_enabled says.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    port = args.port or free_port()
    url = f"http://{HOST}:{port}/"
    with tempfile.NamedTemporaryFile(prefix="rag-serve-", suffix=".log") as log:
        server = start_server(port, log)
        try:
            print(f"started `rag serve` (pid {server.pid}) at {url}; waiting for the page", flush=True)
            wait_until_up(url, server, log)
            report = load_test(url, server, args)
        except RuntimeError as e:
            print(f"load test aborted: {e}", file=sys.stderr)
            return 1
        finally:
            stop_server(server)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
