"""Domain-adaptive masked-LM pretraining (DAPT) of a backbone on the policy corpus.

``policy-clauses dapt --backbone models/backbone/e5-small-trim-l4 --out DIR CORPUS.jsonl...``
continues pretraining the encoder with BERT's masked-LM objective on unlabelled policy text,
then writes a backbone folder of the same shape (BertModel weights, the same tokenizer) that
``--model.backbone DIR`` trains from.

Why it looks like this:

* **The same preprocessing as training and serving.** Every document goes through
  ``build_document`` (clean → layout → segment) and the encoder sees clause text, as the
  classifier does; clauses of one document are packed into windows of ``max_length`` tokens.
* **Nothing the model is judged on.** Dev and test gold documents and every hand-segmented
  reference document are left out (``excluded_ids``), and so is any corpus document under
  another id that copies a dev or test document (``copies_held_out``, the check `labels
  validate` makes between splits): their text must stay unseen.
* **A CPU budget that is a number of steps**, so a run is reproducible (same seed, same
  steps, same windows); ``--max-minutes`` is only a guard and the manifest says if it fired.
* **e5 has no MLM head.** ``BertForMaskedLM`` ties the decoder to the word embeddings and
  starts its small transform layer from random weights; ``--head-warmup-steps`` trains that
  head alone first so its early, large gradients do not reach the encoder.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from inference.errors import UserError
from training.paths import PROJECT_ROOT

log = logging.getLogger(__name__)

MANIFEST = "dapt.json"


def excluded_ids(root: Path = PROJECT_ROOT, splits: Sequence[str] = ("dev", "test")) -> set[str]:
    """Documents whose text DAPT must not see: the gold documents of ``splits`` and every
    hand-segmented reference document (labels/segmentation*/sources.jsonl)."""
    from training.data.gold import load_splits, reference_document_ids

    manifest = load_splits(root / "labels" / "splits.json")
    return {doc for split in splits for doc in manifest[split]} | reference_document_ids(root)


def held_out_shingles(root: Path = PROJECT_ROOT, splits: Sequence[str] = ("dev", "test")
                      ) -> list[set[str]]:
    """The 10-character shingles of every dev and test gold document: a corpus document under
    another id that copies one of them (a second crawl, a news summary) is left out too."""
    from training.data.gold import document_texts, load_splits, text_shingles

    manifest = load_splits(root / "labels" / "splits.json")
    wanted = {doc for split in splits for doc in manifest[split]}
    texts = document_texts(root / "labels" / "documents.jsonl")
    return [text_shingles(text) for doc, text in texts.items() if doc in wanted]


def copies_held_out(text: str, held_out: Sequence[set[str]]) -> bool:
    """Whether ``text`` holds more than ``COPY_SHARE`` of a held-out document's shingles (the
    check ``labels validate`` makes between splits)."""
    from training.data.gold import COPY_SHARE, shingle_share, text_shingles

    mine = text_shingles(text)
    return any(shingle_share(mine, theirs) > COPY_SHARE for theirs in held_out)


def clause_texts(paths: Iterable[Path], exclude: set[str],
                 held_out: Sequence[set[str]] = ()) -> Iterable[list[str]]:
    """Per corpus document not in ``exclude`` and copying no ``held_out`` document: its clause
    texts, as the segmenter cuts them."""
    from inference.text.ingest import document_from_jsonl_line
    from inference.text.pipeline import build_document

    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                raw = document_from_jsonl_line(line, f"{path}:{number}")
                if not hasattr(raw, "content") or raw.doc_id in exclude:
                    continue
                if held_out and copies_held_out(raw.content, held_out):
                    log.info("dapt: %s left out (copies a dev or test document)", raw.doc_id)
                    continue
                try:
                    document = build_document(raw)
                except Exception as error:  # a bad document is skipped and named, the run goes on
                    log.warning("dapt: %s:%d skipped (%s)", path, number, error)
                    continue
                yield [clause.text for clause in document.clauses]


def pack_windows(documents: Iterable[list[str]], tokenizer: Any, max_length: int
                 ) -> list[list[int]]:
    """Token windows of at most ``max_length`` (special tokens included), each from one
    document's clauses in order. A clause starts a new window when it does not fit in the
    current one, a clause longer than a window is cut, and windows under 8 tokens (a short
    heading flushed before a long clause) are dropped: they teach the masked LM little."""
    body = max_length - 2
    windows: list[list[int]] = []
    for clauses in documents:
        if not clauses:
            continue
        encoded = tokenizer(clauses, add_special_tokens=False)["input_ids"]
        current: list[int] = []
        for ids in encoded:
            for start in range(0, max(len(ids), 1), body):
                piece = ids[start:start + body]
                if current and len(current) + len(piece) > body:
                    windows.append(current)
                    current = []
                current = current + piece
        if current:
            windows.append(current)
    return [[tokenizer.cls_token_id, *w, tokenizer.sep_token_id] for w in windows if len(w) >= 8]


def mask_batch(windows: Sequence[list[int]], tokenizer: Any, probability: float,
               generator: Any) -> dict[str, Any]:
    """BERT masking (of the chosen 15%: 80% ``<mask>``, 10% a random token, 10% kept)."""
    import torch

    width = max(len(w) for w in windows)
    ids = torch.full((len(windows), width), tokenizer.pad_token_id, dtype=torch.long)
    attention = torch.zeros_like(ids)
    for row, window in enumerate(windows):
        ids[row, :len(window)] = torch.tensor(window)
        attention[row, :len(window)] = 1
    special = (ids == tokenizer.cls_token_id) | (ids == tokenizer.sep_token_id) | (attention == 0)
    chosen = (torch.rand(ids.shape, generator=generator) < probability) & ~special
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    roll = torch.rand(ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (roll < 0.8)] = tokenizer.mask_token_id
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[swap] = torch.randint(len(tokenizer), ids.shape, generator=generator)[swap]
    return {"input_ids": inputs, "attention_mask": attention, "labels": labels}


def masked_lm_loss(model: Any, windows: Sequence[list[int]], tokenizer: Any, batch_size: int,
                   seed: int) -> float:
    """Mean masked-LM loss over ``windows`` with a fixed masking (same seed → same masks)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    model.eval()
    total = count = 0.0
    with torch.no_grad():
        for start in range(0, len(windows), batch_size):
            batch = mask_batch(windows[start:start + batch_size], tokenizer, 0.15, generator)
            masked = int((batch["labels"] != -100).sum())
            if masked:
                total += float(model(**batch).loss) * masked
                count += masked
    model.train()
    return total / max(count, 1)


