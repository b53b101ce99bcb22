"""``predict --engine ray``: the same predictor through Ray Data, on one machine or a cluster.

The driver only plans: it lists the input files and cuts JSONL files into shards of byte
ranges (a few hundred lines each), so no document passes through it on the way in. Ray Data
then streams shards through two stages:

1. read → clean → segment (stateless CPU tasks; the same ``ingest``/``pipeline`` code as the
   local engine, so sources, ids and clauses are identical);
2. score (``map_batches`` over an actor pool: each actor loads the model once, uses a GPU when
   the cluster has one, and scores a batch of documents with ``run.score_chunk``, so a failing
   document becomes an error record and the rest of its batch is still scored).

Results stream back to the driver, which writes them with the local engine's writers (same
formats, same error file); record order may differ from the local engine's.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inference.batch.run import (
    ErrorSink,
    RunSummary,
    _build_or_error,
    default_errors_path,
    score_chunk,
)
from inference.batch.writers import format_for_path, open_writer
from inference.records import Document, ErrorRecord
from inference.text.ingest import (
    _SNIFF_BYTES,
    DEFAULT_MAX_BYTES,
    JSONL_SUFFIXES,
    InputError,
    _looks_binary,
    decode_bytes,
    expand_paths,
    iter_jsonl_lines,
    read_path,
)

log = logging.getLogger(__name__)

SHARD_LINES = 256


# ----------------------------------------------------------------------------- planning


def _jsonl_encoding(path: Path) -> str:
    """The encoding ``ingest`` would use for a JSONL file; raises InputError as it would."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head:
        raise InputError("empty file")
    if _looks_binary(head):
        raise InputError("binary file (NUL bytes), not text")
    encoding = decode_bytes(head, prefix=True)[1]
    return "utf-8" if encoding == "utf-8-sig" else encoding


def plan_shards(paths: list[str], shard_lines: int = SHARD_LINES
                ) -> tuple[list[dict[str, Any]], list[ErrorRecord]]:
    """Shards (file, byte range, first line number) and the errors found while planning."""
    shards: list[dict[str, Any]] = []
    errors: list[ErrorRecord] = []
    for raw in paths:
        if raw == "-":
            raise ValueError("--engine ray reads files and directories, not stdin; save the "
                             "JSONL to a file first")
        for item in expand_paths([raw]):
            if isinstance(item, ErrorRecord):
                errors.append(item)
                continue
            if item.suffix.lower() not in JSONL_SUFFIXES:
                shards.append({"path": str(item), "encoding": "", "start": 0, "end": -1,
                               "lineno": 0})
                continue
            try:
                encoding = _jsonl_encoding(item)
            except (InputError, OSError) as exc:
                errors.append(ErrorRecord(source=str(item), stage="ingest", reason=str(exc)))
                continue
            offset, lineno, count, start, first = 0, 1, 0, 0, 1
            with item.open("rb") as handle:
                for line in handle:
                    offset += len(line)
                    count += 1
                    lineno += 1
                    if count == shard_lines:
                        shards.append({"path": str(item), "encoding": encoding, "start": start,
                                       "end": offset, "lineno": first})
                        start, first, count = offset, lineno, 0
            if count:
                shards.append({"path": str(item), "encoding": encoding, "start": start,
                               "end": offset, "lineno": first})
    return shards, errors


def _read_jsonl_range(shard: dict[str, Any], max_bytes: int) -> Iterator[Any]:
    """``ingest``'s JSONL line loop over one byte range (same sources: ``path:line``)."""
    source, encoding = shard["path"], shard["encoding"]
    with open(source, "rb") as handle:
        handle.seek(shard["start"])
        data = handle.read(shard["end"] - shard["start"])
    for lineno, raw_line in enumerate(data.splitlines(keepends=True), start=shard["lineno"]):
        where = f"{source}:{lineno}"
        if len(raw_line) > max_bytes:
            yield ErrorRecord(source=where, stage="ingest",
                              reason=f"line is {len(raw_line) / 2**20:.1f} MiB, over the "
                              f"{max_bytes / 2**20:.0f} MiB limit")
            continue
        try:
            line = raw_line.decode(encoding).lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            yield ErrorRecord(source=where, stage="ingest",
                              reason=f"bytes undecodable as {encoding} ({exc.reason})")
            continue
        yield from iter_jsonl_lines([line], where, first_lineno=lineno, name_lines=False)


def _row(item: Document | ErrorRecord) -> dict[str, Any]:
    if isinstance(item, ErrorRecord):
        return {"error": json.dumps(item.to_dict(), ensure_ascii=False), "doc": ""}
    return {"error": "", "doc": json.dumps(item.to_dict(), ensure_ascii=False)}


