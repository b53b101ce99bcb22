"""Tagger training on tiny random models: windows, alignment loss, overfit → reload → same
entities, pipeline() opens the folder, resume, label mismatch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.records import Entity
from inference.schema import default_schema
from inference.scoring.align import IGNORE, decode_windows, token_tags
from inference.scoring.encoding import encode_for_tagger
from inference.scoring.models import META_FILE, ModelMismatchError, load_scorer, tagger_entities
from tests.fixtures.tiny_training import (
    build_tiny_backbone,
    char_tokenizer,
    fixture_records,
    tiny_config,
    trained_model,
)
from training.fit.tagger import alignment_report, train_tagger, window_examples

TAGS = default_schema().bio_tags
TAG2ID = {tag: i for i, tag in enumerate(TAGS)}
LONG = ("为进一步做好相关工作，经研究决定，对符合条件的项目给予支持，"
        "由省财政厅会同省科技厅负责组织实施，单个项目最高补助500万元。")


def _spans(entities: list[Entity]) -> set[tuple[int, int, str]]:
    return {(e.start, e.end, e.type) for e in entities}


def _long_entities() -> list[Entity]:
    out = []
    for surface, etype in (("省财政厅", "AGENCY"), ("省科技厅", "AGENCY"), ("500万元", "AMOUNT")):
        start = LONG.index(surface)
        out.append(Entity(start, start + len(surface), etype, surface))
    return out


def _one_hot_windows(text: str, entities: list[Entity], max_length: int, stride: int):
    tokenizer = char_tokenizer([text])
    encoded = encode_for_tagger(tokenizer, [text], max_length=max_length, stride=stride)
    windows = []
    for offsets in encoded["offset_mapping"]:
        ids = token_tags(offsets, entities, TAG2ID)
        probs = np.zeros((len(ids), len(TAGS)))
        for row, tag in enumerate(ids):
            probs[row, TAG2ID["O"] if tag == IGNORE else tag] = 1.0
        windows.append((offsets, probs))
    return windows


@pytest.mark.parametrize("max_length,stride", [(12, 4), (16, 6), (20, 2)])
def test_entity_near_a_window_cut_survives_decoding(max_length: int, stride: int) -> None:
    entities = _long_entities()
    windows = _one_hot_windows(LONG, entities, max_length, stride)
    assert len(windows) > 3
    # Some entity must actually straddle a window edge for the test to mean anything.
    edges = {offsets[-2][1] for offsets, _ in windows[:-1]}
    assert any(e.start < edge < e.end for e in entities for edge in edges)
    assert _spans(decode_windows(LONG, windows, TAGS)) == _spans(entities)


def test_window_examples_cover_every_token_and_keep_weights() -> None:
    tokenizer = char_tokenizer([LONG])
    examples = window_examples(tokenizer, [LONG], [_long_entities()], [0.5], TAGS,
                               max_length=16, stride=6)
    assert len(examples) > 1 and all(ex["weight"] == 0.5 for ex in examples)
    assert all(len(ex["input_ids"]) == len(ex["labels"]) <= 16 for ex in examples)
    assert all(ex["labels"][0] == IGNORE and ex["labels"][-1] == IGNORE for ex in examples)
    tagged = sum(tag != TAG2ID["O"] and tag != IGNORE for ex in examples for tag in ex["labels"])
    assert tagged >= sum(len(e.text) for e in _long_entities())


def test_alignment_loss_counts_unrepresentable_spans() -> None:
    text = "拨付资金500万元整"
    entities = [[Entity(4, 9, "AMOUNT", "500万元")]]
    exact = alignment_report(char_tokenizer([text]), [text], entities, TAGS, max_length=32,
                             stride=4)
    assert exact["entities"] == 1 and exact["boundary_lost"] == 0
    assert exact["round_trip_share"] == 0.0
    # A tokenizer with the piece "金5": the span cannot start at "5", whatever is tagged.
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "拨", "付", "资",
                                         "金5", "0", "万", "元", "整", "##0", "##万", "##元",
                                         "##整"])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split("金5", behavior="isolated")
    merged = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    lossy = alignment_report(merged, [text], entities, TAGS, max_length=32, stride=4)
    assert lossy["boundary_lost"] == 1 and lossy["round_trip_lost"] == 1
    assert lossy["examples"][0]["text"] == "500万元"


def test_overfit_save_reload_same_entities() -> None:
    model_dir, _, result = trained_model()
    records = fixture_records()[:9]
    texts = [r["text"] for r in records]
    assert any(len(t) > 22 for t in texts), "a clause must span several windows"
    in_memory = tagger_entities(result.model, result.tokenizer, texts, TAGS, max_length=24,
                                stride=6)
    scorer = load_scorer(model_dir)
    reloaded = scorer.tagger.predict_entities(texts)
    assert [_spans(e) for e in reloaded] == [_spans(e) for e in in_memory]
    gold = [_spans([Entity.from_dict(e) for e in r["entities"]]) for r in records]
    found = sum(len(g & _spans(p)) for g, p in zip(gold, reloaded, strict=True))
    total = sum(len(g) for g in gold)
    assert found / total >= 0.9, (gold, [_spans(p) for p in reloaded])


def test_saved_tagger_meta() -> None:
    model_dir, _, result = trained_model()
    meta = json.loads((model_dir / "tagger" / META_FILE).read_text(encoding="utf-8"))
    assert meta["tags"] == TAGS
    assert meta["max_length"] == 24 and meta["stride"] == 6
    assert meta["alignment_loss"]["train"]["entities"] > 0
    assert "seqeval strict" in meta["entity_scoring"]
    assert "micro" in meta["metrics"]["dev"]
    assert "alignment loss" in (model_dir / "tagger" / "README.md").read_text(encoding="utf-8")
    assert result.alignment["train"]["round_trip_share"] == 0.0  # char tokenizer: lossless


def test_pipeline_opens_the_tagger_folder() -> None:
    from transformers import pipeline

    model_dir, _, _ = trained_model()
    tag = pipeline("token-classification", model=str(model_dir / "tagger"), device="cpu")
    record = next(r for r in fixture_records()[:9] if r["entities"] and len(r["text"]) < 22)
    out = tag(record["text"])
    assert out and {row["entity"] for row in out} <= set(TAGS)


def test_tag_mismatch_raises(tmp_path: Path) -> None:
    model_dir, _, _ = trained_model()
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    path = copy / "tagger" / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["id2label"] = {str(i): tag.replace("AGENCY", "ORG") for i, tag in enumerate(TAGS)}
    config["label2id"] = {tag: int(i) for i, tag in config["id2label"].items()}
    path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelMismatchError, match="tags"):
        load_scorer(copy)


def test_tagger_resume_matches_uninterrupted(tmp_path: Path) -> None:
    backbone = build_tiny_backbone(tmp_path / "backbone")

    def config(name: str):
        return tiny_config("tagger", backbone, tmp_path / name, train__epochs=2)

    full = train_tagger(config("a"))
    stopped = train_tagger(config("b"), stop_after_epoch=1)
    assert stopped.folder is None
    resumed = train_tagger(config("b"), resume=True)
    assert resumed.dev_metrics == full.dev_metrics
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_amount_spans_without_a_money_unit_are_dropped() -> None:
    from inference.records import Entity
    from inference.scoring.postprocess import well_formed

    text = "处违法所得五倍最高不超过五万元的罚款，增加17.75%，市财政局负责"
    entities = [Entity(5, 6, "AMOUNT", "五"), Entity(12, 15, "AMOUNT", "五万元"),
                Entity(23, 24, "AMOUNT", "."), Entity(28, 32, "AGENCY", "市财政局")]
    assert [e.text for e in entities] == [text[e.start:e.end] for e in entities]
    assert [e.text for e in well_formed(entities)] == ["五万元", "市财政局"]
    # money written in 角/分 is still money (GUIDELINES: the unit, not 元, decides)
    assert well_formed([Entity(0, 6, "AMOUNT", "一角四分八厘")])
