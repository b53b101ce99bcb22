"""Benchmark ``policy-clauses predict`` (not a test): per runtime path (plain pipeline loop,
float32, bf16, int8, onnx, auto) clauses/s and the ratio to the plain loop from the same run,
test-split quality, FLOPs per clause, time to first record, peak RSS on crawls of full-length
documents, and the CPU it ran on.

    .venv/bin/python benchmarks/bench_predict.py --model models/default \
        --docs 20 --clauses 400 --rss-docs 1000 10000 --json benchmarks/results.json

Without --model (or when models/default holds no model) it wraps models/backbone/* (or a
tiny random model) with RANDOM heads: those figures measure speed and memory only.
Prints a Markdown table to stdout and writes the figures as JSON. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import statistics
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


def corpus_slice(n_docs: int, corpus: Path = CORPUS) -> list[str]:
    """The first ``n_docs`` lines of each slice file (a fixed, reproducible slice)."""
    lines: list[str] = []
    for name in SLICE_FILES:
        with (corpus / name).open(encoding="utf-8") as handle:
            lines += [line.rstrip("\n") for line in itertools.islice(handle, n_docs)]
    return lines


def repeated_crawl(lines: list[str], n_docs: int, path: Path, max_chars: int = 0) -> Path:
    """``n_docs`` documents: the slice repeated, each copy with its own id (and, with
    ``max_chars``, its text cut to that many characters, so a large crawl stays quick to score
    with a real model while still being many documents)."""
    with path.open("w", encoding="utf-8") as handle:
        for i, line in zip(range(n_docs), itertools.cycle(lines), strict=False):
            record = json.loads(line)
            record["id"] = f"{record.get('id', 'doc')}-r{i}"
            if max_chars and isinstance(record.get("text"), str):
                record["text"] = record["text"][:max_chars]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def resolve_model(model: str | None, workdir: Path) -> tuple[Path, str]:
    from tests.helpers.tiny_model import build_tiny_model, wrap_backbone

    default = ROOT / "models" / "default"
    if model:
        return Path(model), "trained model"
    if (default / "classifier" / "policy_clauses.json").is_file():
        return default, "trained model (models/default)"
    backbones = sorted((ROOT / "models" / "backbone").glob("*/config.json"))
    if backbones:
        folder = backbones[0].parent
        return (wrap_backbone(folder, workdir / "bench_model"),
                f"RANDOM heads on {folder.relative_to(ROOT)} (speed/memory only)")
    return build_tiny_model(workdir / "bench_model"), "tiny random model (speed/memory only)"


def clause_inputs(crawl: Path, limit: int) -> list[Any]:
    from inference.batch.run import iter_documents
    from inference.records import Document
    from inference.scoring.components import ClauseInput

    inputs = []
    for doc in iter_documents([crawl]):
        if isinstance(doc, Document):
            title = str(doc.meta.get("title", ""))
            inputs += [ClauseInput.from_clause(c, title) for c in doc.clauses]
    return inputs[:limit]


PATHS = ("plain", "none", "bf16", "int8", "onnx", "auto")


def cpu_info() -> dict[str, Any]:
    """The CPU model (lscpu "Model name"), the flags that decide the runtime, the cores, and
    ``$POLICY_CLAUSES_CPU_FLAGS`` when it overrides what ``auto`` sees."""
    from inference.scoring.runtime import CPU_FLAGS_ENV, available_cores, hardware_flags

    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                      if line.startswith("Model name")), model)
    except (OSError, subprocess.CalledProcessError):
        pass
    flags = hardware_flags()
    relevant = sorted(f for f in flags if f.startswith(("amx", "avx512_bf16", "avx512_vnni",
                                                        "avx_vnni", "avx512f", "avx2")))
    return {"model": model, "cores": available_cores(), "flags": relevant,
            "flags_override": os.environ.get(CPU_FLAGS_ENV)}


def load_path(model: Path, path: str) -> Any:
    """The scorer of a benchmark path: a ``--fast`` mode, or ``onnx:METHOD`` (``--fast onnx``
    with ``$POLICY_CLAUSES_ONNX_QUANT=METHOD``)."""
    from inference.scoring.models import load_scorer
    from inference.scoring.onnx_runtime import QUANT_ENV

    fast, _, method = path.partition(":")
    if method:
        os.environ[QUANT_ENV] = method
    try:
        return load_scorer(model, fast=fast)
    finally:
        os.environ.pop(QUANT_ENV, None)


def time_ours(model: Path, crawl: Path, fast: str) -> tuple[dict[str, Any], list[Any]]:
    """End to end: read → clean → segment → score → write, model loaded (load time reported
    apart: for onnx the first load exports and calibrates) and warmed up beforehand."""
    from inference.batch.run import run_documents
    from inference.scoring.components import ClauseInput

    started = time.perf_counter()
    scorer = load_path(model, fast)
    load_seconds = time.perf_counter() - started
    scorer.predict([ClauseInput("预热一次，一次性开销不计入。", "一、总体要求")])  # warm-up
    out = crawl.with_name(f"ours-{fast.replace(':', '-')}.jsonl")
    cpu = time.process_time()
    summary = run_documents([crawl], str(out), scorer, progress=False)
    cpu = time.process_time() - cpu
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return ({"scorer": scorer.name, "clauses": summary.clauses, "seconds": summary.seconds,
             "clauses_per_s": summary.clauses / summary.seconds, "load_seconds": load_seconds,
             "cpu_seconds": cpu, "clauses_per_cpu_s": summary.clauses / cpu,
             # clauses answered from memory (inference.scoring.repeats); 0 with
             # POLICY_CLAUSES_REPEAT_MEMORY=0, which times every clause's encoder pass
             "reused": summary.reused},
            [c for r in records for c in r["clauses"]])


def time_pipeline(model: Path, inputs: list[Any]) -> dict[str, Any]:
    """The plain way: transformers pipelines over the classifier/ and tagger/ folders,
    default settings, float32, one clause at a time."""
    from transformers import pipeline

    from inference.scoring.encoding import format_context
    from inference.scoring.model_folder import read_meta

    mode = read_meta(model / "classifier", "classifier").context
    classify = pipeline("text-classification", model=str(model / "classifier"), top_k=None)
    tag = pipeline("token-classification", model=str(model / "tagger"))
    classify("预热一次。")  # warm-up, as for ours
    tag("预热一次。")
    started, cpu = time.perf_counter(), time.process_time()
    for item in inputs:
        context = format_context(item.section, item.title, mode)
        classify({"text": item.text, "text_pair": context} if context else item.text,
                 truncation=True)
        tag(item.text)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"clauses": len(inputs), "seconds": seconds, "clauses_per_s": len(inputs) / seconds,
            "cpu_seconds": cpu, "clauses_per_cpu_s": len(inputs) / cpu}


def encoder_flops(config: Any, lengths: list[int]) -> float:
    """Multiply-adds × 2 of a BERT-style encoder over windows of these lengths: per layer and
    token the Q, K, V and output projections (4·H²) and the feed-forward (2·H·I), plus the
    attention products (2·T·H per token: scores and weighted sum). Embeddings, layer norms,
    softmax and the heads are left out (under 1%)."""
    hidden, inter, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    return float(sum(2 * layers * (t * (4 * hidden * hidden + 2 * hidden * inter)
                                   + 2 * t * t * hidden) for t in lengths))


def flops_per_clause(model: Path, inputs: list[Any]) -> dict[str, Any]:
    """Analytic FLOPs per clause of the model as ``predict`` runs it (the windows it really
    encodes, context and special tokens included)."""
    from inference.scoring.encoding import encode_for_classifier, encode_for_tagger, format_context
    from inference.scoring.models import load_scorer

    scorer = load_scorer(model, fast="none")
    texts = [i.text for i in inputs]
    if scorer.shared is not None:
        from inference.scoring.encoding import encode_joint

        settings = scorer.shared.settings
        contexts = [format_context(i.section, i.title, settings.context) for i in inputs]
        windows = encode_joint(scorer.shared.tokenizer, texts, contexts,
                               max_length=settings.max_length, stride=settings.stride,
                               max_context_tokens=settings.max_context_tokens)["input_ids"]
        lengths = [len(w) for w in windows]
        config = scorer.classifier.model.config
        flops = encoder_flops(config, lengths)
        parts = {"shared_encoder": {"layers": config.num_hidden_layers,
                                    "hidden": config.hidden_size,
                                    "intermediate": config.intermediate_size,
                                    "windows_per_clause": len(lengths) / len(inputs),
                                    "mean_tokens_per_window": sum(lengths) / len(lengths)}}
    else:
        classifier, tagger = scorer.classifier, scorer.tagger
        assert tagger is not None
        contexts = [format_context(i.section, i.title, classifier.context) for i in inputs]
        c_len = [len(ids) for ids in encode_for_classifier(
            classifier.tokenizer, texts, contexts, max_length=classifier.max_length,
            mode=classifier.context)["input_ids"]]
        t_len = [len(ids) for ids in encode_for_tagger(
            tagger.tokenizer, texts, max_length=tagger.max_length,
            stride=tagger.stride)["input_ids"]]
        flops = (encoder_flops(classifier.model.config, c_len)
                 + encoder_flops(tagger.model.config, t_len))
        parts = {name: {"layers": m.config.num_hidden_layers, "hidden": m.config.hidden_size,
                        "intermediate": m.config.intermediate_size,
                        "windows_per_clause": len(lens) / len(inputs),
                        "mean_tokens_per_window": sum(lens) / len(lens)}
                 for name, m, lens in (("classifier", classifier.model, c_len),
                                       ("tagger", tagger.model, t_len))}
    return {"gflop_per_clause": flops / len(inputs) / 1e9, "parts": parts,
            "parameters_m": sum(p.numel() for p in scorer.classifier.model.parameters()) / 1e6}


def agreement(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, float]:
    """float32 vs a fast path on the same clauses: label decisions, entity sets, score
    drift."""
    same_labels = sum(x.get("labels") == y.get("labels") for x, y in zip(a, b, strict=True))
    ents = [({(e["start"], e["end"], e["type"]) for e in x.get("entities", [])},
             {(e["start"], e["end"], e["type"]) for e in y.get("entities", [])})
            for x, y in zip(a, b, strict=True)]
    tp = sum(len(x & y) for x, y in ents)
    n_a, n_b = sum(len(x) for x, _ in ents), sum(len(y) for _, y in ents)
    drift = max((abs(x["scores"][k] - y["scores"][k]) for x, y in zip(a, b, strict=True)
                 for k in x.get("scores", {})), default=0.0)
    return {"label_set_agreement": same_labels / max(1, len(a)),
            "entity_f1_vs_fp32": 2 * tp / max(1, n_a + n_b),
            "max_score_drift": drift}


def test_split_records(limit: int | None) -> tuple[list[Any], dict[str, str]]:
    """The labels/ test split (its first ``limit`` clauses, in gold order) and the
    titles ``predict`` would see, as ``policy-clauses evaluate`` reads them."""
    from training.data import gold as gold_data
    from training.fit.data import document_titles

    records = gold_data.records_for_split(gold_data.read_gold(gold_data.GOLD_PATH), "test",
                                          gold_data.load_splits(gold_data.SPLITS_PATH))
    if limit:
        records = records[:limit]
    return records, document_titles(gold_data.DOCUMENTS_PATH, {r.doc_id for r in records})


def quality(model: Path, fast: str, records: list[Any], titles: dict[str, str]) -> dict[str, Any]:
    """Clause micro-F1 and entity micro-F1 through ``training.eval.evaluate.evaluate_scorer``,
    the code path of ``policy-clauses evaluate --fast MODE``."""
    from training.eval.evaluate import evaluate_scorer

    result = evaluate_scorer(load_path(model, fast), records, titles)
    return {"micro_f1": result.metrics.labels.micro_f1,
            "entity_f1": result.metrics.entity_micro_f1, "clauses": len(records)}


def first_record_seconds(model: Path, small: Path, fast: str) -> tuple[float, float]:
    """Seconds from starting ``policy-clauses predict`` on one small document until its
    first output line arrives (``-o -``): process start, imports, model load, scoring; and
    the CPU seconds (user + system) of the whole process, which a busy machine inflates far
    less than the wall time."""
    import resource

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu_before = children_cpu()
    started = time.perf_counter()
    with subprocess.Popen([sys.executable, "-m", "policy_clauses.cli", "-q", "predict",
                           str(small), "-o", "-", "--no-progress", "--model", str(model),
                           "--fast", fast], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        seconds = time.perf_counter() - started
        _, err = proc.communicate()
    if not line:
        raise RuntimeError(f"predict --fast {fast} wrote nothing: {err.decode()[-2000:]}")
    return seconds, children_cpu() - cpu_before


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """Max RSS (MB) of one predict subprocess, measured in a wrapper so runs do not mix."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], capture_output=True); "
             "assert r.returncode == 0, r.stderr.decode()[-2000:]; "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "
             "time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    rss, seconds = out.stdout.split()
    return float(rss), float(seconds)


