"""The pre-annotation server: one process, one model, many review tools.

Routes (OpenAPI at ``/docs``):

* Label Studio's ML backend protocol: ``GET /health``, ``POST /setup``, ``POST /predict``,
  ``POST /webhook`` (``labelstudio_backend`` holds the logic);
* ``POST /v1/predict``: ``{"clauses": [clause records]}`` or ``{"documents": [crawl records]}``
  → exactly the records ``predict --clauses`` / ``predict`` writes, plus the errors it would
  write to its errors file; ``GET /v1/schema``: labels, entity types, the model card's figures.

Every request's clauses go through one ``Batcher`` (length-sorted batches across concurrent
requests, bounded queue → 503 + ``Retry-After``). Bodies over ``max_body_bytes`` get 413, a
malformed body 400 with the reason, one bad task or record fails alone. With a token, every
route but ``/health`` needs ``Authorization: Bearer TOKEN`` (Label Studio can only send Basic
auth to an ML backend, so ``Basic`` with the token as password is accepted too).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from inference.records import Document, ErrorRecord
from inference.review.select import scorer_thresholds
from inference.schema import LabelSchema, default_schema
from inference.scoring.components import ClauseInput, ClauseScorer, annotate_record
from inference.serve.batching import (
    DEFAULT_MAX_BATCH_CLAUSES,
    DEFAULT_MAX_QUEUE_CLAUSES,
    Batcher,
    QueueFullError,
    RequestTooLargeError,
)
from inference.serve.labelstudio_backend import (
    ANNOTATION_ACTIONS,
    DELETE_ACTION,
    ConfigMismatchError,
    ProjectConfig,
    ReviewStore,
    TaskError,
    config_key,
    task_document,
    task_prediction,
)
from inference.text.ingest import iter_jsonl_lines
from inference.text.pipeline import build_document

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 8 * 2**20
TOKEN_ENV = "POLICY_CLAUSES_TOKEN"
OPEN_PATHS = ("/health",)


class HTTPProblem(Exception):
    """An answer other than 200, with the reason in ``detail``."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class UTF8JSONResponse(JSONResponse):
    """JSON with Chinese text as itself, not ``\\uXXXX`` escapes (half the bytes)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def model_card(scorer: ClauseScorer) -> dict[str, Any]:
    """The figures the model folders carry (dev metrics, thresholds, backbone)."""
    card: dict[str, Any] = {}
    for part in ("classifier", "tagger"):
        meta = getattr(getattr(scorer, part, None), "meta", None)
        if meta is not None and hasattr(meta, "model_dump"):
            meta = meta.model_dump(mode="json")
        if isinstance(meta, dict):
            card[part] = {key: meta[key] for key in ("metrics", "thresholds", "backbone",
                                                     "max_length", "context")
                          if key in meta}
    return card


@dataclass
class ServeSettings:
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_batch_clauses: int = DEFAULT_MAX_BATCH_CLAUSES
    max_queue_clauses: int = DEFAULT_MAX_QUEUE_CLAUSES
    reviewed_out: str | Path = Path("out") / "reviewed" / "labelstudio.jsonl"
    gold_path: str | Path | None = None


def _authorized(header: str | None, token: str) -> bool:
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return hmac.compare_digest(value.encode(), token.encode())
    if scheme.lower() == "basic":
        try:
            _, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(password.encode(), token.encode())
    return False


async def _read_json(request: Request, limit: int) -> Any:
    """The body as JSON; 413 past ``limit`` bytes (counted while reading, whatever the
    Content-Length says), 400 naming what is wrong with it."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPProblem(413, f"request body is {int(declared)} bytes, over the {limit}-byte "
                          "limit (--max-body-bytes); split it into several requests")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPProblem(413, f"request body is over the {limit}-byte limit "
                              "(--max-body-bytes); split it into several requests")
    if not body:
        raise HTTPProblem(400, "empty body: expected a JSON object")
    try:
        value = json.loads(body.decode("utf-8"))  # RFC 8259: JSON over HTTP is UTF-8
    except UnicodeDecodeError as exc:
        raise HTTPProblem(400, f"body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise HTTPProblem(400, f"body is not JSON: {exc.msg} at line {exc.lineno} column "
                          f"{exc.colno}") from exc
    except RecursionError as exc:
        raise HTTPProblem(400, "body is not JSON this server reads: nested too deeply") from exc
    try:
        # An escaped lone surrogate (\ud800) parses but is no text: nothing holding it could
        # be written as UTF-8 later (answers, the reviewed-annotations file), so refuse it here.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise HTTPProblem(400, "body holds a lone surrogate (an escaped \\ud800-\\udfff that is "
                          "not half of a pair): not valid Unicode text") from exc
    except RecursionError as exc:
        raise HTTPProblem(400, "body is not JSON this server reads: nested too deeply") from exc
    return value


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise HTTPProblem(400, f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


PREDICT_BODY_SCHEMA = {
    "type": "object",
    "description": "Either 'clauses' or 'documents'.",
    "properties": {
        "source": {"type": "string", "description": "name for the items: item N is "
                   "SOURCE:N, as line N of a JSONL file (default 'request')"},
        "clauses": {"type": "array", "description": "clause records, as 'predict --clauses' "
                    "reads: each an object with a string 'text' (optional 'section', 'title'; "
                    "other fields are kept)", "items": {"type": "object"}},
        "documents": {"type": "array", "description": "crawl records, as 'predict' reads a "
                      "JSONL line: 'text' or 'html', optional 'id'/'doc_id' and metadata; they "
                      "are cleaned and segmented first", "items": {"type": "object"}},
    },
    "example": {"clauses": [{"text": "对符合条件的企业给予最高50万元奖励。", "section": ""}]},
}


def _pieces(documents: list[Document], max_clauses: int) -> list[list[Document]]:
    """Consecutive groups of documents of at most ``max_clauses`` clauses (a larger document
    is a group of its own)."""
    pieces: list[list[Document]] = []
    size = 0
    for document in documents:
        if not pieces or size + len(document.clauses) > max_clauses:
            pieces.append([])
            size = 0
        pieces[-1].append(document)
        size += len(document.clauses)
    return pieces


def create_app(scorer: ClauseScorer, settings: ServeSettings | None = None,
               schema: LabelSchema | None = None) -> FastAPI:
    """The FastAPI app around one loaded scorer. Its batcher thread stops at shutdown."""
    settings = settings or ServeSettings()
    schema = schema or default_schema()
    reviews = ReviewStore(settings.reviewed_out, gold_path=settings.gold_path)
    version = scorer.version  # the scorer's identity, as predict and export name it
    thresholds = scorer_thresholds(scorer, schema.label_names)
    batcher = Batcher(scorer, max_batch_clauses=settings.max_batch_clauses,
                      max_queue_clauses=settings.max_queue_clauses)
    configs: dict[str, ProjectConfig] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        await run_in_threadpool(batcher.close)

    app = FastAPI(title="policy-clauses", version=version, lifespan=lifespan,
                  default_response_class=UTF8JSONResponse,
                  description="Clause labels and AMOUNT/AGENCY spans for Chinese policy "
                  "documents: a Label Studio ML backend and a plain JSON API.")
    app.state.batcher = batcher
    app.state.model_version = version
    app.state.reviews = reviews

    @app.exception_handler(HTTPProblem)
    async def _problem(_: Request, exc: HTTPProblem) -> Response:
        return UTF8JSONResponse({"detail": exc.detail}, status_code=exc.status,
                                headers=exc.headers)

    @app.middleware("http")
    async def _auth(request: Request, call_next: Callable[[Request], Awaitable[Response]]):
        if settings.token and request.url.path not in OPEN_PATHS and not _authorized(
                request.headers.get("authorization"), settings.token):
            return UTF8JSONResponse({"detail": "missing or wrong token: send 'Authorization: "
                                     "Bearer TOKEN'"}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    async def scored(future: Any) -> Any:
        return await asyncio.wrap_future(future)

    def submit(kind: str, items: list[Any]) -> Any:
        try:
            if kind == "documents":
                return batcher.submit_documents(items)
            return batcher.submit_inputs(items)
        except QueueFullError as exc:
            raise HTTPProblem(503, str(exc), {"Retry-After": str(exc.retry_after)}) from exc
        except RequestTooLargeError as exc:
            raise HTTPProblem(413, str(exc)) from exc

    def project_config(config: Any) -> ProjectConfig:
        key = config_key(config) if isinstance(config, str) else ""
        if key not in configs:
            if len(configs) >= 64:  # projects come and go; parsing again is cheap
                configs.clear()
            try:
                configs[key] = ProjectConfig.parse(config, schema)
            except ConfigMismatchError as exc:
                # Label Studio shows only "400 Bad Request" and points at this console
                log.warning("refused a labeling config: %s", exc)
                raise HTTPProblem(400, str(exc)) from exc
        return configs[key]

    # ------------------------------------------------------------------ Label Studio ML backend

    @app.get("/health", tags=["Label Studio ML backend"])
    async def health() -> dict[str, Any]:
        """Liveness for Label Studio (and load balancers); needs no token."""
        return {"status": "UP", "model_version": version,
                "queued_clauses": batcher.pending_clauses, "batches": batcher.stats.to_dict()}

    @app.post("/setup", tags=["Label Studio ML backend"],
              openapi_extra={"requestBody": {"content": {"application/json": {"schema": {
                  "type": "object", "properties": {"project": {"type": "string"},
                                                   "schema": {"type": "string"}}}}}}})
    async def setup(request: Request) -> dict[str, Any]:
        """Label Studio sends the project's labeling config as ``schema``; a config whose label
        names differ from labels/schema.yaml is refused (400) with the names that differ."""
        body = _object(await _read_json(request, settings.max_body_bytes), "setup")
        config = project_config(body.get("schema"))
        return {"model_version": version, "mode": config.mode}

    @app.get("/versions", tags=["Label Studio ML backend"])
    async def versions() -> dict[str, Any]:
        return {"versions": [version]}

    @app.post("/predict", tags=["Label Studio ML backend"],
              openapi_extra={"requestBody": {"content": {"application/json": {"schema": {
                  "type": "object", "properties": {"tasks": {"type": "array"},
                                                   "label_config": {"type": "string"}}}}}}})
    async def predict_tasks(request: Request) -> Response:
        """One prediction per task, in order. A task that cannot be predicted gets
        ``{"error": reason}`` without ``result``: Label Studio skips it and keeps the others."""
        body = _object(await _read_json(request, settings.max_body_bytes), "predict")
        tasks = body.get("tasks")
        if not isinstance(tasks, list):
            raise HTTPProblem(400, "predict: 'tasks' must be a list of Label Studio tasks")
        config = project_config(body.get("label_config"))

        def documents() -> list[Document | TaskError]:
            out: list[Document | TaskError] = []
            for index, task in enumerate(tasks):
                try:
                    out.append(task_document(task, config, index))
                except TaskError as exc:
                    out.append(exc)
            return out

        built = await run_in_threadpool(documents)
        good = [d for d in built if isinstance(d, Document)]
        # Label Studio sends every selected task in one request and cannot split it: score it
        # in batch-sized pieces, one after the other, so it never needs more queue than that
        scored_by_doc: dict[int, Document | ErrorRecord] = {}
        for piece in _pieces(good, settings.max_batch_clauses):
            try:
                done = await scored(submit("documents", piece))
            except HTTPProblem as problem:
                if problem.status != 413:
                    raise
                done = [ErrorRecord(source=d.source, doc_id=d.doc_id, stage="predict",
                                    reason=problem.detail) for d in piece]
            scored_by_doc.update((id(d), r) for d, r in zip(piece, done, strict=True))
        results: list[dict[str, Any]] = []
        for item in built:
            outcome = scored_by_doc.get(id(item), item)
            if isinstance(outcome, TaskError | ErrorRecord):
                reason = outcome.reason if isinstance(outcome, ErrorRecord) else str(outcome)
                log.warning("predict: %s", reason)
                results.append({"error": reason, "model_version": version})
                continue
            results.append(task_prediction(outcome, config, model_version=version,
                                           thresholds=thresholds))
        # a Response as is: no second pass through FastAPI's encoder for large answers
        return UTF8JSONResponse({"results": results, "model_version": version})

    @app.post("/webhook", tags=["Label Studio ML backend"])
    async def webhook(request: Request) -> dict[str, Any]:
        """``ANNOTATION_CREATED``/``UPDATED`` (and ``ANNOTATIONS_DELETED``) are stored in the
        reviewed-annotations file through ``import labelstudio``'s path; other events are
        acknowledged and ignored."""
        body = _object(await _read_json(request, settings.max_body_bytes), "webhook")
        action = body.get("action")
        if action not in (*ANNOTATION_ACTIONS, DELETE_ACTION):
            return {"status": "ignored", "action": action}
        try:
            stored = await run_in_threadpool(reviews.apply, body)
        except TaskError as exc:
            raise HTTPProblem(400, f"webhook {action}: {exc}") from exc
        return {"status": "stored", "action": action, **stored}

    # ------------------------------------------------------------------ plain JSON API

    @app.get("/v1/schema", tags=["API"])
    async def get_schema() -> dict[str, Any]:
        """Labels and entity types of labels/schema.yaml, the thresholds in use, and the model
        card's figures."""
        return {
            "schema_version": schema.version,
            "labels": [{"name": d.name, "zh": d.zh, "definition": d.definition}
                       for d in schema.clause_labels],
            "entity_types": [{"name": d.name, "zh": d.zh, "definition": d.definition}
                             for d in schema.entity_types],
            "model_version": version,
            "thresholds": thresholds,
            "model_card": model_card(scorer),
        }

    @app.post("/v1/predict", tags=["API"],
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": PREDICT_BODY_SCHEMA}}}})
    async def predict_v1(request: Request) -> Response:
        """``records``: exactly what ``predict`` (documents) or ``predict --clauses`` (clause
        records) writes; ``errors``: what it would write to its errors file. Item N (from 1) is
        named ``SOURCE:N`` as line N of a JSONL file would be (``source`` defaults to
        ``request``), so the same items posted with the file's path as ``source`` give the
        very lines ``predict FILE.jsonl`` writes, doc ids included."""
        body = _object(await _read_json(request, settings.max_body_bytes), "v1/predict")
        kinds = [key for key in ("clauses", "documents") if key in body]
        if len(kinds) != 1:
            raise HTTPProblem(400, "v1/predict: give exactly one of 'clauses' (clause records) "
                              "or 'documents' (crawl records to segment first)")
        kind = kinds[0]
        items = body[kind]
        if not isinstance(items, list):
            raise HTTPProblem(400, f"v1/predict: '{kind}' must be a list")
        source = body.get("source", "request")
        if not isinstance(source, str):
            raise HTTPProblem(400, "v1/predict: 'source' must be a string")
        if kind == "clauses":
            answer = await _predict_clauses(items, source)
        else:
            answer = await _predict_documents(items, source)
        return UTF8JSONResponse(answer)

    async def _predict_clauses(items: list[Any], source: str) -> dict[str, Any]:
        errors: list[dict[str, Any]] = []
        good: list[tuple[int, dict[str, Any]]] = []
        for index, record in enumerate(items, start=1):
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                errors.append(ErrorRecord(source=f"{source}:{index}", stage="ingest",
                                          reason="expected a JSON object with a string "
                                          "'text'").to_dict())
                continue
            good.append((index, record))
        inputs = [ClauseInput(r["text"], str(r.get("section") or ""), str(r.get("title") or ""))
                  for _, r in good]
        predictions = await scored(submit("clauses", inputs)) if inputs else []
        records = []
        for (_, record), prediction in zip(good, predictions, strict=True):
            if isinstance(prediction, BaseException):
                errors.append(ErrorRecord(source=str(record.get("source", source)),
                                          doc_id=record.get("doc_id"),
                                          stage="predict",
                                          reason=f"{type(prediction).__name__}: {prediction}"
                                          ).to_dict())
                continue
            records.append(annotate_record(record, prediction))
        return {"model_version": version, "records": records, "errors": errors}

    async def _predict_documents(items: list[Any], source: str) -> dict[str, Any]:
        def build() -> list[Document | ErrorRecord]:
            out: list[Document | ErrorRecord] = []
            for index, item in enumerate(items, start=1):
                where = f"{source}:{index}"
                try:
                    line = json.dumps(item, ensure_ascii=False)
                except (TypeError, ValueError) as exc:
                    out.append(ErrorRecord(source=where, stage="ingest", reason=str(exc)))
                    continue
                (raw,) = iter_jsonl_lines([line], where, name_lines=False)
                if isinstance(raw, ErrorRecord):
                    out.append(raw)
                    continue
                try:
                    out.append(build_document(raw))
                except Exception as exc:  # one bad document must not fail the request
                    out.append(ErrorRecord(source=where, doc_id=raw.doc_id, stage="clean",
                                           reason=f"{type(exc).__name__}: {exc}"))
            return out

        built = await run_in_threadpool(build)
        documents = [d for d in built if isinstance(d, Document)]
        done = await scored(submit("documents", documents)) if documents else []
        by_doc = {id(doc): result for doc, result in zip(documents, done, strict=True)}
        records, errors = [], []
        for item in built:
            outcome = by_doc.get(id(item), item)
            if isinstance(outcome, ErrorRecord):
                errors.append(outcome.to_dict())
            else:
                records.append(outcome.to_dict())
        return {"model_version": version, "records": records, "errors": errors}

    return app
