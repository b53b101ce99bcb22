"""Benchmark ``policy-clauses predict`` (not a test): speed vs a plain transformers pipeline,
peak RSS on a small vs a large crawl, and the int8 fast path's quality delta.

    .venv/bin/python benchmarks/bench_predict.py --model models/default \
        --docs 20 --clauses 400 --rss-docs 1000 10000 --json benchmarks/results.json

Without --model (or when models/default holds no model) it wraps models/backbone/* (or a
tiny random model) with RANDOM heads: those figures measure speed and memory only.
Prints a Markdown table to stdout and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "data" / "corpus"
SLICE_FILES = ("mee_documents.jsonl", "st_policies.jsonl")


def corpus_slice(n_docs: int) -> list[str]:
    """The first ``n_docs`` lines of each slice file (a fixed, reproducible slice)."""
    lines: list[str] = []
    for name in SLICE_FILES:
        with (CORPUS / name).open(encoding="utf-8") as handle:
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


def time_ours(model: Path, crawl: Path, fast: str) -> tuple[dict[str, Any], list[Any]]:
    """End to end: read → clean → segment → score → write, model loaded beforehand."""
    from inference.batch.run import run_documents
    from inference.scoring.components import ClauseInput
    from inference.scoring.models import load_scorer

    scorer = load_scorer(model, fast=fast)
    scorer.predict([ClauseInput("预热一次，一次性开销不计入。", "一、总体要求")])  # warm-up
    out = crawl.with_name(f"ours-{fast}.jsonl")
    summary = run_documents([crawl], str(out), scorer, progress=False)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return ({"clauses": summary.clauses, "seconds": summary.seconds,
             "clauses_per_s": summary.clauses / summary.seconds},
            [c for r in records for c in r["clauses"]])


def time_pipeline(model: Path, inputs: list[Any]) -> dict[str, Any]:
    """The plain way: transformers pipelines, default settings, one clause at a time."""
    from transformers import pipeline

    from inference.scoring.encoding import format_context
    from inference.scoring.model_folder import read_meta

    mode = read_meta(model / "classifier", "classifier").context
    classify = pipeline("text-classification", model=str(model / "classifier"), top_k=None)
    tag = pipeline("token-classification", model=str(model / "tagger"))
    classify("预热一次。")  # warm-up, as for ours
    tag("预热一次。")
    started = time.perf_counter()
    for item in inputs:
        context = format_context(item.section, item.title, mode)
        classify({"text": item.text, "text_pair": context} if context else item.text,
                 truncation=True)
        tag(item.text)
    seconds = time.perf_counter() - started
    return {"clauses": len(inputs), "seconds": seconds, "clauses_per_s": len(inputs) / seconds}


def tokenise_share(model: Path, inputs: list[Any], total_seconds: float) -> dict[str, float]:
    """What a shared tokenisation pass could save at most: the time both tokenisers take."""
    from inference.scoring.models import load_scorer

    scorer = load_scorer(model)
    from inference.scoring.encoding import encode_for_classifier, format_context

    texts = [i.text for i in inputs]
    started = time.perf_counter()
    encode_for_classifier(scorer.classifier.tokenizer, texts,
                          [format_context(i.section, i.title, scorer.classifier.context)
                           for i in inputs], max_length=scorer.classifier.max_length,
                          mode=scorer.classifier.context)
    scorer.tagger.tokenizer(texts, truncation=True, max_length=scorer.tagger.max_length,
                            stride=scorer.tagger.stride, return_overflowing_tokens=True,
                            return_offsets_mapping=True)
    seconds = time.perf_counter() - started
    return {"tokenise_seconds": seconds, "share_of_scoring": seconds / total_seconds}


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


def quality_on_test_split(model: Path, fast: str) -> dict[str, float]:
    """Clause micro-F1 and entity micro-F1 on the labels/ test split, through the same
    ``evaluate`` as ``policy-clauses evaluate --fast``."""
    from training.eval.evaluate import evaluate

    result = evaluate(model, "test", baseline=False, fast=fast)
    return {"micro_f1": result.model.metrics.labels.micro_f1,
            "entity_f1": result.model.metrics.entity_micro_f1,
            "clauses": result.data["clauses"]}


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """Max RSS (MB) of one predict subprocess, measured in a wrapper so runs do not mix."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], capture_output=True); "
             "assert r.returncode == 0, r.stderr.decode()[-2000:]; "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "
             "time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    rss, seconds = out.stdout.split()
    return float(rss), float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default models/default)")
    parser.add_argument("--docs", type=int, default=20,
                        help="documents taken from the head of each slice file (default 20)")
    parser.add_argument("--clauses", type=int, default=400,
                        help="clauses for the plain-pipeline loop (default 400)")
    parser.add_argument("--rss-docs", type=int, nargs="*", default=[1000, 10000],
                        help="crawl sizes for the peak-RSS runs (default 1000 10000)")
    parser.add_argument("--rss-model", default=None,
                        help="model for the RSS runs (default: the benchmark model; 'rules' "
                        "for the rule baseline)")
    parser.add_argument("--rss-chars", type=int, default=100,
                        help="cut each document of the RSS crawls to this many characters "
                        "(default 100; 0 keeps whole documents)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results.json"))
    args = parser.parse_args()

    from inference.scoring.runtime import FAST_MODES, available_cores, configure_threads

    threads = configure_threads()
    work = Path(tempfile.mkdtemp(prefix="bench_predict_"))
    model, model_note = resolve_model(args.model, work)
    lines = corpus_slice(args.docs)
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

    results: dict[str, Any] = {"model": model_note, "model_dir": str(model),
                               "machine": f"{platform.processor() or platform.machine()}, "
                               f"{available_cores()} cores", "torch_threads": threads,
                               "slice": {"files": SLICE_FILES, "docs_per_file": args.docs}}
    speed: dict[str, Any] = {}
    clauses_by_mode: dict[str, list[Any]] = {}
    for fast in FAST_MODES:
        speed[fast], clauses_by_mode[fast] = time_ours(model, speed_crawl, fast)
    plain = time_pipeline(model, clause_inputs(speed_crawl, 10**9))
    results["speed"] = {"ours": speed, "plain_pipeline": plain,
                        "ratio": {fast: speed[fast]["clauses_per_s"] / plain["clauses_per_s"]
                                  for fast in FAST_MODES}}
    results["tokenisation"] = tokenise_share(model, clause_inputs(speed_crawl, 10**9),
                                             speed["none"]["seconds"])
    results["vs_fp32"] = {fast: agreement(clauses_by_mode["none"], clauses_by_mode[fast])
                          for fast in FAST_MODES if fast != "none"}
    if model_note.startswith("trained model"):
        results["test_split"] = {fast: quality_on_test_split(model, fast) for fast in FAST_MODES}

    rss_model = args.rss_model or str(model)
    which = ["--rules"] if rss_model == "rules" else ["--model", rss_model]
    results["rss"] = {"scorer": rss_model, "chars_per_doc": args.rss_chars}
    for n in args.rss_docs:
        big = repeated_crawl(lines, n, work / f"crawl-{n}.jsonl", args.rss_chars)
        rss, seconds = peak_rss_mb([sys.executable, "-m", "policy_clauses.cli", "-q", "predict",
                                    str(big), "-o", str(work / f"rss-{n}.jsonl"),
                                    "--no-progress", *which])
        results["rss"][str(n)] = {"peak_rss_mb": rss, "seconds": seconds}

    Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False),
                               encoding="utf-8")
    print(markdown(results))


