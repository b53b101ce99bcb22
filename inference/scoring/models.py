"""Choosing and loading a clause scorer: a fine-tuned model folder, or the rule baseline.

Loader API (the one way in; ``predict``, ``export``, ``render``, ``evaluate`` and Ray actors
all call it)::

    load_scorer(model=None, *, rules=False, fast="none", device="cpu") -> ClauseScorer

- ``rules=True``: the rule baseline (``inference.scoring.rules.RuleScorer``), only when asked.
- ``model=DIR``: that model folder. ``model=None``: ``resolve_model`` finds the default, the
  folder named by ``$POLICY_CLAUSES_MODEL``, else models/default of a source checkout; with
  neither it raises a ``UserError`` naming ``--model DIR`` and ``--rules`` (never a silent
  fallback to rules).
- ``fast``: a mode of ``inference.scoring.runtime.FAST_MODES`` (``auto``, ``none``, ``int8``,
  ``bf16``, ``onnx``), applied to both parts as they load; ``auto`` (the CLI's default; the
  function's is float32) is resolved once from the CPU's features (``runtime.resolve_fast``);
  ``onnx`` runs a shared-encoder model in ONNX Runtime (``inference.scoring.onnx_runtime``);
  ``device``: a torch device.

Every scorer carries ``name`` (``model:default``, ``rules``), ``version``
(``default@<digest of weights and thresholds>``) and per-label ``thresholds`` (``ClauseScorer``);
``components.scorer_identity`` is what output records store. A model folder holds two standard
Hugging Face folders, ``classifier/`` (AutoModelForSequenceClassification, multi-label) and
``tagger/`` (AutoModelForTokenClassification, IOB2 over AMOUNT/AGENCY); each opens with
``transformers.pipeline`` and carries ``policy_clauses.json``, read and checked by
``inference.scoring.model_folder`` (format version, label-schema version, label set, files):
any problem is a ``ModelFolderError`` (a ``UserError``) naming the folder and the fix. The
tagger's spans go through ``inference.scoring.postprocess`` (span repair, guideline rules).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inference import __version__
from inference.errors import UserError
from inference.records import Entity
from inference.schema import LabelSchema, default_schema
from inference.scoring.components import ClauseInput, ClauseScorer, ClauseScores
from inference.scoring.encoding import (
    encode_for_classifier,
    encode_for_tagger,
    format_context,
    length_sorted_batches,
)
from inference.scoring.model_folder import (
    META_FILE,
    ClassifierMeta,
    ModelFolderError,
    ModelMismatchError,
    TaggerMeta,
    check_labels,
    model_digest,
    open_part,
)
from inference.scoring.postprocess import entities_from_windows
from inference.scoring.repeats import RepeatedInputs
from inference.scoring.runtime import (
    FAST_MODES,
    apply_fast_path,
    cpu_has_bf16_units,
    resolve_fast,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "default"
MODEL_ENV = "POLICY_CLAUSES_MODEL"


def resolve_model(model: str | Path | None = None, *, rules: bool = False) -> Path | None:
    """The model folder a run uses, or None for the rule baseline (only with ``rules``).

    ``--model DIR`` wins; then ``$POLICY_CLAUSES_MODEL``; then models/default beside the code
    (a source checkout). Nothing found is a ``UserError`` that names both ways out."""
    if rules:
        if model is not None:
            raise UserError("give either --model DIR or --rules, not both")
        return None
    if model is not None:
        folder = Path(model)
        if not folder.is_dir():
            raise ModelFolderError(f"model folder {folder} does not exist (--model DIR takes a "
                                   "folder holding classifier/ and tagger/)")
        return folder
    env = os.environ.get(MODEL_ENV)
    if env:
        folder = Path(env)
        if not folder.is_dir():
            raise ModelFolderError(f"{MODEL_ENV}={env}: no such folder; point it at a model "
                                   "folder (classifier/ and tagger/) or unset it")
        return folder
    if (DEFAULT_MODEL_DIR / "classifier" / META_FILE).is_file():
        return DEFAULT_MODEL_DIR
    raise UserError(
        f"no model to score with: {DEFAULT_MODEL_DIR} is not there (an installed package "
        f"ships no weights) and {MODEL_ENV} is not set; give --model DIR (a folder with "
        "classifier/ and tagger/, e.g. models/default of a source checkout) or --rules for "
        "the rule baseline")


def _load_failure(folder: Path, exc: Exception) -> ModelFolderError:
    """What a part whose weights or config will not load raises: the folder and the fix."""
    return ModelFolderError(f"{folder}: the model could not be loaded "
                            f"({type(exc).__name__}: {exc}); retrain it or copy the folder "
                            "again")


def _load_part(folder: Path, loader: Any, device: str, fast: str = "none") -> tuple[Any, Any]:
    """Tokenizer and model of a checked part; a load failure names the folder.

    ``fast="bf16"`` loads the weights as bfloat16 directly: the same rounding as casting the
    float32 model afterwards (tests/test_runtime_paths.py), without a second pass over every
    tensor (0.3 s of a first record)."""
    options: dict[str, Any] = {}
    if fast == "bf16":
        import torch

        options["dtype"] = torch.bfloat16
    tokenizer = _load_tokenizer(folder)
    try:
        model = loader.from_pretrained(folder, **options).eval().to(device)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise _load_failure(folder, exc) from None
    return tokenizer, model


class _ClassifierPart:
    """What a loaded classifier part holds, whichever code computes it: its labels (checked
    against the schema), thresholds, context and window settings, and the model on its
    device with the fast path applied."""

    engine = "transformers"

    def __init__(self, folder: Path, meta: ClassifierMeta, model: Any, tokenizer: Any,
                 schema: LabelSchema, device: str, fast: str) -> None:
        self.folder = folder
        self.meta = meta
        self.tokenizer = tokenizer
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        check_labels(labels, schema.label_names, folder, "labels (config.json)")
        self.labels = labels
        self.thresholds = meta.threshold_list()
        self.context = meta.context
        self.max_length = meta.max_length
        self.device = device
        self.model = apply_fast_path(model.to(device), fast)


class ClassifierModel(_ClassifierPart):
    """Multi-label clause classifier over a standard HF sequence-classification folder."""

    def __init__(self, folder: Path, schema: LabelSchema, device: str = "cpu",
                 fast: str = "none", meta: ClassifierMeta | None = None) -> None:
        from transformers import AutoModelForSequenceClassification

        meta = meta or open_part(folder, "classifier", schema)
        assert isinstance(meta, ClassifierMeta)
        tokenizer, model = _load_part(folder, AutoModelForSequenceClassification, device, fast)
        super().__init__(folder, meta, model, tokenizer, schema, device, fast)

    def predict_proba(self, inputs: Sequence[ClauseInput],
                      batch_size: int = 64) -> list[list[float]]:
        return classifier_probabilities(self.model, self.tokenizer, inputs, context=self.context,
                                        max_length=self.max_length, batch_size=batch_size,
                                        device=self.device)


def _load_tokenizer(folder: Path) -> Any:
    """The fast tokenizer of a part, imported without transformers' model code: the class
    ``tokenizer_config.json`` names when it is ``PreTrainedTokenizerFast`` (what training
    saves; the class ``AutoTokenizer`` resolves it to), else ``AutoTokenizer``."""
    import json

    try:
        named = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        named = {}
    try:
        if isinstance(named, dict) and named.get("tokenizer_class") == "PreTrainedTokenizerFast":
            from transformers import PreTrainedTokenizerFast

            return PreTrainedTokenizerFast.from_pretrained(folder)
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelFolderError(f"{folder}: the tokenizer could not be loaded "
                               f"({type(exc).__name__}: {exc}); retrain the model or copy the "
                               "folder again") from None


class LiteClassifierModel(_ClassifierPart):
    """The classifier part of a shared-encoder model on the plain-torch BERT of
    ``inference.scoring.encoder_lite`` (no transformers model code imported: a first record
    sooner). Built by ``lite_classifier`` only for a ``config.json`` that module computes
    exactly."""

    engine = "lite"


def lite_classifier(folder: Path, meta: ClassifierMeta, schema: LabelSchema, device: str,
                    fast: str) -> LiteClassifierModel | None:
    """The lite classifier of ``folder``, or None (with the reason at DEBUG) when its
    ``config.json`` or weights are not exactly what ``encoder_lite`` computes: the caller
    then loads it with transformers."""
    import torch

    from inference.scoring.encoder_lite import load_classifier, read_config, unsupported

    try:
        config = read_config(folder)
    except (OSError, ValueError) as exc:
        log.debug("%s: config.json unreadable (%s); transformers loads it", folder, exc)
        return None
    reason = unsupported(config) if isinstance(config, dict) else "not a JSON object"
    if reason is not None:
        log.debug("%s: %s; transformers loads it", folder, reason)
        return None
    tokenizer = _load_tokenizer(folder)
    try:
        model = load_classifier(folder, config,
                                torch.bfloat16 if fast == "bf16" else torch.float32)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise _load_failure(folder, exc) from None
    if model is None:
        log.debug("%s: its tensors are not the lite encoder's; transformers loads it", folder)
        return None
    return LiteClassifierModel(folder, meta, model, tokenizer, schema, device, fast)


def classifier_probabilities(
    model: Any, tokenizer: Any, inputs: Sequence[ClauseInput], *, context: str, max_length: int,
    batch_size: int = 64, device: str = "cpu",
) -> list[list[float]]:
    """Per-label sigmoid probabilities of a sequence-classification model: the one scoring
    path of serving and of dev evaluation during training."""
    import torch

    texts = [item.text for item in inputs]
    contexts = [format_context(item.section, item.title, context) for item in inputs]
    probs: list[list[float]] = [[] for _ in inputs]
    lengths = [len(t) + len(c) for t, c in zip(texts, contexts, strict=True)]
    with torch.inference_mode():
        for batch in length_sorted_batches(lengths, batch_size):
            encoded = encode_for_classifier(
                tokenizer, [texts[i] for i in batch], [contexts[i] for i in batch],
                max_length=max_length, mode=context, padding=True, return_tensors="pt",
            )
            logits = model(**encoded.to(device)).logits
            for row, index in zip(torch.sigmoid(logits.float()).tolist(), batch,
                                  strict=True):
                probs[index] = row
    return probs


class TaggerModel:
    """AMOUNT/AGENCY tagger over a standard HF token-classification folder; clauses longer
    than the window are tagged in overlapping windows so no entity is lost at a cut."""

    def __init__(self, folder: Path, schema: LabelSchema, device: str = "cpu",
                 fast: str = "none") -> None:
        from transformers import AutoModelForTokenClassification

        meta = open_part(folder, "tagger", schema)
        assert isinstance(meta, TaggerMeta)
        self.folder = folder
        self.meta = meta
        self.tokenizer, self.model = _load_part(folder, AutoModelForTokenClassification, device,
                                                fast)
        tags = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        check_labels(tags, schema.bio_tags, folder, "tags (config.json)")
        self.tags = tags
        self.max_length = meta.max_length
        self.stride = meta.stride
        self.device = device
        self.model = apply_fast_path(self.model, fast)

    def predict_entities(self, texts: Sequence[str], batch_size: int = 64) -> list[list[Entity]]:
        return tagger_entities(self.model, self.tokenizer, texts, self.tags,
                               max_length=self.max_length, stride=self.stride,
                               batch_size=batch_size, device=self.device)


def tagger_entities(
    model: Any, tokenizer: Any, texts: Sequence[str], tags: Sequence[str], *, max_length: int,
    stride: int, batch_size: int = 64, device: str = "cpu",
) -> list[list[Entity]]:
    """Entities from a token-classification model over the same overlapping windows training
    used (``encode_for_tagger``); windows of one text are merged by ``decode_windows``."""
    import torch

    from inference.scoring.align import (
        SCORING_MAX_TOKENS,
        SCORING_ROW_STEP,
        SCORING_WIDTH_STEP,
        pad_windows,
    )

    encoded = encode_for_tagger(tokenizer, texts, max_length=max_length, stride=stride)
    n_windows = len(encoded["input_ids"])
    window_probs: list[Any] = [None] * n_windows
    lengths = [len(ids) for ids in encoded["input_ids"]]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for batch in length_sorted_batches(lengths, batch_size, max_tokens=SCORING_MAX_TOKENS,
                                           width_step=SCORING_WIDTH_STEP,
                                           row_step=SCORING_ROW_STEP):
            ids, mask = pad_windows([encoded["input_ids"][i] for i in batch], pad_id,
                                    width_step=SCORING_WIDTH_STEP, row_step=SCORING_ROW_STEP,
                                    max_width=max_length)
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            probs = torch.softmax(logits.float(), dim=-1).cpu()
            for row, index in enumerate(batch):
                window_probs[index] = probs[row, :lengths[index]].numpy()
    return entities_from_windows(texts, encoded["overflow_to_sample_mapping"],
                                 encoded["offset_mapping"], window_probs, tags)


class SharedEncoderModel:
    """Both parts of a shared-encoder model run as one (``inference.scoring.joint``): the
    classifier's encoder once per window, its label head and the tagger's tag head on top."""

    def __init__(self, classifier: ClassifierModel | LiteClassifierModel, tagger_folder: Path,
                 tags: list[str], settings: Any, fast: str) -> None:
        from inference.scoring.joint import JointModule, load_tag_head

        self.settings = settings
        self.tags = tags
        self.tokenizer = classifier.tokenizer
        self.device = classifier.device
        # "lite" (encoder_lite) or "transformers": which code computes the encoder
        self.engine = classifier.engine
        sequence_model = classifier.model
        head = load_tag_head(tagger_folder, sequence_model.config.hidden_size, len(tags))
        dtype = next(sequence_model.parameters()).dtype
        if self.engine == "lite":
            from inference.scoring.encoder_lite import JointModule as LiteJointModule

            self.module: Any = LiteJointModule(sequence_model, head.to(dtype)).eval().to(
                self.device)
        else:
            self.module = JointModule(sequence_model, head.to(dtype)).eval().to(self.device)
        # int8 quantised the encoder as the classifier loaded; the tag head stays float32
        if fast == "onnx":
            from inference.scoring.onnx_runtime import load_onnx_joint

            if self.device != "cpu":
                raise UserError(f"--fast onnx runs on the CPU, not on {self.device}")
            digest = model_digest(classifier.folder.parent, length=24)
            self.module = load_onnx_joint(self.module, self.tokenizer, settings, digest)

    def predict(self, inputs: Sequence[ClauseInput]) -> tuple[list[list[float]],
                                                               list[list[Entity]]]:
        from inference.scoring.joint import joint_scores

        contexts = [format_context(i.section, i.title, self.settings.context) for i in inputs]
        return joint_scores(self.module, self.tokenizer, [i.text for i in inputs], contexts,
                            self.tags, self.settings, device=self.device)


class ModelScorer:
    """Fine-tuned classifier + tagger as a clause scorer (built by ``load_scorer``). Parts
    trained as one shared-encoder model run as one (one encoder pass per clause); other
    parts run one after the other."""

    def __init__(self, folder: Path, schema: LabelSchema | None = None, device: str = "cpu",
                 fast: str = "none") -> None:
        from inference.scoring.joint import shared_settings

        self.schema = schema or default_schema()
        fast = resolve_fast(fast, device=device)
        # the model's digest (the scorer's version) is read while the model loads: hashlib
        # lets go of the GIL, so the 2 × 28 MB cost nothing before the first record
        digest: dict[str, str] = {}
        hashing = threading.Thread(target=lambda: digest.update(value=model_digest(folder)),
                                   name="weights-digest", daemon=True)
        hashing.start()
        classifier_meta = open_part(folder / "classifier", "classifier", self.schema)
        assert isinstance(classifier_meta, ClassifierMeta)
        tagger_meta = open_part(folder / "tagger", "tagger", self.schema)
        settings = shared_settings(classifier_meta, tagger_meta)
        # a shared-encoder model runs on the plain-torch encoder where it computes exactly
        # what transformers does (no model code imported: issue 14's first record); onnx
        # exports the transformers model, and anything else keeps transformers too
        lite = None
        if settings is not None and fast != "onnx":
            lite = lite_classifier(folder / "classifier", classifier_meta, self.schema, device,
                                   fast)
        # onnx exports the float32 torch model; the other modes transform it as it loads
        self.classifier: ClassifierModel | LiteClassifierModel = lite or ClassifierModel(
            folder / "classifier", self.schema, device, "none" if fast == "onnx" else fast,
            meta=classifier_meta)
        if settings is None and fast == "onnx":
            raise UserError(f"--fast onnx runs shared-encoder models only ('policy-clauses "
                            f"train joint'); {folder} holds two separate parts: use --fast "
                            "auto, none, bf16 or int8")
        self.shared: SharedEncoderModel | None = None
        self.tagger: TaggerModel | None = None
        if settings is not None:
            assert isinstance(tagger_meta, TaggerMeta)
            check_labels(tagger_meta.tags, self.schema.bio_tags, folder / "tagger",
                         "tags (policy_clauses.json)")
            self.shared = SharedEncoderModel(self.classifier, folder / "tagger",
                                             list(tagger_meta.tags), settings, fast)
        else:
            self.tagger = TaggerModel(folder / "tagger", self.schema, device, fast)
        hashing.join()
        self.name, self.version = model_identity(folder, fast, digest=digest.get("value"))
        self.thresholds = dict(zip(self.classifier.labels, self.classifier.thresholds,
                                   strict=True))
        self.repeats = RepeatedInputs()

    def predict(self, inputs: Sequence[ClauseInput]) -> list[ClauseScores]:
        """Scores of each input; an input the model has read before (the same text in the same
        context) is answered from memory (``repeats``), not encoded again."""
        return self.repeats.predict(inputs, self._input_key, self._score)

    def _input_key(self, item: ClauseInput) -> bytes:
        """What the model reads of a clause (its text and its context, as the encoder sees
        them), as a digest: the memory's size does not grow with the clauses' length."""
        mode = self.shared.settings.context if self.shared is not None else self.classifier.context
        context = format_context(item.section, item.title, mode)
        return hashlib.blake2b(f"{item.text}\x00{context}".encode("utf-8", "surrogatepass"),
                               digest_size=16).digest()

    def _score(self, inputs: Sequence[ClauseInput]) -> list[ClauseScores]:
        if self.shared is not None:
            probs, entities = self.shared.predict(inputs)
        else:
            assert self.tagger is not None and isinstance(self.classifier, ClassifierModel)
            probs = self.classifier.predict_proba(inputs)
            entities = self.tagger.predict_entities([item.text for item in inputs])
        out = []
        for row, ents in zip(probs, entities, strict=True):
            scores = dict(zip(self.classifier.labels, row, strict=True))
            labels = [name for name, p, t in zip(self.classifier.labels, row,
                                                  self.classifier.thresholds, strict=True)
                      if p >= t]
            out.append(ClauseScores(scores=scores, labels=labels, entities=ents))
        return out


def model_identity(folder: Path | None, fast: str = "none", *,
                   digest: str | None = None) -> tuple[str, str]:
    """(name, version) of the scorer a run uses, as output records store them: the folder's
    name, never its absolute path, and a short hash of its weights and thresholds (``digest``
    when it was already computed: ``model_digest(folder)``). ``None``: the rules."""
    if folder is None:
        return "rules", f"rules@{__version__}"
    fast = resolve_fast(fast, announce=False)
    folder = Path(folder).resolve()
    name = f"model:{folder.name}" + (f" ({fast})" if fast != "none" else "")
    return name, f"{folder.name}@{digest or model_digest(folder)}"


def load_scorer(model: str | Path | None = None, *, rules: bool = False,
                fast: str = "none", device: str = "cpu") -> ClauseScorer:
    """The one loader (module docstring): ``rules`` → the rule baseline; else the model folder
    ``resolve_model`` finds, with the ``fast`` path applied (``auto`` resolved once, here)."""
    from inference.scoring.rules import RuleScorer

    if fast not in FAST_MODES:
        raise UserError(f"unknown --fast mode {fast!r}; expected one of {FAST_MODES}")
    folder = resolve_model(model, rules=rules)
    if folder is None:
        return RuleScorer()
    fast = resolve_fast(fast, device=device)
    if fast == "bf16" and device == "cpu" and not cpu_has_bf16_units():
        log.warning("--fast bf16: this CPU has no AMX/AVX-512 BF16 units; bf16 will be "
                    "emulated and may be slower than float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ModelScorer(folder, device=device, fast=fast)


__all__ = [
    "ClauseScorer",
    "ModelFolderError",
    "ModelMismatchError",
    "ModelScorer",
    "classifier_probabilities",
    "length_sorted_batches",
    "load_scorer",
    "model_identity",
    "resolve_model",
    "tagger_entities",
]
