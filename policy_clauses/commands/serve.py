"""``policy-clauses serve``: the pre-annotation server (inference/serve) on uvicorn.

Needs the ``serve`` extra (FastAPI, uvicorn). Binds 127.0.0.1 unless told otherwise; a token
(``--token`` or $POLICY_CLAUSES_TOKEN) is required on every route but /health when set.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from policy_clauses.arguments import add_scorer_arguments, positive_int

log = logging.getLogger(__name__)


def cmd_serve(args: argparse.Namespace) -> int:
    from inference.errors import UserError

    try:
        import uvicorn

        from inference.serve.app import TOKEN_ENV, ServeSettings, create_app
    except ImportError as exc:
        raise UserError(f"serve needs the 'serve' extra ({exc.name} is missing): "
                        "pip install -e '.[serve]'") from exc
    from inference.scoring.models import load_scorer
    from inference.scoring.runtime import configure_allocator, configure_threads
    from training.data.gold import GOLD_PATH

    token = args.token or os.environ.get(TOKEN_ENV) or None
    if args.host not in ("127.0.0.1", "localhost", "::1") and not token:
        log.warning("serving on %s without a token: anyone who can reach this port can use "
                    "the model and write reviewed annotations (set --token or $%s)",
                    args.host, TOKEN_ENV)
    for name in ("max_body_bytes", "max_queue_clauses", "max_batch_clauses"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    threads = configure_threads(args.threads)
    configure_allocator()
    scorer = load_scorer(args.model, rules=args.rules, fast=args.fast)
    settings = ServeSettings(token=token, max_body_bytes=args.max_body_bytes,
                             max_batch_clauses=args.max_batch_clauses,
                             max_queue_clauses=args.max_queue_clauses,
                             reviewed_out=Path(args.reviewed_out), gold_path=GOLD_PATH)
    try:
        app = create_app(scorer, settings)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    log.info("serving %s (%s) on http://%s:%d with %d threads%s", app.state.model_version,
             scorer.name.split(":")[0], args.host, args.port, threads,
             "; token required" if token else "")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                proxy_headers=args.proxy_headers, forwarded_allow_ips=args.forwarded_allow_ips)
    return 0


def add_cli(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="pre-annotation server: Label Studio ML backend and a JSON API",
        description="Hold the model once and serve it: Label Studio's ML backend protocol "
        "(/health, /setup, /predict, /webhook), POST /v1/predict, GET /v1/schema; OpenAPI at "
        "/docs. See the README, 'Pre-annotation in Label Studio'.")
    add_scorer_arguments(serve)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1: this machine only; put a "
                       "reverse proxy in front rather than binding 0.0.0.0)")
    serve.add_argument("--port", type=int, default=9090, help="port (default 9090)")
    serve.add_argument("--token", default=None,
                       help="require 'Authorization: Bearer TOKEN' on every route but /health "
                       "(default: $POLICY_CLAUSES_TOKEN; none: no token)")
    serve.add_argument("--reviewed-out", metavar="OUT.jsonl",
                       default=str(Path("out") / "reviewed" / "labelstudio.jsonl"),
                       help="where webhook annotations become gold records (default "
                       "out/reviewed/labelstudio.jsonl; never labels/gold.jsonl)")
    serve.add_argument("--max-body-bytes", type=int, default=8 * 2**20,
                       help="larger request bodies get 413 (default 8 MiB)")
    serve.add_argument("--max-queue-clauses", type=int, default=8192,
                       help="clauses waiting at most; beyond it requests get 503 with "
                       "Retry-After (default 8192)")
    serve.add_argument("--max-batch-clauses", type=int, default=512,
                       help="clauses scored in one call across requests (default 512)")
    serve.add_argument("--threads", type=positive_int, default=None,
                       help="torch intra-op threads (default: the cores this process may use)")
    serve.add_argument("--proxy-headers", action="store_true",
                       help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips (behind a "
                       "reverse proxy)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                       help="proxies whose forwarded headers are trusted (default 127.0.0.1)")
    serve.set_defaults(func=cmd_serve)
