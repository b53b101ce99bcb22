"""Classifier training on tiny random models: overfit → save → reload → same predictions,
pipeline() opens the folder, determinism, resume, label mismatch, thresholds, weak data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from inference.gold import GoldClause
from inference.schema import default_schema
from inference.scoring.components import ClauseInput
from inference.scoring.models import (
    META_FILE,
    ModelMismatchError,
    classifier_probabilities,
    load_scorer,
)
from tests.fixtures.tiny_training import (
    GOLD,
    build_tiny_backbone,
    fixture_records,
    tiny_config,
    trained_model,
)
from training.eval.metrics import label_metrics
from training.fit.checkpoints import load_checkpoint, save_checkpoint
from training.fit.classifier import (
    build_model,
    init_missing_pooler,
    label_loss_fn,
    pos_weights,
    train_classifier,
    tune_thresholds,
)
from training.fit.config import ConfigError, checkpoint_dir
from training.fit.data import clause_inputs, label_sets, label_targets, load_training_data
from training.fit.loop import epoch_batches

LABELS = default_schema().label_names


@pytest.fixture(scope="module")
def backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_backbone(tmp_path_factory.mktemp("backbone"))


def _train_records() -> list[GoldClause]:
    return [GoldClause.from_dict(r) for r in fixture_records()[:9]]


def test_overfit_save_reload_same_predictions() -> None:
    model_dir, result, _ = trained_model()
    records = _train_records()
    inputs = clause_inputs(records, {})
    in_memory = classifier_probabilities(result.model, result.tokenizer, inputs,
                                         context="section", max_length=64)
    scorer = load_scorer(model_dir)
    reloaded = scorer.predict(inputs)
    # The folder stores float16 weights (output.weights_dtype), computed in float32 on load.
    for row, prediction in zip(in_memory, reloaded, strict=True):
        assert [prediction.scores[name] for name in LABELS] == pytest.approx(row, abs=2e-3)
    predicted = [p.labels for p in reloaded]
    metrics = label_metrics([r.labels for r in records], predicted, LABELS)
    assert metrics.micro_f1 >= 0.9, (predicted, [r.labels for r in records])


def test_saved_folder_contents() -> None:
    model_dir, result, _ = trained_model()
    folder = model_dir / "classifier"
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    assert meta["labels"] == LABELS
    assert set(meta["thresholds"]) == set(LABELS)
    assert meta["context"] == "section"
    assert meta["max_length"] == 64
    assert meta["pooler_init"] == "identity"
    assert meta["config"]["train"]["epochs"] == result.fit.epochs_done
    assert meta["data"]["gold_sha256"] == __import__("hashlib").sha256(
        GOLD.read_bytes()).hexdigest()
    assert len(meta["data"]["splits_sha256"]) == 64
    assert "micro_f1" in meta["metrics"]["dev"]
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "## Intended use" in card and "## Limits" in card and "backbone" in card
    assert (model_dir / "README.md").is_file()
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["problem_type"] == "multi_label_classification"
    assert [config["id2label"][str(i)] for i in range(len(LABELS))] == LABELS


def test_pipeline_opens_the_folder_and_agrees() -> None:
    from transformers import pipeline

    model_dir, _, _ = trained_model()
    text = min((r.text for r in _train_records()), key=len)  # no truncation either way
    classify = pipeline("text-classification", model=str(model_dir / "classifier"),
                        device="cpu")
    out = classify(text, top_k=None)
    scores = {row["label"]: row["score"] for row in out}
    assert set(scores) == set(LABELS)
    # pipeline() feeds the clause alone: compare with our path in context mode "none", on the
    # weights as stored in the folder (float16 storage, so not the in-memory training model).
    loaded = load_scorer(model_dir).classifier
    ours = classifier_probabilities(loaded.model, loaded.tokenizer, [ClauseInput(text=text)],
                                   context="none", max_length=64)[0]
    assert [scores[name] for name in LABELS] == pytest.approx(ours, abs=1e-5)


def test_label_mismatch_raises(tmp_path: Path) -> None:
    model_dir, _, _ = trained_model()
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    path = copy / "classifier" / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    swapped = dict(config["id2label"])
    swapped["0"], swapped["1"] = swapped["1"], swapped["0"]
    config["id2label"] = swapped
    config["label2id"] = {v: int(k) for k, v in swapped.items()}
    path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelMismatchError, match=r"labels/schema\.yaml"):
        load_scorer(copy)


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_same_command_same_metrics_and_resume(backbone: Path, tmp_path: Path) -> None:
    def config(name: str):
        return tiny_config("classifier", backbone, tmp_path / name, train__epochs=3,
                           train__lr=1e-3, train__head_lr=5e-3)

    first = train_classifier(config("a"))
    second = train_classifier(config("b"))
    assert first.dev_metrics == second.dev_metrics
    assert first.thresholds == second.thresholds
    a, b = _state(first.model), _state(second.model)
    assert all(torch.equal(a[k], b[k]) for k in a)

    stopped = train_classifier(config("c"), stop_after_epoch=1)
    assert stopped.folder is None and not stopped.fit.finished
    assert not (tmp_path / "c" / "classifier").exists()
    # the run's recorded time goes on from the checkpoint's, not from zero
    folder = checkpoint_dir(config("c"))
    state = load_checkpoint(folder)
    assert state is not None and state["seconds"] > 0
    save_checkpoint(folder, {**state, "seconds": 1000.0})
    resumed = train_classifier(config("c"), resume=True)
    assert resumed.fit.finished and resumed.folder is not None
    assert resumed.fit.seconds >= 1000.0
    assert [h["epoch"] for h in resumed.fit.history] == [1, 2, 3]
    assert resumed.dev_metrics == first.dev_metrics
    assert [h["loss"] for h in resumed.fit.history] == [h["loss"] for h in first.fit.history]
    c = _state(resumed.model)
    assert all(torch.equal(a[k], c[k]) for k in a)
    assert not (tmp_path / "c-checkpoints" / "classifier").exists(), "checkpoints not cleaned"


def test_resume_with_another_config_is_refused(backbone: Path, tmp_path: Path) -> None:
    train_classifier(tiny_config("classifier", backbone, tmp_path / "m", train__epochs=2),
                     stop_after_epoch=1)
    with pytest.raises(ValueError, match="different config"):
        train_classifier(tiny_config("classifier", backbone, tmp_path / "m", train__epochs=2,
                                     train__lr=1e-4), resume=True)


def test_missing_pooler_starts_as_identity(backbone: Path, tmp_path: Path) -> None:
    _, model, how = build_model(tiny_config("classifier", backbone, tmp_path))
    assert how == "identity"
    dense = model.bert.pooler.dense
    assert torch.equal(dense.weight, torch.eye(32)) and not dense.bias.any()
    _, model, how = build_model(tiny_config("classifier", backbone, tmp_path,
                                            model__pooler_init="backbone"))
    assert how == "random" and not torch.equal(model.bert.pooler.dense.weight, torch.eye(32))
    assert init_missing_pooler(model, set(), "identity") == "pretrained"


def test_missing_backbone_says_what_to_do(tmp_path: Path) -> None:
    config = tiny_config("classifier", tmp_path / "nothing-here", tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="policy-clauses backbone"):
        build_model(config)


def test_tune_thresholds_on_dev_scores() -> None:
    probs = [[0.9, 0.2], [0.35, 0.3], [0.1, 0.6], [0.3, 0.1]]
    gold = [["goal"], ["goal"], [], []]
    thresholds = tune_thresholds(probs, gold, ["goal", "incentive"], default=0.5)
    assert 0.3 < thresholds["goal"] <= 0.35  # catches the 0.35 positive, not the 0.3 negative
    assert thresholds["incentive"] == 0.5  # no dev positives: the default stays


def test_pos_weights_are_capped_ratios() -> None:
    targets = [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    assert pos_weights(targets, [1.0] * 4, cap=10.0) == [3.0, 1.0]
    assert pos_weights(targets, [1.0] * 4, cap=2.0) == [2.0, 1.0]


def test_focal_loss_is_bce_at_gamma_zero_and_spares_easy_examples() -> None:
    logits = torch.tensor([[4.0, -4.0], [0.2, 0.1]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    bce = label_loss_fn("bce", [3.0, 1.0], 2.0, "cpu")(logits, targets)
    assert torch.allclose(label_loss_fn("focal", [3.0, 1.0], 0.0, "cpu")(logits, targets), bce)
    focal = label_loss_fn("focal", [3.0, 1.0], 2.0, "cpu")(logits, targets)
    ratio = focal / bce
    # confident and right (first row) keeps almost nothing; doubtful (second row) keeps ~1/4
    assert ratio[0].max() < 1e-3
    assert ratio[1].min() > 0.2 and ratio[1].max() < 0.35
    with pytest.raises(ValueError, match="unknown label loss"):
        label_loss_fn("hinge", [1.0, 1.0], 2.0, "cpu")


def test_batches_depend_only_on_seed_and_epoch() -> None:
    lengths = [5, 50, 7, 33, 12, 8, 40, 2, 9, 30]
    one = epoch_batches(lengths, 3, seed=1, epoch=2, group_by_length=True)
    assert one == epoch_batches(lengths, 3, seed=1, epoch=2, group_by_length=True)
    assert one != epoch_batches(lengths, 3, seed=1, epoch=3, group_by_length=True)
    assert sorted(i for batch in one for i in batch) == list(range(len(lengths)))


def test_weak_data_only_when_configured(backbone: Path, tmp_path: Path) -> None:
    base = tiny_config("classifier", backbone, tmp_path)
    plain = load_training_data(base.data)
    assert plain.weak == []
    records = fixture_records()
    train_docs = {r.doc_id for r in plain.train}
    # The gold documents again (train, dev and test), and unlabelled copies of the train ones
    # that carry a teacher's probabilities (what 'labels weak --model' writes).
    unlabelled = [{**r, "doc_id": "unlabelled-" + r["doc_id"],
                   "scores": {name: 0.25 + 0.1 * i for i, name in enumerate(LABELS)}}
                  for r in records if r["doc_id"] in train_docs]
    weak_path = tmp_path / "weak.jsonl"
    with weak_path.open("w", encoding="utf-8") as handle:
        for record in records + unlabelled:
            handle.write(json.dumps({**record, "weak": True}, ensure_ascii=False) + "\n")
    mixed = load_training_data(tiny_config("classifier", backbone, tmp_path,
                                           data__weak_path=str(weak_path)).data)
    # gold wins: no weak record of a gold document, held out or not
    assert [r.doc_id for r in mixed.weak] == [r["doc_id"] for r in unlabelled]
    held_out = [r for r in records if r["doc_id"] not in train_docs]
    assert mixed.manifest["weak_dropped_held_out"] == len(held_out)
    assert mixed.manifest["weak_dropped_gold_train"] == len(records) - len(held_out)
    assert mixed.manifest["weak_soft_targets"] == len(unlabelled)
    weights = [w for _, w in mixed.train_with_weights(0.25)]
    assert weights.count(0.25) == len(mixed.weak) and weights.count(1.0) == len(plain.train)
    # the trainers read the DatasetDict: gold train rows, then the weak ones at their weight
    assert list(plain.dataset) == ["train", "dev", "test"]
    train = mixed.dataset["train"]
    assert train["weight"] == [1.0] * len(plain.train) + [0.3] * len(mixed.weak)
    assert train["weak"] == [False] * len(plain.train) + [True] * len(mixed.weak)
    assert label_sets(train) == [r.labels for r in plain.train + mixed.weak]
    # gold rows learn their labels, weak rows with scores the teacher's probabilities
    targets = label_targets(train)
    gold_rows, weak_rows = targets[:len(plain.train)], targets[len(plain.train):]
    assert gold_rows == [[float(name in r.labels) for name in LABELS] for r in plain.train]
    assert weak_rows == [pytest.approx([0.25 + 0.1 * i for i in range(len(LABELS))])
                         ] * len(unlabelled)
    hard = load_training_data(tiny_config("classifier", backbone, tmp_path,
                                          data__weak_path=str(weak_path),
                                          data__weak_soft_targets=False).data)
    assert label_targets(hard.dataset["train"])[len(plain.train):] == [
        [float(name in r.labels) for name in LABELS] for r in hard.weak]


def test_weak_cap_takes_whole_documents(backbone: Path, tmp_path: Path) -> None:
    records = [{**r, "doc_id": "unlabelled-" + r["doc_id"], "weak": True}
               for r in fixture_records()]
    weak_path = tmp_path / "weak.jsonl"
    weak_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                         encoding="utf-8")
    sizes: dict[str, int] = {}
    for r in records:
        sizes[r["doc_id"]] = sizes.get(r["doc_id"], 0) + 1
    cap = max(sizes.values()) + 1
    capped = load_training_data(tiny_config("classifier", backbone, tmp_path,
                                            data__weak_path=str(weak_path),
                                            data__weak_max_clauses=cap).data).weak
    assert 0 < len(capped) <= cap
    kept = {r.doc_id for r in capped}
    assert all(sum(r.doc_id == d for r in capped) == sizes[d] for d in kept)
    again = load_training_data(tiny_config("classifier", backbone, tmp_path,
                                           data__weak_path=str(weak_path),
                                           data__weak_max_clauses=cap).data).weak
    assert [r.key for r in again] == [r.key for r in capped]


def test_cli_trains_and_saves(backbone: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    from policy_clauses.cli import main

    out = tmp_path / "cli-model"
    code = main(["train", "classifier", "--config",
                 str(Path(__file__).resolve().parent.parent / "configs" / "classifier.yaml"),
                 "--model.backbone", str(backbone), "--model.max_length", "48",
                 "--data.gold_path", str(GOLD), "--data.splits_path",
                 str(GOLD.with_name("splits_small.json")), "--data.documents_path", "null",
                 "--train.epochs", "1", "--train.threads", "1", "--output.dir", str(out),
                 "--output.checkpoint_dir", str(tmp_path / "ckpt")])
    assert code == 0, capsys.readouterr().err
    meta = json.loads((out / "classifier" / META_FILE).read_text(encoding="utf-8"))
    assert meta["config"]["model"]["backbone"] == str(backbone)
    assert meta["config"]["model"]["max_length"] == 48
    assert "saved" in capsys.readouterr().out


def test_config_errors_are_config_errors(backbone: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        tiny_config("classifier", backbone, tmp_path, train__nope=1)