def read_shard(shard: dict[str, Any], max_bytes: int = DEFAULT_MAX_BYTES) -> list[dict[str, Any]]:
    """Stage 1: a shard → rows of cleaned, segmented documents (or errors), as JSON strings."""
    items = (_read_jsonl_range(shard, max_bytes) if shard["end"] >= 0
             else read_path(Path(shard["path"]), max_bytes))
    rows = []
    for item in items:
        rows.append(_row(item if isinstance(item, ErrorRecord) else _build_or_error(item)))
    return rows


def _error_from_dict(data: dict[str, Any]) -> ErrorRecord:
    return ErrorRecord(source=data["source"], doc_id=data.get("doc_id"), stage=data["stage"],
                       reason=data["error"])


class ScoringActor:
    """Stage 2: loads the scorer once, then scores batches of documents."""

    def __init__(self, model: str | None, rules: bool, fast: str, threads: int | None,
                 use_gpu: bool) -> None:
        from inference.scoring.models import load_scorer
        from inference.scoring.runtime import configure_threads

        configure_threads(threads)
        device = "cpu"
        if use_gpu:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.scorer = load_scorer(model, rules=rules, fast=fast, device=device)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        documents = [Document.from_dict(json.loads(d)) for d in batch["doc"] if d]
        scored = iter(score_chunk(self.scorer, documents))
        errors, docs = [], []
        for error, doc in zip(batch["error"], batch["doc"], strict=True):
            item = next(scored) if doc else None
            if item is None:
                errors.append(error)
                docs.append("")
            else:
                row = _row(item)
                errors.append(row["error"])
                docs.append(row["doc"])
        return {"error": errors, "doc": docs}


# ----------------------------------------------------------------------------- running


def _cluster_gpus(ray: Any) -> float:
    return float(ray.cluster_resources().get("GPU", 0))


def run_ray(
    paths: list[str],
    out: str,
    *,
    model: str | None = None,
    rules: bool = False,
    fast: str = "none",
    address: str | None = None,
    num_actors: int | None = None,
    num_gpus: float | None = None,
    errors_path: str | None = None,
    output_format: str | None = None,
    chunk_documents: int = 64,
    max_bytes: int = DEFAULT_MAX_BYTES,
    shard_lines: int = SHARD_LINES,
) -> RunSummary:
    """Run ``predict`` through Ray Data and write the local engine's formats on the driver."""
    try:
        import ray
    except ImportError as exc:
        raise ValueError("--engine ray needs Ray Data: pip install 'policy-clauses[scale]'"
                         ) from exc
    from inference.schema import default_schema
    from inference.scoring.models import resolve_model

    # decided once on the driver, so every actor loads the same folder (or the rules)
    folder = resolve_model(model, rules=rules)
    model = None if folder is None else str(folder.resolve())
    summary = RunSummary()
    started = time.perf_counter()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    gpus = num_gpus if num_gpus is not None else (1.0 if _cluster_gpus(ray) else 0.0)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    actors = num_actors or (max(1, int(_cluster_gpus(ray) // gpus)) if gpus
                            else max(1, cpus // 2))
    shards, plan_errors = plan_shards([str(p) for p in paths], shard_lines)
    log.info("ray: %d shards, %d scoring actors, %.2g GPU each", len(shards), actors, gpus)

    fmt = format_for_path(out, output_format)
    writer = open_writer(fmt, out, default_schema().label_names)
    errors = ErrorSink(errors_path or default_errors_path(out))
    try:
        for error in plan_errors:
            summary.add_error(error)
            errors.write(error)
        if shards:
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False
            dataset = ray.data.from_items(shards, override_num_blocks=min(len(shards), 200))
            dataset = dataset.flat_map(read_shard, fn_kwargs={"max_bytes": max_bytes})
            # Each actor reserves one CPU (the rest stay free for the read/clean tasks, or a
            # pool could starve them) and runs torch on its share of the cluster's cores.
            threads = max(1, cpus // actors)
            dataset = dataset.map_batches(
                ScoringActor, batch_size=chunk_documents, concurrency=actors, num_gpus=gpus,
                num_cpus=1, batch_format="default",
                fn_constructor_kwargs={"model": model, "rules": rules, "fast": fast,
                                       "threads": threads, "use_gpu": bool(gpus)})
            for batch in dataset.iter_batches(batch_size=chunk_documents,
                                              batch_format="default"):
                for error, doc in zip(batch["error"], batch["doc"], strict=True):
                    if error:
                        record = _error_from_dict(json.loads(error))
                        summary.add_error(record)
                        errors.write(record)
                        continue
                    document = Document.from_dict(json.loads(doc))
                    writer.write_documents([document])
                    summary.documents += 1
                    summary.clauses += len(document.clauses)
                writer.flush()
                errors.flush()
    finally:
        writer.close()
        errors.close()
        summary.seconds = time.perf_counter() - started
    return summary
