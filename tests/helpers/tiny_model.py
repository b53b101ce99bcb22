"""Tiny random model folders in the exact layout ``inference.scoring.models`` loads.

``build_tiny_model(out)`` writes ``out/classifier`` and ``out/tagger``: each a
``save_pretrained`` folder (BERT with 2 layers, hidden 32), a character-level fast tokenizer
and ``policy_clauses.json``. Nothing is downloaded, so tests and benchmarks can run offline.
``wrap_backbone(backbone, out)`` does the same around a real backbone folder (e.g. the one
``policy-clauses backbone`` writes) with randomly initialised heads: such a model measures
speed only, never quality.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from inference.schema import LabelSchema, default_schema

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
ROOT = Path(__file__).resolve().parents[2]


def _default_texts() -> Iterable[str]:
    """Characters the tiny tokenizer knows: everything in examples/ plus ASCII digits/letters."""
    yield "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,%>"
    for path in sorted((ROOT / "examples").glob("*")):
        if path.suffix in (".txt", ".jsonl", ".html"):
            yield path.read_bytes().decode("utf-8", errors="ignore")


def build_char_tokenizer(texts: Iterable[str] | None = None):
    """A character-level WordPiece tokenizer (one token per non-space character), wrapped as a
    ``PreTrainedTokenizerFast`` with BERT's special tokens: offsets map straight to chars."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    chars = sorted({ch for text in (texts or _default_texts()) for ch in text if not ch.isspace()})
    vocab = {token: i for i, token in enumerate(SPECIALS + chars)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=1))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex("."), behavior="isolated"),
    ])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]")


def write_meta(folder: Path, kind: str, schema: LabelSchema, *, max_length: int = 128,
               stride: int = 32, context: str = "section", note: str = "random") -> None:
    """``policy_clauses.json`` in the format ``inference.scoring.model_folder`` reads; the
    provenance fields say the model was never trained (``note``)."""
    from inference.scoring.model_folder import write_meta

    meta: dict = {
        "kind": kind,
        "schema_version": schema.version,
        "backbone": note,
        "max_length": max_length,
        "stride": stride if kind == "tagger" else 0,
        "config": {"note": note},
        "data": {"gold_path": "", "gold_sha256": "", "splits_path": "", "splits_sha256": "",
                 "train_clauses": 0, "dev_clauses": 0, "weak_clauses": 0,
                 "train_documents": 0, "dev_documents": 0, "weak_sha256": None,
                 "weak_dropped_held_out": None},
        "training": {"best_epoch": 0, "epochs": 0, "seconds": 0.0, "history": []},
        "metrics": {},
    }
    if kind == "classifier":
        meta.update(labels=schema.label_names, context=context, pooler_init="random",
                    thresholds=dict.fromkeys(schema.label_names, 0.5),
                    threshold_source="config", pos_weight=None)
    else:
        meta.update(labels=schema.bio_tags, tags=schema.bio_tags, context="none",
                    entity_types=schema.entity_names, entity_scoring="seqeval strict",
                    alignment_loss={})
    write_meta(folder, meta)


def _save_pair(classifier, tagger, tokenizer, out: Path, schema: LabelSchema, max_length: int,
               stride: int, note: str) -> Path:
    for name, model in (("classifier", classifier), ("tagger", tagger)):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        write_meta(folder, name, schema, max_length=max_length, stride=stride, note=note)
    return out


def _label_kwargs(names: list[str]) -> dict:
    return {"num_labels": len(names), "id2label": dict(enumerate(names)),
            "label2id": {name: i for i, name in enumerate(names)}}


def build_tiny_model(out: str | Path, *, schema: LabelSchema | None = None,
                     texts: Iterable[str] | None = None, max_length: int = 64, stride: int = 16,
                     seed: int = 0) -> Path:
    """Write a tiny random classifier + tagger model folder at ``out``; returns it."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertForTokenClassification

    schema = schema or default_schema()
    out = Path(out)
    tokenizer = build_char_tokenizer(texts)
    base = {"vocab_size": len(tokenizer), "hidden_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 256,
            "pad_token_id": tokenizer.pad_token_id}
    torch.manual_seed(seed)
    classifier = BertForSequenceClassification(BertConfig(
        **base, problem_type="multi_label_classification", **_label_kwargs(schema.label_names)))
    tagger = BertForTokenClassification(BertConfig(**base, **_label_kwargs(schema.bio_tags)))
    return _save_pair(classifier.eval(), tagger.eval(), tokenizer, out, schema, max_length,
                      stride, "tiny random test model")


def wrap_backbone(backbone: str | Path, out: str | Path, *, schema: LabelSchema | None = None,
                  max_length: int = 128, stride: int = 32, seed: int = 0) -> Path:
    """Classifier + tagger folders around a backbone with RANDOM heads (speed figures only)."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    schema = schema or default_schema()
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    classifier = AutoModelForSequenceClassification.from_pretrained(
        backbone, problem_type="multi_label_classification", **_label_kwargs(schema.label_names))
    tagger = AutoModelForTokenClassification.from_pretrained(
        backbone, **_label_kwargs(schema.bio_tags))
    return _save_pair(classifier.eval(), tagger.eval(), tokenizer, Path(out), schema, max_length,
                      stride, f"random heads on {backbone}: speed figures only")


if __name__ == "__main__":
    import sys

    print(build_tiny_model(sys.argv[1]))
