"""Domain-adaptive masked-LM pretraining (training/fit/dapt.py): what it reads, how it masks,
and that its output is a backbone folder training can start from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tests.fixtures.tiny_training import build_tiny_backbone  # noqa: E402
from training.fit import dapt  # noqa: E402
from training.paths import PROJECT_ROOT  # noqa: E402

TEXT = ("关于支持科技创新的若干措施\n一、总体要求\n到2025年，全市高新技术企业达到500家。\n"
        "二、支持政策\n对新认定的企业给予30万元奖励。\n市科技局负责组织实施。\n")


@pytest.fixture(scope="module")
def backbone(tmp_path_factory) -> Path:
    """The tiny test backbone, its tokenizer knowing TEXT and a [MASK] token."""
    return build_tiny_backbone(tmp_path_factory.mktemp("dapt") / "backbone",
                               extra_texts=(TEXT, "0123456789"), mask_token=True)


def _tokenizer(backbone: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(backbone))


def test_excluded_ids_hold_every_dev_and_test_document_and_no_train_document() -> None:
    splits = json.loads((PROJECT_ROOT / "labels" / "splits.json").read_text())["splits"]
    excluded = dapt.excluded_ids()
    assert set(splits["dev"]) <= excluded and set(splits["test"]) <= excluded
    assert not set(splits["train"]) & excluded
    reference = PROJECT_ROOT / "labels" / "segmentation_heldout3" / "sources.jsonl"
    first = json.loads(reference.read_text(encoding="utf-8").splitlines()[0])["id"]
    assert first in excluded


def test_pack_windows_keeps_document_order_and_the_length_limit(backbone: Path) -> None:
    tokenizer = _tokenizer(backbone)
    clauses = [line for line in TEXT.splitlines() if line]
    windows = dapt.pack_windows([clauses], tokenizer, max_length=16)
    assert all(len(w) <= 16 for w in windows)
    assert all(w[0] == tokenizer.cls_token_id and w[-1] == tokenizer.sep_token_id
               for w in windows)
    expected = [t for ids in tokenizer(clauses, add_special_tokens=False)["input_ids"]
                for t in ids]
    # each window is a run of the document's tokens, in order; only leftovers under 8 tokens
    # (a short heading flushed before a long clause) are dropped
    position = 0
    for window in windows:
        inner = window[1:-1]
        found = next(i for i in range(position, len(expected))
                     if expected[i:i + len(inner)] == inner)
        position = found + len(inner)
    assert sum(len(w) - 2 for w in windows) >= 0.7 * len(expected)


def test_mask_batch_masks_only_real_tokens_and_is_deterministic(backbone: Path) -> None:
    tokenizer = _tokenizer(backbone)
    windows = dapt.pack_windows([[TEXT.replace("\n", "")]], tokenizer, max_length=32)
    windows.append(windows[-1][:10])  # a short row, so the batch has padding
    first = dapt.mask_batch(windows, tokenizer, 0.3, torch.Generator().manual_seed(1))
    again = dapt.mask_batch(windows, tokenizer, 0.3, torch.Generator().manual_seed(1))
    assert torch.equal(first["input_ids"], again["input_ids"])
    chosen = first["labels"] != -100
    assert chosen.any()
    original = dapt.mask_batch(windows, tokenizer, 0.0, torch.Generator().manual_seed(1))
    ids = original["input_ids"]
    never = ((ids == tokenizer.cls_token_id) | (ids == tokenizer.sep_token_id)
             | (original["attention_mask"] == 0))
    assert not (chosen & never).any()
    assert torch.equal(first["labels"][chosen], ids[chosen])
    # positions not chosen keep their token
    assert torch.equal(first["input_ids"][~chosen], original["input_ids"][~chosen])


def test_run_dapt_writes_a_backbone_that_training_can_load(backbone: Path,
                                                          tmp_path: Path) -> None:
    from safetensors import safe_open
    from transformers import AutoModel, BertModel

    corpus = tmp_path / "corpus.jsonl"
    with corpus.open("w", encoding="utf-8") as handle:
        for number in range(12):
            handle.write(json.dumps({"id": f"doc-{number}", "text": TEXT * 3},
                                    ensure_ascii=False) + "\n")
    out = tmp_path / "adapted"
    manifest = dapt.run_dapt(backbone, out, [corpus], steps=30, batch_size=4, max_length=32,
                             lr=5e-3, seed=3, head_warmup_steps=5, heldout_windows=4,
                             max_minutes=None, threads=1)
    assert manifest["steps"] == 30 and not manifest["stopped_by_max_minutes"]
    assert manifest["heldout_mlm_loss_after"] < manifest["heldout_mlm_loss_before"]
    model = AutoModel.from_pretrained(out)
    assert isinstance(model, BertModel)
    with safe_open(str(backbone / "model.safetensors"), "pt") as old, \
            safe_open(str(out / "model.safetensors"), "pt") as new:
        assert set(old.keys()) == set(new.keys())
        name = "encoder.layer.0.attention.self.query.weight"
        assert not torch.equal(old.get_tensor(name), new.get_tensor(name))
    assert json.loads((out / dapt.MANIFEST).read_text())["seed"] == 3


def test_run_dapt_names_a_missing_backbone(tmp_path: Path) -> None:
    from inference.errors import UserError

    with pytest.raises(UserError, match="not a backbone folder"):
        dapt.run_dapt(tmp_path / "nothing", tmp_path / "out", [], steps=1, batch_size=1,
                      max_length=16, lr=1e-4, seed=1, head_warmup_steps=0, heldout_windows=1,
                      max_minutes=None, threads=1)


def test_a_corpus_copy_of_a_test_document_is_left_out() -> None:
    splits = json.loads((PROJECT_ROOT / "labels" / "splits.json").read_text())["splits"]
    test_doc = splits["test"][0]
    texts = {}
    with (PROJECT_ROOT / "labels" / "documents.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            texts[record["id"]] = record["text"]
    held_out = dapt.held_out_shingles()
    second_crawl = "来源：某某网\n" + texts[test_doc].replace("\n", "\n\n")
    assert dapt.copies_held_out(second_crawl, held_out)
    assert not dapt.copies_held_out(TEXT * 3, held_out)