def _clause_counts(crawl: Path) -> list[int]:
    from inference.batch.run import iter_documents
    from inference.records import Document

    return [len(d.clauses) if isinstance(d, Document) else 0 for d in iter_documents([crawl])]


def markdown(r: dict[str, Any]) -> str:
    s = r["speed"]
    rows = [
        f"Model: {r['model']}; machine: {r['machine']}; torch threads {r['torch_threads']}",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for fast in s["ours"]:
        rows.append(f"| ours, --fast {fast}, end to end | {s['ours'][fast]['clauses_per_s']:.1f} "
                    f"clauses/s ({s['ours'][fast]['clauses']} clauses); "
                    f"{s['ratio'][fast]:.1f}x the plain pipelines |")
    rows += [
        f"| plain transformers pipelines, float32 (clauses only) | "
        f"{s['plain_pipeline']['clauses_per_s']:.1f} clauses/s |",
        f"| tokenising for both models | {r['tokenisation']['tokenise_seconds']:.2f}s = "
        f"{100 * r['tokenisation']['share_of_scoring']:.1f}% of the float32 run |",
    ]
    for fast, a in r["vs_fp32"].items():
        rows.append(f"| {fast} vs float32: same label set / entity F1 / max score drift | "
                    f"{100 * a['label_set_agreement']:.1f}% / {a['entity_f1_vs_fp32']:.3f} / "
                    f"{a['max_score_drift']:.3f} |")
    for fast, g in r.get("test_split", {}).items():
        rows.append(f"| test split ({g['clauses']} clauses), --fast {fast}: micro-F1 / entity F1 "
                    f"| {g['micro_f1']:.3f} / {g['entity_f1']:.3f} |")
    for n, v in r["rss"].items():
        if n not in ("scorer", "chars_per_doc"):
            rows.append(f"| peak RSS, {n} documents ({r['rss']['scorer']}) | "
                        f"{v['peak_rss_mb']:.0f} MB in {v['seconds']:.0f}s |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
