"""The shared-encoder model on a tiny random backbone: one encoder pass serves both heads,
the saved parts are standard folders that pipeline() opens, and the scorer run as one model
gives what the two saved parts give run through the same windows."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest
import torch

from inference.schema import default_schema
from inference.scoring.components import ClauseInput
from inference.scoring.encoding import encode_joint
from inference.scoring.joint import JointModule, load_tag_head
from inference.scoring.model_folder import META_FILE, read_meta
from inference.scoring.models import load_scorer
from tests.fixtures.tiny_training import build_tiny_backbone, char_tokenizer, tiny_config
from training.fit.joint import train_joint

TEXT = "对符合条件的项目给予支持，由省财政厅负责，单个项目最高补助500万元。"


@lru_cache(maxsize=1)
def _trained(root: str) -> tuple[Path, object]:
    backbone = build_tiny_backbone(Path(root) / "backbone", extra_texts=(TEXT,))
    out = Path(root) / "model"
    result = train_joint(tiny_config("joint", backbone, out, train__epochs=30,
                                     train__select_best=False, train__tune_thresholds=False))
    return out, result


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, object]:
    return _trained(str(tmp_path_factory.mktemp("joint")))


def test_context_tokens_are_never_tagged_and_windows_share_stride() -> None:
    tokenizer = char_tokenizer([TEXT, "二、支持政策"])
    encoded = encode_joint(tokenizer, [TEXT], ["二、支持政策"], max_length=20, stride=4,
                           max_context_tokens=3)
    assert len(encoded["input_ids"]) > 2
    for ids, offsets in zip(encoded["input_ids"], encoded["offset_mapping"], strict=True):
        tokens = tokenizer.convert_ids_to_tokens(ids)
        # the capped context (3 characters) ends every window, untagged
        assert tokens[-4:-1] == ["二", "、", "支"]
        assert all(o == (0, 0) for o in offsets[-4:])
        real = [o for o in offsets if o[0] < o[1]]
        assert "".join(TEXT[s:e] for s, e in real) in TEXT
    covered = {s for offsets in encoded["offset_mapping"] for s, e in offsets if s < e}
    assert covered == set(range(len(TEXT)))


def test_section_title_context_keeps_the_heading_path_when_the_budget_cuts() -> None:
    from inference.scoring.encoding import format_context

    section, title = "二、支持政策", "关于印发某某市促进科技成果转化若干措施的通知"
    assert format_context(section, title, "both") == f"{title} > {section}"
    assert format_context(section, title, "section_title") == f"{section} > {title}"
    assert format_context("", title, "section_title") == title
    # a 6-token context budget keeps the heading path, where "both" would keep the title
    tokenizer = char_tokenizer([TEXT, section, title, ">"])
    for mode, kept in (("section_title", "二、支持政策"), ("both", "关于印发某某")):
        encoded = encode_joint(tokenizer, [TEXT], [format_context(section, title, mode)],
                               max_length=40, stride=4, max_context_tokens=6)
        tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
        assert "".join(tokens[-7:-1]) == kept


def test_section_ends_context_keeps_the_title_above_the_clause_when_the_budget_cuts() -> None:
    from inference.scoring.encoding import format_context

    section = "三、重点任务 > （一）建立科技成果转化信息共享与发布体系 > 1.推动供需结合"
    assert format_context(section, "", "section_ends") == "三、重点任务 > 1.推动供需结合"
    assert format_context("三、重点任务 > （二）建设原则", "", "section_ends") == (
        "三、重点任务 > （二）建设原则")
    assert format_context("", "通知", "section_ends") == ""
    # at 16 tokens "section" loses 1.推动供需结合 (the title right above the clause), not so
    # "section_ends"
    tokenizer = char_tokenizer([TEXT, section, ">"])
    for mode, tail in (("section_ends", "推动供需结合"), ("section", "建立科技成果")):
        encoded = encode_joint(tokenizer, [TEXT], [format_context(section, "", mode)],
                               max_length=40, stride=4, max_context_tokens=16)
        tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
        assert "".join(tokens[-7:-1]) == tail


def test_saved_parts_share_the_encoder_and_open_in_pipeline(trained) -> None:
    from transformers import pipeline

    folder, _ = trained
    classifier, tagger = read_meta(folder / "classifier"), read_meta(folder / "tagger")
    assert classifier.shared_encoder is not None
    assert classifier.shared_encoder == tagger.shared_encoder
    assert json.loads((folder / "tagger" / META_FILE).read_text())["format_version"] == 3
    labels = pipeline("text-classification", model=str(folder / "classifier"), top_k=None,
                      function_to_apply="sigmoid")([TEXT])[0]
    assert {row["label"] for row in labels} == set(default_schema().label_names)
    pipeline("token-classification", model=str(folder / "tagger"))(TEXT)


def test_one_pass_gives_what_the_two_standard_parts_give(trained) -> None:
    """The scorer's single pass equals the classifier folder's logits and the tagger
    folder's logits on the same window: the shared encoder is really shared."""
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    folder, _ = trained
    scorer = load_scorer(folder)
    assert scorer.shared is not None and scorer.tagger is None
    classifier = AutoModelForSequenceClassification.from_pretrained(folder / "classifier").eval()
    tagger = AutoModelForTokenClassification.from_pretrained(folder / "tagger").eval()
    ids = torch.tensor([scorer.shared.tokenizer(TEXT)["input_ids"]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        label_logits, tag_logits = scorer.shared.module(ids, mask)
        assert torch.allclose(label_logits, classifier(input_ids=ids, attention_mask=mask).logits,
                              atol=1e-5)
        assert torch.allclose(tag_logits, tagger(input_ids=ids, attention_mask=mask).logits,
                              atol=1e-5)
    prediction = scorer.predict([ClauseInput(TEXT, section="二、支持政策")])[0]
    assert set(prediction.scores) == set(default_schema().label_names)


def test_training_fits_the_train_clauses(trained) -> None:
    """Overfitting the fixture's train split: the objective really trains both heads."""
    _, result = trained
    history = result.fit.history
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]


def test_a_tag_head_of_the_wrong_shape_is_refused(trained, tmp_path) -> None:
    from inference.scoring.model_folder import ModelFolderError

    folder, _ = trained
    with pytest.raises(ModelFolderError, match="tag head of shape"):
        load_tag_head(folder / "tagger", hidden_size=33, n_tags=5)


def test_joint_module_head_parameters_get_the_head_learning_rate() -> None:
    from training.fit.loop import is_head_parameter

    assert is_head_parameter("tag_head.weight")
    assert is_head_parameter("sequence_model.classifier.weight")
    assert not is_head_parameter("sequence_model.bert.encoder.layer.0.output.dense.weight")
    assert JointModule.__name__ == "JointModule"


def test_train_share_keeps_whole_documents_nested() -> None:
    from inference.gold import GoldClause
    from training.fit.data import documents_share

    records = [GoldClause.from_dict({"doc_id": f"d{d}", "clause_id": c, "text": "一", "start": 0,
                                     "end": 1, "kind": "body", "section": "", "labels": [],
                                     "entities": []})
               for d in range(8) for c in range(3)]
    quarter, half = documents_share(records, 0.25), documents_share(records, 0.5)
    assert len({r.doc_id for r in quarter}) == 2 and len({r.doc_id for r in half}) == 4
    assert {r.doc_id for r in quarter} <= {r.doc_id for r in half}
    assert all(sum(r.doc_id == d for r in half) == 3 for d in {r.doc_id for r in half})


def test_threshold_choice_is_recorded_with_its_fold_spread(trained, tmp_path) -> None:
    """The saved thresholds are the ones chosen on all of dev, and the card shows how far
    they move over document folds of dev."""
    import shutil

    from training.fit.joint import record_threshold_choice

    folder, _ = trained
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    backbone = copy.parent / "unused"
    config = tiny_config("joint", backbone, copy)
    choice = record_threshold_choice(copy, config)
    meta = read_meta(copy / "classifier")
    assert meta.thresholds == choice.thresholds
    assert len(choice.fold_documents) == 3  # the fixture's dev split has 3 documents
    assert meta.metrics["threshold_choice"]["folds"] == 3
    from training.fit.model_card import write_combined_card

    card = write_combined_card(copy).read_text(encoding="utf-8")
    assert "fold thresholds min / median / max" in card


def test_cli_chooses_thresholds_again_for_a_saved_model(
        trained, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    """``policy-clauses train thresholds`` after the dev gold changed: the thresholds are
    chosen again on the new dev (the model's own config, the gold path overridden), the dev
    table counts the new gold, both cards show the choice and the model's version changes
    with its thresholds. A config with another context, and a folder with no classifier, are
    refused by name before anything is written."""
    import argparse
    import shutil

    from inference.errors import UserError
    from inference.scoring.models import model_identity
    from policy_clauses.cli import main
    from policy_clauses.commands.train import cmd_thresholds
    from tests.fixtures.tiny_training import GOLD, SPLITS

    folder, _ = trained
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    before = read_meta(copy / "classifier")
    assert before.threshold_source == "config"  # the fixture trains without tuning
    version_before = model_identity(copy)[1]
    # the dev gold changes: every dev clause becomes a goal
    dev_docs = set(json.loads(SPLITS.read_text(encoding="utf-8"))["splits"]["dev"])
    gold = tmp_path / "gold.jsonl"
    records = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    for record in records:
        if record["doc_id"] in dev_docs:
            record["labels"] = sorted({*record["labels"], "goal"})
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    dev_clauses = sum(r["doc_id"] in dev_docs for r in records)

    other = ["--model", str(copy), "--model.context", "both", "--data.gold_path", str(gold)]
    with pytest.raises(UserError, match="trained with context"):
        cmd_thresholds(argparse.Namespace(model=str(copy), config=None, overrides=other[2:]))
    assert read_meta(copy / "classifier").thresholds == before.thresholds
    code = main(["train", "thresholds", "--model", str(copy), "--data.gold_path", str(gold),
                 "--data.splits_path", str(SPLITS), "--data.documents_path", "null"])
    out = capsys.readouterr().out
    assert code == 0, out
    after = read_meta(copy / "classifier")
    assert after.threshold_source.startswith("dev")
    choice = after.metrics["threshold_choice"]
    assert choice["thresholds"] == after.thresholds
    assert choice["dev_data"]["clauses"] == dev_clauses
    # the dev table is today's dev: the new gold's goal count, the choice's F1
    assert after.metrics["dev"]["labels"]["goal"]["support"] == dev_clauses
    assert all(after.metrics["dev"]["labels"][label]["f1"] == choice["labels"][label]["f1"]
               for label in after.thresholds)
    assert all(f"{label}: {before.thresholds[label]} -> {after.thresholds[label]}" in out
               for label in after.thresholds)
    for card in (copy / "README.md", copy / "classifier" / "README.md"):
        assert f"Chosen on dev: {dev_clauses} clauses" in card.read_text(encoding="utf-8")
    # every dev clause a goal: the goal threshold drops, and with it the model's version
    assert after.thresholds["goal"] < before.thresholds["goal"]
    assert model_identity(copy)[1] != version_before
    with pytest.raises(UserError, match="no classifier/ folder"):
        cmd_thresholds(argparse.Namespace(model=str(tmp_path), config=None, overrides=[]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
def test_training_and_scoring_run_on_a_gpu(tmp_path) -> None:
    """``--train.device cuda``: the same code path on a GPU, and the saved model scores the
    same clauses on the GPU and on the CPU alike."""
    backbone = build_tiny_backbone(tmp_path / "backbone", extra_texts=(TEXT,))
    out = tmp_path / "model"
    train_joint(tiny_config("joint", backbone, out, train__epochs=3, train__device="cuda",
                            train__tune_thresholds=False))
    inputs = [ClauseInput(TEXT, section="二、支持政策")]
    on_gpu = load_scorer(out, device="cuda").predict(inputs)[0]
    on_cpu = load_scorer(out).predict(inputs)[0]
    for label, score in on_cpu.scores.items():
        assert abs(on_gpu.scores[label] - score) < 1e-3


def test_distillation_data_trains_saves_and_loads(tmp_path) -> None:
    """Weak records with a teacher's scores (what 'labels weak --model' writes) go through
    train joint end to end: the manifest counts them and the saved folder loads."""
    from tests.fixtures.tiny_training import fixture_records

    backbone = build_tiny_backbone(tmp_path / "backbone", extra_texts=(TEXT,))
    names = default_schema().label_names
    weak_path = tmp_path / "teacher.jsonl"
    with weak_path.open("w", encoding="utf-8") as handle:
        for record in fixture_records():
            soft = {**record, "doc_id": "unlabelled-" + record["doc_id"], "weak": True,
                    "scores": {name: 0.7 if name in record["labels"] else 0.1 for name in names}}
            handle.write(json.dumps(soft, ensure_ascii=False) + "\n")
    out = tmp_path / "student"
    train_joint(tiny_config("joint", backbone, out, train__epochs=1, train__select_best=False,
                            train__tune_thresholds=False, data__weak_path=str(weak_path),
                            data__weak_entities=False))
    data = read_meta(out / "classifier").data
    assert data.weak_clauses == len(fixture_records()) == data.weak_soft_targets
    assert load_scorer(out).predict([ClauseInput(text=TEXT)])


def test_untagged_clauses_teach_the_tag_head_nothing() -> None:
    from inference.records import Entity
    from inference.scoring.align import IGNORE
    from training.fit.joint import joint_examples

    tokenizer = char_tokenizer([TEXT])
    config = tiny_config("joint", Path("unused"), Path("unused"))
    amount = Entity(start=TEXT.index("500"), end=TEXT.index("。"), type="AMOUNT", text="500万元")
    examples = joint_examples(tokenizer, [TEXT, TEXT], ["", ""], [[1.0] * 5, [0.5] * 5],
                              [[amount], [amount]], [1.0, 0.5], config, untagged=[False, True])
    tagged, untagged = examples[0]["tags"], examples[-1]["tags"]
    assert any(t != IGNORE for t in tagged)
    assert all(t == IGNORE for t in untagged)
    assert examples[-1]["targets"] == [0.5] * 5  # labels still learnt from the soft targets
