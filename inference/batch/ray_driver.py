"""``predict --engine ray``: the same predictor through Ray Data, on one machine or a cluster.

The driver only plans: it lists the input files and cuts JSONL files into shards of byte
ranges (a few hundred lines each), so no document passes through it on the way in. Ray Data
then streams shards through two stages:

1. read → clean → segment (stateless CPU tasks; the same ``ingest``/``pipeline`` code as the
   local engine, so sources, ids and clauses are identical);
2. score (``map_batches`` over an actor pool: each actor loads the model once, uses a GPU when
   the cluster has one, and scores a batch of documents with ``core.score_chunk``, so a failing
   document becomes an error record and the rest of its batch is still scored).

Results stream back to the driver, which writes them through the same ``core.RunCore`` as the
local engine (same writers, formats, error file and lock); record order may differ from the
local engine's.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from inference.batch.core import (
    DEFAULT_DOCUMENT_SECONDS,
    DocumentBuilder,
    RunCore,
    RunSummary,
    check_output_paths,
    check_run_options,
    output_files,
    reused_from_now,
    score_chunk,
)
from inference.batch.sinks import default_errors_path
from inference.batch.writers import format_for_path
from inference.errors import UserError
from inference.records import Document, ErrorRecord
from inference.text.ingest import (
    DEFAULT_MAX_BYTES,
    STDIN,
    InputError,
    jsonl_encoding,
    read_jsonl_range,
    read_path,
    resolve_inputs,
    suffix_is_jsonl,
)

log = logging.getLogger(__name__)

SHARD_LINES = 256


# ----------------------------------------------------------------------------- planning


def plan_shards(paths: list[str], shard_lines: int = SHARD_LINES,
                outputs: list[str] | None = None
                ) -> tuple[list[dict[str, Any]], list[ErrorRecord]]:
    """Shards (file, byte range, first line number) and the errors found while planning."""
    shards: list[dict[str, Any]] = []
    errors: list[ErrorRecord] = []
    if STDIN in paths:
        raise UserError("--engine ray reads files and directories, not stdin; save the JSONL to "
                        "a file first")
    for item in resolve_inputs(paths, outputs=outputs or []):
        if isinstance(item, ErrorRecord):
            errors.append(item)
            continue
        assert isinstance(item, Path)
        if not suffix_is_jsonl(item):
            shards.append({"path": str(item), "encoding": "", "start": 0, "end": -1,
                           "lineno": 0})
            continue
        try:
            encoding = jsonl_encoding(item)
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


def _row(item: Document | ErrorRecord) -> dict[str, Any]:
    if isinstance(item, ErrorRecord):
        return {"error": json.dumps(item.to_dict(), ensure_ascii=False), "doc": ""}
    return {"error": "", "doc": json.dumps(item.to_dict(), ensure_ascii=False)}


def read_shard(shard: dict[str, Any], max_bytes: int = DEFAULT_MAX_BYTES,
               document_seconds: float = DEFAULT_DOCUMENT_SECONDS) -> list[dict[str, Any]]:
    """Stage 1: a shard → rows of cleaned, segmented documents (or errors), as JSON strings.

    The same reader and builder as the local driver, over the shard's byte range."""
    path = Path(shard["path"])
    items = (read_jsonl_range(path, shard["encoding"], max_bytes, start=shard["start"],
                              end=shard["end"], first_lineno=shard["lineno"])
             if shard["end"] >= 0 else read_path(path, max_bytes))
    builder = DocumentBuilder(document_seconds)
    try:
        return [_row(item if isinstance(item, ErrorRecord) else builder(item))
                for item in items]
    finally:
        builder.close()


def _error_from_dict(data: dict[str, Any]) -> ErrorRecord:
    return ErrorRecord(source=data["source"], doc_id=data.get("doc_id"), stage=data["stage"],
                       reason=data["error"])


class ScoringActor:
    """Stage 2: loads the scorer once, then scores batches of documents."""

    def __init__(self, model: str | None, rules: bool, fast: str, threads: int | None,
                 use_gpu: bool) -> None:
        from inference.scoring.models import load_scorer
        from inference.scoring.runtime import configure_allocator, configure_threads

        configure_threads(threads)
        configure_allocator()
        device = "cpu"
        if use_gpu:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.scorer = load_scorer(model, rules=rules, fast=fast, device=device)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        documents = [Document.from_dict(json.loads(d)) for d in batch["doc"] if d]
        reused = reused_from_now(self.scorer)
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
        # The batch's clauses answered from the actor's repeat memory ride on its first row
        # (a column needs a value per row), so the driver's sum counts each once.
        counts = [0] * len(docs)
        if counts:
            counts[0] = reused()
        return {"error": errors, "doc": docs, "reused": counts}


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
    document_seconds: float = DEFAULT_DOCUMENT_SECONDS,
) -> RunSummary:
    """Run ``predict`` through Ray Data and write the local engine's formats on the driver."""
    try:
        import ray
    except ImportError as exc:
        raise UserError("--engine ray needs Ray Data: pip install 'policy-clauses[scale]'"
                        ) from exc
    from inference.schema import default_schema
    from inference.scoring.models import resolve_model

    # Which scorer runs is decided once, here, by the same rule load_scorer follows, so every
    # actor loads the same folder (or the rules) whatever its working directory.
    folder = resolve_model(model, rules=rules)
    model = None if folder is None else str(folder.resolve())
    check_run_options(chunk_documents=chunk_documents, max_bytes=max_bytes)
    fmt = format_for_path(out, output_format)
    errors_path = errors_path or default_errors_path(out)
    check_output_paths(out, errors_path)
    label_names = default_schema().label_names
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    gpus = num_gpus if num_gpus is not None else (1.0 if _cluster_gpus(ray) else 0.0)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    actors = num_actors or (max(1, int(_cluster_gpus(ray) // gpus)) if gpus
                            else max(1, cpus // 2))
    shards, plan_errors = plan_shards([str(p) for p in paths], shard_lines,
                                      outputs=output_files(out, errors_path))
    log.info("ray: %d shards, %d scoring actors, %.2g GPU each", len(shards), actors, gpus)

    core = RunCore(out=out, fmt=fmt, errors_path=errors_path, label_names=label_names,
                   job={}, resume=False, resumable=False, progress=False, desc="predict")
    with core:
        for error in plan_errors:
            core.error(error)
        if shards:
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False
            dataset = ray.data.from_items(shards, override_num_blocks=min(len(shards), 200))
            dataset = dataset.flat_map(read_shard, fn_kwargs={
                "max_bytes": max_bytes, "document_seconds": document_seconds})
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
                core.summary.reused += sum(int(n) for n in batch["reused"])
                for error, doc in zip(batch["error"], batch["doc"], strict=True):
                    if error:
                        core.write(_error_from_dict(json.loads(error)), 0)
                        continue
                    document = Document.from_dict(json.loads(doc))
                    core.write(document, len(document.clauses))
                core.commit(len(batch["doc"]))
        core.finished = True
    return core.summary
