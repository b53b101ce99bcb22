"""Load test of ``policy-clauses serve`` on loopback (not a test): N concurrent clients send a
fixed number of ``POST /v1/predict`` requests; compared with ``predict``'s batch throughput on
the same clauses.

    .venv/bin/python benchmarks/bench_serve.py --model models/default --clients 16 \
        --clauses 480 --per-request 4 --json out/bench_serve.json

1. The clauses: the first ``--docs`` documents of each corpus slice file (as bench_predict.py),
   cleaned and segmented, cut to ``--clauses`` clause records.
2. Baseline: ``predict --clauses`` on those records in this process (``run_clauses``, the
   model loaded and warmed up first, same thread count as the server): clauses/s, measured
   before and again after the load (the server stopped), the mean taken as the reference.
3. The server in a subprocess (``serve --model ... --threads T``), warmed up with one request;
   then ``--clients`` threads, each with its own keep-alive connection, take requests of
   ``--per-request`` clauses from a shared list until it is empty. A 503 is retried after its
   ``Retry-After`` (counted). Every clause carries a request id and position; each must come
   back exactly once, in its request, with the labels the baseline gave it.
4. Reported: throughput (clauses/s, wall time of the whole load), its ratio to the baseline,
   p50/p95 request latency (retries included), 503s, lost/duplicated answers, label agreement
   with the baseline, peak RSS of the server (VmHWM). Stops by itself: the request list is
   finite and ``--deadline`` seconds bound the load phase; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "data" / "corpus"
SLICE_FILES = ("mee_documents.jsonl", "st_policies.jsonl")


def clause_records(corpus: Path, n_docs: int, limit: int) -> list[dict[str, Any]]:
    from inference.batch.run import iter_documents
    from inference.records import Document

    with tempfile.TemporaryDirectory() as tmp:
        crawl = Path(tmp) / "slice.jsonl"
        with crawl.open("w", encoding="utf-8") as out:
            for name in SLICE_FILES:
                with (corpus / name).open(encoding="utf-8") as handle:
                    out.writelines(itertools.islice(handle, n_docs))
        records = []
        for doc in iter_documents([crawl]):
            if isinstance(doc, Document):
                title = str(doc.meta.get("title", ""))
                records += [{"text": c.text, "section": c.section, "title": title,
                             "doc_id": doc.doc_id, "clause_id": c.clause_id}
                            for c in doc.clauses]
    return records[:limit]


def load_baseline_scorer(records: list[dict[str, Any]], model: str | None, rules: bool,
                         fast: str, threads: int) -> Any:
    from inference.scoring.components import ClauseInput
    from inference.scoring.models import load_scorer
    from inference.scoring.runtime import configure_threads

    configure_threads(threads)
    scorer = load_scorer(model, rules=rules, fast=fast)
    scorer.predict([ClauseInput(r["text"], r["section"], r["title"]) for r in records[:16]])
    return scorer


def baseline(records: list[dict[str, Any]], scorer: Any) -> tuple[float, list[dict[str, Any]]]:
    """``predict --clauses`` on the records, in this process (the scorer warmed up)."""
    from inference.batch.run import run_clauses

    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                          encoding="utf-8")
        summary = run_clauses(str(source), str(out), scorer)
        scored = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return summary.clauses / summary.seconds, scored


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: str | None, rules: bool, fast: str, threads: int, args: Any,
                 workdir: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    command = [sys.executable, "-m", "policy_clauses.cli", "-q", "serve", "--port", str(port),
               "--threads", str(threads), "--fast", fast,
               "--max-queue-clauses", str(args.max_queue_clauses),
               "--reviewed-out", str(workdir / "reviewed.jsonl")]
    command += ["--rules"] if rules else (["--model", str(Path(model).resolve())] if model
                                          else [])
    process = subprocess.Popen(command, cwd=workdir, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                               stdout=subprocess.DEVNULL, stderr=(workdir / "serve.log").open("w"),
                               start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("serve exited: " + (workdir / "serve.log").read_text()[-2000:])
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("serve did not answer /health in 300 s")


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def load(port: int, requests: list[list[dict[str, Any]]], clients: int,
         deadline_s: float) -> dict[str, Any]:
    """The clients: each takes the next request until none is left or the deadline passes."""
    todo = list(enumerate(requests))
    lock = threading.Lock()
    answers: dict[int, list[dict[str, Any]]] = {}
    answered_twice: list[int] = []
    latencies: list[float] = []
    failures: list[str] = []
    retries = [0]
    stop_at = time.monotonic() + deadline_s

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.monotonic() < stop_at:
            with lock:
                if not todo:
                    return
                rid, clauses = todo.pop(0)
            body = json.dumps({"clauses": clauses}, ensure_ascii=False).encode("utf-8")
            started = time.perf_counter()
            while time.monotonic() < stop_at:
                try:
                    connection.request("POST", "/v1/predict", body,
                                       {"Content-Type": "application/json"})
                    response = connection.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    with lock:
                        failures.append(f"request {rid}: {exc}")
                    break
                if response.status == 503:
                    with lock:
                        retries[0] += 1
                    time.sleep(float(response.getheader("Retry-After", "1")))
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status != 200:
                        failures.append(f"request {rid}: {response.status} {payload[:200]!r}")
                    elif rid in answers:
                        answered_twice.append(rid)
                    else:
                        answers[rid] = json.loads(payload)["records"]
                        latencies.append(elapsed)
                break
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"answers": answers, "answered_twice": answered_twice, "latencies": latencies,
            "failures": failures, "retries": retries[0], "wall": wall,
            "unsent": len(todo)}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default models/default)")
    parser.add_argument("--rules", action="store_true", help="the rule baseline instead")
    parser.add_argument("--fast", default="none", choices=("none", "int8", "bf16"))
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--clauses", type=int, default=480, help="clauses in all")
    parser.add_argument("--per-request", type=int, default=4, help="clauses per request")
    parser.add_argument("--docs", type=int, default=20, help="documents per slice file")
    parser.add_argument("--corpus", default=str(CORPUS),
                        help=f"folder of the corpus slice files (default {CORPUS})")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both sides (default: all cores)")
    parser.add_argument("--max-queue-clauses", type=int, default=8192)
    parser.add_argument("--deadline", type=float, default=900.0,
                        help="seconds the load phase may take at most")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args()
    # every clause encoded, here and in the server it starts (the environment is inherited):
    # the rates are the model's work, not the repeat memory's
    os.environ["POLICY_CLAUSES_REPEAT_MEMORY"] = "0"

    from inference.scoring.runtime import available_cores

    threads = args.threads or available_cores()
    records = clause_records(Path(args.corpus), args.docs, args.clauses)
    n = len(records)
    print(f"{n} clauses from {args.docs} documents per slice file; {args.clients} clients, "
          f"{args.per_request} clauses per request, {threads} torch threads", file=sys.stderr)
    scorer = load_baseline_scorer(records, args.model, args.rules, args.fast, threads)
    predict_before, expected = baseline(records, scorer)
    print(f"predict --clauses: {predict_before:.1f} clauses/s", file=sys.stderr)

    tagged = [dict(r, rid=i // args.per_request, pos=i % args.per_request)
              for i, r in enumerate(records)]
    requests = [tagged[i:i + args.per_request] for i in range(0, n, args.per_request)]
    with tempfile.TemporaryDirectory() as tmp:
        process, port = start_server(args.model, args.rules, args.fast, threads, args,
                                     Path(tmp))
        try:
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            warm.request("POST", "/v1/predict", json.dumps({"clauses": records[:16]}),
                         {"Content-Type": "application/json"})
            assert warm.getresponse().read()
            result = load(port, requests, args.clients, args.deadline)
            rss = peak_rss_mb(process.pid)
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            probe.request("GET", "/health")
            batches = json.loads(probe.getresponse().read())["batches"]
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    # the baseline again after the load: on a shared machine the load around both moves, and
    # the mean of before and after is the fairer reference
    predict_after, _ = baseline(records, scorer)
    print(f"predict --clauses again: {predict_after:.1f} clauses/s", file=sys.stderr)
    predict_rate = (predict_before + predict_after) / 2
    answers = result["answers"]
    seen: dict[tuple[int, int], int] = {}
    mismatched = 0
    for rid, got in answers.items():
        if [(r["rid"], r["pos"]) for r in got] != [(c["rid"], c["pos"]) for c in requests[rid]]:
            mismatched += 1
        for record in got:
            key = (record["rid"], record["pos"])
            seen[key] = seen.get(key, 0) + 1
    duplicated = sum(1 for count in seen.values() if count > 1)
    lost = n - len(seen)
    agree = sum(1 for i, want in enumerate(expected)
                if seen.get((i // args.per_request, i % args.per_request))
                and answers[i // args.per_request][i % args.per_request]["labels"]
                == want["labels"])
    served = sum(len(got) for got in answers.values())
    rate = served / result["wall"] if result["wall"] else 0.0
    figures = {
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                    "python": platform.python_version(), "torch_threads": threads},
        "scorer": "rules" if args.rules else (args.model or "models/default"),
        "fast": args.fast, "clients": args.clients, "clauses": n,
        "per_request": args.per_request, "requests": len(requests),
        "predict_clauses_per_s": round(predict_rate, 1),
        "predict_before_after": [round(predict_before, 1), round(predict_after, 1)],
        "serve_clauses_per_s": round(rate, 1),
        "ratio_to_predict": round(rate / predict_rate, 3) if predict_rate else None,
        "latency_p50_s": round(percentile(result["latencies"], 0.50), 3),
        "latency_p95_s": round(percentile(result["latencies"], 0.95), 3),
        "retries_after_503": result["retries"],
        "lost_clauses": lost, "duplicated_clauses": duplicated,
        "requests_answered_twice": len(result["answered_twice"]),
        "requests_out_of_order": mismatched, "failures": result["failures"][:10],
        "unsent_requests": result["unsent"],
        "labels_agree_with_predict": f"{agree}/{n}",
        "server_peak_rss_mb": round(rss, 1) if rss else None,
        "server_batches": batches,
        "load_seconds": round(result["wall"], 2),
    }
    print("| measure | value |\n|---|---|")
    for key, value in figures.items():
        print(f"| {key} | {value} |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    ok = lost == 0 and duplicated == 0 and not result["answered_twice"] and mismatched == 0
    return 0 if ok else 1


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