def corpus_documents(corpus: Path = CORPUS, seed: int = 0) -> list[str]:
    """Every document line of the corpus folder's ``*.jsonl`` files, in one fixed shuffled
    order (all corpora mixed from the first document on, as a crawl would be)."""
    lines: list[str] = []
    for path in sorted(corpus.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            lines += [line.rstrip("\n") for line in handle if line.strip()]
    random.Random(seed).shuffle(lines)
    return lines


def _feed(lines: list[str], n_docs: int, sink: Any) -> None:
    """Write ``n_docs`` whole documents to ``sink``: ``lines`` cycled, each copy with a fresh
    id (never cut short); stops quietly if the reader goes away."""
    try:
        for i, line in zip(range(n_docs), itertools.cycle(lines), strict=False):
            record = json.loads(line)
            record["id"] = f"{record.get('id', 'doc')}-s{i}"
            sink.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        sink.close()
    except (BrokenPipeError, OSError):
        pass


def _memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc (Linux); (0, 0) once it is gone."""
    fields: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    fields[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def _count_lines(path: Path, state: dict[str, int]) -> int:
    """Lines in ``path`` so far, reading only what was appended since the last call."""
    try:
        with path.open("rb") as handle:
            handle.seek(state.get("offset", 0))
            block = handle.read()
    except OSError:
        return state.get("lines", 0)
    state["offset"] = state.get("offset", 0) + len(block)
    state["lines"] = state.get("lines", 0) + block.count(b"\n")
    return state["lines"]


def stream_rss(which: list[str], n_docs: int, checkpoints: list[int], lines: list[str],
               workdir: Path, poll_seconds: float = 0.5) -> dict[str, Any]:
    """Peak RSS of one ``predict`` process fed ``n_docs`` whole documents on stdin (the
    corpus cycled with fresh ids, written as the process reads them, so no crawl file is
    made): VmHWM and VmRSS (Linux /proc) when the output first holds each checkpoint's number
    of documents, and at the end. Flat means the figures stop growing with the documents."""
    out, errors = workdir / f"stream-{n_docs}.jsonl", workdir / f"stream-{n_docs}.errors.jsonl"
    marks = sorted({c for c in checkpoints if 0 < c < n_docs} | {n_docs})
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "policy_clauses.cli", "-q", "predict", "-",
                             "-o", str(out), "--errors", str(errors), "--no-progress", *which],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    feeder = threading.Thread(target=_feed, args=(lines, n_docs, proc.stdin), daemon=True)
    feeder.start()
    seen: dict[str, Any] = {}
    counts: dict[str, dict[str, int]] = {"out": {}, "errors": {}}
    peak = 0.0
    while True:
        # wait4, not poll(): it hands back this child's own rusage, whose ru_maxrss is the
        # peak of the whole run (the last /proc sample may miss the final moments)
        reaped, status, usage = os.wait4(proc.pid, os.WNOHANG)
        finished = reaped == proc.pid
        if finished:
            proc.returncode = os.waitstatus_to_exitcode(status)
            peak = max(peak, usage.ru_maxrss / 1024)
        rss, hwm = _memory_mb(proc.pid) if not finished else (0.0, 0.0)
        peak = max(peak, hwm)
        done = _count_lines(out, counts["out"]) + _count_lines(errors, counts["errors"])
        while marks and done >= marks[0] and not finished:
            mark = str(marks.pop(0))
            seen[mark] = {"documents": done, "peak_rss_mb": round(peak, 1),
                          "rss_mb": round(rss, 1),
                          "seconds": round(time.perf_counter() - started, 1)}
            # as it happens: a long run stopped early still leaves its checkpoints
            print(f"rss-stream: {mark} documents: {seen[mark]}", file=sys.stderr, flush=True)
        if finished:
            break
        time.sleep(poll_seconds)
    seconds = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"predict (stream of {n_docs}) failed: {err[-2000:]}")
    final = {"documents": done, "peak_rss_mb": round(peak, 1),
             "seconds": round(seconds, 1), "errors": counts["errors"].get("lines", 0),
             "summary": err.strip().splitlines()[-1] if err.strip() else ""}
    seen[str(n_docs)] = final
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default models/default)")
    parser.add_argument("--corpus", type=Path, default=CORPUS,
                        help="folder of the corpus JSONL files (default ../shared/data/corpus)")
    parser.add_argument("--docs", type=int, default=20,
                        help="documents taken from the head of each slice file (default 20)")
    parser.add_argument("--clauses", type=int, default=400,
                        help="about this many clauses (whole documents) for the speed runs "
                        "(default 400)")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS),
                        help="paths to time: plain (the pipeline() loop) and --fast modes "
                        "(default all; the ratio needs plain)")
    parser.add_argument("--onnx-quant", nargs="+", choices=("dynamic", "static", "none"),
                        default=["dynamic"], help="ONNX quantisation methods to run as paths "
                        "onnx:METHOD (default: the default method only, as path onnx)")
    parser.add_argument("--quality-clauses", type=int, default=None,
                        help="score the first N test-split clauses per path (default the whole "
                        "split; 0 skips quality)")
    parser.add_argument("--rss-docs", type=int, nargs="*", default=[1000, 10000],
                        help="crawl sizes for the peak-RSS runs (default 1000 10000; whole "
                        "documents: 10000 takes about an hour with a 12-layer float32 model)")
    parser.add_argument("--rss-model", default=None,
                        help="model for the RSS runs (default: the benchmark model; 'rules' "
                        "for the rule baseline)")
    parser.add_argument("--rss-fast", default="auto",
                        help="--fast mode of the RSS and first-record runs (default auto, "
                        "predict's default)")
    parser.add_argument("--rss-chars", type=int, default=0,
                        help="cut each document of the RSS crawls to this many characters "
                        "(default 0: whole documents)")
    parser.add_argument("--rss-stream", type=int, default=0, metavar="N",
                        help="also stream N whole documents (every corpus document in a fixed "
                        "shuffled order, cycled with fresh ids) through one predict process on "
                        "stdin and report its peak RSS at the --rss-at checkpoints and at the "
                        "end (default 0: off)")
    parser.add_argument("--rss-at", type=int, nargs="+", default=[200, 500, 1000, 2000, 5000],
                        help="documents done at which --rss-stream reports the peak RSS so far "
                        "(default 200 500 1000 2000 5000; the end is always reported)")
    parser.add_argument("--first-record-runs", type=int, default=3, metavar="N",
                        help="time the first record N times and report the median (default 3)")
    parser.add_argument("--only", choices=("rss-stream", "first-record"), default=None,
                        help="measure only this (with the --rss-* options) and skip the rest")
    parser.add_argument("--plain-model", default=None,
                        help="also time the plain pipeline() loop over this model folder (the "
                        "model the benchmark model replaces) and give the ratios to it")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results.json"))
    args = parser.parse_args()

    from inference.scoring.runtime import configure_allocator, configure_threads, resolve_fast

    threads = configure_threads()
    # what predict does at start-up; the plain loop below runs in this process too, so it
    # gets the same allocator (its one-clause batches never reach the thresholds it moves)
    allocator_tuned = configure_allocator()
    work = Path(tempfile.mkdtemp(prefix="bench_predict_"))
    model, model_note = resolve_model(args.model, work)
    lines = corpus_slice(args.docs, args.corpus)
    rss_model = args.rss_model or str(model)
    which = ["--rules"] if rss_model == "rules" else ["--model", rss_model,
                                                      "--fast", args.rss_fast]
    results: dict[str, Any] = {"model": model_note, "model_dir": str(model), "cpu": cpu_info(),
                               "torch_threads": threads, "allocator_tuned": allocator_tuned,
                               "auto_resolves_to": resolve_fast("auto", announce=False),
                               "slice": {"files": SLICE_FILES, "docs_per_file": args.docs}}
    if args.only in (None, "first-record"):
        small = work / "small.jsonl"
        small.write_text(min(lines, key=len) + "\n", encoding="utf-8")
        runs = [first_record_seconds(model, small, args.rss_fast)
                for _ in range(args.first_record_runs)]
        results["first_record_seconds"] = {args.rss_fast: statistics.median(w for w, _ in runs)}
        results["first_record_runs"] = {args.rss_fast: [{"seconds": round(w, 3),
                                                         "cpu_seconds": round(c, 3)}
                                                        for w, c in runs]}
    if args.only in (None, "rss-stream") and args.rss_stream:
        results["rss_stream"] = {"scorer": rss_model, "fast": args.rss_fast,
                                 "corpus": str(args.corpus), "documents": args.rss_stream,
                                 "at": stream_rss(which, args.rss_stream, args.rss_at,
                                                  corpus_documents(args.corpus), work)}
    if args.only is None:
        measure_speed_quality_rss(args, model, model_note, lines, which, work, results)
    Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False),
                               encoding="utf-8")
    print(markdown(results))


def measure_speed_quality_rss(args: argparse.Namespace, model: Path, model_note: str,
                              lines: list[str], which: list[str], work: Path,
                              results: dict[str, Any]) -> None:
    """Speed per path, agreement, FLOPs, test-split quality and the per-size RSS runs (the
    full benchmark, everything but first record and the stream) into ``results``."""
    from inference.errors import UserError

    crawl = work / "slice.jsonl"
    crawl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # the speed comparison uses the first --clauses clauses end to end: a slice of whole docs
    speed_crawl = work / "speed.jsonl"
    kept, count = [], 0
    for line, doc_clauses in zip(lines, _clause_counts(crawl), strict=True):
        if count >= args.clauses:
            break
        kept.append(line)
        count += doc_clauses
    speed_crawl.write_text("\n".join(kept) + "\n", encoding="utf-8")
    inputs = clause_inputs(speed_crawl, 10**9)

    speed: dict[str, Any] = {}
    clauses_by_mode: dict[str, list[Any]] = {}
    skipped: dict[str, str] = {}
    # one untimed pass first: whichever path runs first would otherwise pay for first-use
    # costs (allocator, segmenter and tokenizer caches) that are no part of its speed
    time_ours(model, speed_crawl, "none")
    paths = [p for p in args.paths if p not in ("plain", "onnx")]
    if "onnx" in args.paths:
        paths[paths.index("auto") if "auto" in paths else len(paths):0] = (
            [f"onnx:{m}" for m in args.onnx_quant] if args.onnx_quant != ["dynamic"]
            else ["onnx"])
    for fast in paths:
        try:
            speed[fast], clauses_by_mode[fast] = time_ours(model, speed_crawl, fast)
        except UserError as exc:  # onnx on a two-part model, or without onnxruntime
            skipped[fast] = f"{type(exc).__name__}: {exc}"
    plain = time_pipeline(model, inputs) if "plain" in args.paths else None
    # The plain loop over another model folder too (e.g. the model this one replaces): the
    # ratio the speed target is stated against, measured in this run.
    plain_other = (time_pipeline(Path(args.plain_model), inputs)
                   if args.plain_model and "plain" in args.paths else None)
    results["speed"] = {"ours": speed, "plain_pipeline": plain, "skipped": skipped,
                        "ratio": ({fast: v["clauses_per_s"] / plain["clauses_per_s"]
                                   for fast, v in speed.items()} if plain else {}),
                        "plain_pipeline_other": plain_other,
                        "plain_model_other": args.plain_model,
                        "ratio_other": ({fast: v["clauses_per_s"] / plain_other["clauses_per_s"]
                                         for fast, v in speed.items()} if plain_other else {}),
                        # per CPU second (the process's, all threads): what a loaded machine
                        # distorts least (wall time there is mostly waiting for a core)
                        "ratio_cpu": ({fast: v["clauses_per_cpu_s"] / plain["clauses_per_cpu_s"]
                                       for fast, v in speed.items()} if plain else {}),
                        "ratio_other_cpu": (
                            {fast: v["clauses_per_cpu_s"] / plain_other["clauses_per_cpu_s"]
                             for fast, v in speed.items()} if plain_other else {})}
    if "none" in clauses_by_mode:
        results["vs_fp32"] = {fast: agreement(clauses_by_mode["none"], clauses_by_mode[fast])
                              for fast in clauses_by_mode if fast != "none"}
    results["flops"] = flops_per_clause(model, inputs)
    if args.quality_clauses != 0:
        records, titles = test_split_records(args.quality_clauses)
        results["test_split"] = {fast: quality(model, fast, records, titles) for fast in speed}
        if not model_note.startswith("trained model"):
            results["test_split_note"] = "random heads: quality figures are meaningless"

    results["rss"] = {"scorer": args.rss_model or str(model), "fast": args.rss_fast,
                      "chars_per_doc": args.rss_chars or "whole documents"}
    for n in args.rss_docs:
        big = repeated_crawl(lines, n, work / f"crawl-{n}.jsonl", args.rss_chars)
        rss, seconds = peak_rss_mb([sys.executable, "-m", "policy_clauses.cli", "-q", "predict",
                                    str(big), "-o", str(work / f"rss-{n}.jsonl"),
                                    "--no-progress", *which])
        results["rss"][str(n)] = {"peak_rss_mb": rss, "seconds": seconds}


def _clause_counts(crawl: Path) -> list[int]:
    from inference.batch.run import iter_documents
    from inference.records import Document

    return [len(d.clauses) if isinstance(d, Document) else 0 for d in iter_documents([crawl])]


def markdown(r: dict[str, Any]) -> str:
    s = r.get("speed") or {"ours": {}, "plain_pipeline": None, "skipped": {}, "ratio": {}}
    cpu = r["cpu"]
    rows = [
        f"Model: {r['model']}; CPU: {cpu['model']} ({cpu['cores']} cores; flags: "
        f"{' '.join(cpu['flags']) or 'none of note'}); torch threads {r['torch_threads']}; "
        f"auto → {r['auto_resolves_to']}"
        + (f" (auto decided on POLICY_CLAUSES_CPU_FLAGS={cpu['flags_override']!r})"
           if cpu.get("flags_override") is not None else ""),
        "",
        "| measure | value |",
        "|---|---|",
    ]
    if s["plain_pipeline"]:
        rows.append(f"| plain transformers pipelines, float32 (clauses only) | "
                    f"{s['plain_pipeline']['clauses_per_s']:.1f} clauses/s |")
    if s.get("plain_pipeline_other"):
        rows.append(f"| plain transformers pipelines over {s['plain_model_other']}, float32 | "
                    f"{s['plain_pipeline_other']['clauses_per_s']:.1f} clauses/s; ours is "
                    + ", ".join(f"{fast} {r:.1f}x" for fast, r in s["ratio_other"].items())
                    + " that |")
    for fast, v in s["ours"].items():
        ratio = f"; {s['ratio'][fast]:.1f}x the plain pipelines" if fast in s["ratio"] else ""
        rows.append(f"| ours, --fast {fast} ({v['scorer']}), end to end | "
                    f"{v['clauses_per_s']:.1f} clauses/s ({v['clauses']} clauses){ratio}; "
                    f"load {v['load_seconds']:.1f}s |")
    for name, key, ratios in (("plain pipelines", "plain_pipeline", "ratio_cpu"),
                              (f"plain pipelines over {s.get('plain_model_other')}",
                               "plain_pipeline_other", "ratio_other_cpu")):
        if s.get(key) and "clauses_per_cpu_s" in s[key]:
            rows.append(f"| per CPU second: {name} {s[key]['clauses_per_cpu_s']:.1f} clauses; "
                        "ours | " + ", ".join(
                            f"{fast} {s['ours'][fast]['clauses_per_cpu_s']:.1f} "
                            f"({r:.1f}x)" for fast, r in s.get(ratios, {}).items()) + " |")
    for fast, why in s["skipped"].items():
        rows.append(f"| ours, --fast {fast} | not run: {why} |")
    for fast, a in r.get("vs_fp32", {}).items():
        rows.append(f"| {fast} vs float32: same label set / entity F1 / max score drift | "
                    f"{100 * a['label_set_agreement']:.1f}% / {a['entity_f1_vs_fp32']:.3f} / "
                    f"{a['max_score_drift']:.3f} |")
    base = r.get("test_split", {}).get("none")
    for fast, g in r.get("test_split", {}).items():
        delta = (f" ({100 * (g['micro_f1'] - base['micro_f1']):+.1f} / "
                 f"{100 * (g['entity_f1'] - base['entity_f1']):+.1f} points vs float32)"
                 if base and fast != "none" else "")
        rows.append(f"| test split ({g['clauses']} clauses), --fast {fast}: micro-F1 / entity F1 "
                    f"| {g['micro_f1']:.3f} / {g['entity_f1']:.3f}{delta} |")
    f = r.get("flops") or {"gflop_per_clause": 0.0, "parts": {}, "parameters_m": 0.0}
    shape = "; ".join(f"{name}: {p['layers']} layers × {p['hidden']} (FFN {p['intermediate']}), "
                      f"{p['windows_per_clause']:.2f} windows of {p['mean_tokens_per_window']:.1f}"
                      " tokens" for name, p in f["parts"].items())
    if r.get("flops"):
        rows.append(f"| FLOPs per clause | {f['gflop_per_clause']:.3f} GFLOP ({shape}; "
                    f"{f['parameters_m']:.1f}M parameters) |")
    for fast, seconds in r.get("first_record_seconds", {}).items():
        runs = r.get("first_record_runs", {}).get(fast, [])
        each = ", ".join(f"{x['seconds']:.2f}s ({x['cpu_seconds']:.2f}s CPU)" for x in runs)
        rows.append(f"| first record, one small document, --fast {fast} (process start to "
                    f"first line; median of {len(runs) or 1}) | {seconds:.2f}s"
                    + (f" [{each}]" if each else "") + " |")
    for n, v in r.get("rss", {}).items():
        if isinstance(v, dict):
            rows.append(f"| peak RSS, {n} documents ({r['rss']['chars_per_doc']}; "
                        f"--fast {r['rss']['fast']}) | {v['peak_rss_mb']:.0f} MB in "
                        f"{v['seconds']:.0f}s |")
    stream = r.get("rss_stream")
    for n, v in (stream or {}).get("at", {}).items():
        assert stream is not None
        rows.append(f"| peak RSS after {n} whole documents streamed (corpus cycled; --fast "
                    f"{stream['fast']}) | {v['peak_rss_mb']:.0f} MB at {v['seconds']:.0f}s |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