def run_dapt(backbone: Path, out: Path, corpus: Sequence[Path], *, steps: int, batch_size: int,
             max_length: int, lr: float, seed: int, head_warmup_steps: int,
             heldout_windows: int, max_minutes: float | None, threads: int | None) -> dict:
    """Continue pretraining ``backbone`` on ``corpus`` and write the new backbone to ``out``."""
    import torch
    from transformers import AutoTokenizer, BertForMaskedLM, get_linear_schedule_with_warmup

    if not (backbone / "config.json").is_file():
        raise UserError(f"{backbone}: not a backbone folder (no config.json); "
                        "build it with 'make backbone'")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(str(backbone))
    exclude = excluded_ids()
    windows = pack_windows(clause_texts(corpus, exclude, held_out_shingles()), tokenizer,
                           max_length)
    if len(windows) <= heldout_windows:
        raise UserError(f"dapt: only {len(windows)} windows of text in {list(map(str, corpus))}")
    random.Random(seed).shuffle(windows)
    heldout, train = windows[:heldout_windows], windows[heldout_windows:]
    log.info("dapt: %d training windows (%d tokens), %d held out; %d documents excluded",
             len(train), sum(map(len, train)), len(heldout), len(exclude))

    model = BertForMaskedLM.from_pretrained(str(backbone))
    model.train()
    before = masked_lm_loss(model, heldout, tokenizer, 64, seed)
    encoder = [p for n, p in model.named_parameters() if not n.startswith("cls.")]
    head = [p for n, p in model.named_parameters() if n.startswith("cls.")]
    optimizer = torch.optim.AdamW([{"params": encoder, "lr": lr}, {"params": head, "lr": lr}],
                                  weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 16), steps)
    generator = torch.Generator().manual_seed(seed + 1)
    order = random.Random(seed + 2)
    epoch = list(range(len(train)))
    order.shuffle(epoch)
    cursor, done, stopped_early, running = 0, 0, False, []
    for step in range(steps):
        if cursor + batch_size > len(epoch):
            order.shuffle(epoch)
            cursor = 0
        batch = mask_batch([train[i] for i in epoch[cursor:cursor + batch_size]], tokenizer,
                           0.15, generator)
        cursor += batch_size
        frozen = step < head_warmup_steps
        for parameter in encoder:
            parameter.requires_grad_(not frozen)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        running.append(float(loss))
        done = step + 1
        if done % 50 == 0:
            log.info("dapt: step %d/%d loss %.3f (%.0f s)", done, steps,
                     sum(running[-50:]) / len(running[-50:]), time.monotonic() - started)
        if max_minutes is not None and time.monotonic() - started > max_minutes * 60:
            stopped_early = True
            log.warning("dapt: --max-minutes %.0f reached after %d of %d steps", max_minutes,
                        done, steps)
            break
    for parameter in encoder:
        parameter.requires_grad_(True)
    after = masked_lm_loss(model, heldout, tokenizer, 64, seed)

    out.mkdir(parents=True, exist_ok=True)
    model.bert.save_pretrained(str(out))
    for name in ("tokenizer.json", "tokenizer_config.json", "e5_backbone.json"):
        if (backbone / name).is_file():
            shutil.copy2(backbone / name, out / name)
    manifest = {
        "source_backbone": str(backbone), "corpus": [str(p) for p in corpus],
        "excluded_documents": len(exclude), "train_windows": len(train),
        "train_tokens": sum(map(len, train)), "heldout_windows": len(heldout),
        "steps": done, "steps_asked": steps, "stopped_by_max_minutes": stopped_early,
        "batch_size": batch_size, "max_length": max_length, "lr": lr, "seed": seed,
        "head_warmup_steps": head_warmup_steps,
        "tokens_seen": done * batch_size * max_length,
        "epochs_over_text": round(done * batch_size / len(train), 3),
        "heldout_mlm_loss_before": round(before, 4), "heldout_mlm_loss_after": round(after, 4),
        "heldout_perplexity_before": round(math.exp(before), 2),
        "heldout_perplexity_after": round(math.exp(after), 2),
        "seconds": round(time.monotonic() - started, 1),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    return manifest


def add_cli(subparsers: Any) -> None:
    """Register ``policy-clauses dapt``."""
    p = subparsers.add_parser(
        "dapt", help="domain-adaptive masked-LM pretraining of a backbone on corpus text",
        description=__doc__.split("\n\n")[0])
    p.add_argument("corpus", type=Path, nargs="+", help="corpus JSONL files (id, text, ...)")
    p.add_argument("--backbone", type=Path, required=True, help="backbone folder to start from")
    p.add_argument("--out", type=Path, required=True, help="new backbone folder")
    p.add_argument("--steps", type=int, default=600, help="optimizer steps (the CPU budget)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--head-warmup-steps", type=int, default=50,
                   help="steps that train the (new) MLM head alone before the encoder moves")
    p.add_argument("--heldout-windows", type=int, default=256,
                   help="windows kept out of training to report the masked-LM loss")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop early after this long (a guard; the manifest records it)")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=_cmd_dapt)


def _cmd_dapt(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    manifest = run_dapt(args.backbone, args.out, args.corpus, steps=args.steps,
                        batch_size=args.batch_size, max_length=args.max_length, lr=args.lr,
                        seed=args.seed, head_warmup_steps=args.head_warmup_steps,
                        heldout_windows=args.heldout_windows, max_minutes=args.max_minutes,
                        threads=args.threads)
    print(json.dumps(manifest, indent=2, ensure_ascii=False))
    return 0
