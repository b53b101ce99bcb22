"""A model folder on disk: its metadata (``policy_clauses.json``), its files, and its identity.

``policy_clauses.json`` is written (``write_meta``, by training) and read (``read_meta``, by
serving and the model card) only here, as one pydantic model per part with ``extra="forbid"``:
a missing or unknown field is an error naming the folder and the field, never a silent
default (a classifier saved without thresholds must not serve at 0.5).

What the code checks when it opens a part (``open_part``), each failure a ``ModelFolderError``
(a ``UserError``) naming the folder and the fix:

- the metadata's ``format_version`` is one of ``READABLE_VERSIONS`` (the layout of this file);
- its ``schema_version`` and label set match labels/schema.yaml (``ModelMismatchError``);
- ``config.json``, ``tokenizer.json`` and a readable, non-empty ``model.safetensors`` exist.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from inference.errors import UserError
from inference.schema import LabelSchema
from inference.scoring.encoding import ContextMode

META_FILE = "policy_clauses.json"
# Version 1: the untyped metadata of policy-clauses 0.1 (read with defaults). Version 2: this
# module's models. Version 3: adds ``shared_encoder`` (parts trained as one shared-encoder
# model); a version-2 folder is a version-3 folder without it, so both are read. Bump it
# whenever a field is added, removed or changes meaning.
FORMAT_VERSION = 3
READABLE_VERSIONS = (2, 3)
WEIGHTS_FILE = "model.safetensors"
REQUIRED_FILES = ("config.json", "tokenizer.json", WEIGHTS_FILE)
PARTS = ("classifier", "tagger")
RETRAIN = "retrain it ('policy-clauses train classifier|tagger') or copy the folder again"


class ModelFolderError(UserError):
    """A model folder that cannot be used as it is: what is wrong and how to fix it."""


class ModelMismatchError(ModelFolderError):
    """A model whose labels or label-schema version differ from labels/schema.yaml."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataManifest(_Strict):
    """What identifies the data a model learnt from."""

    gold_path: str
    gold_sha256: str
    splits_path: str
    splits_sha256: str
    train_clauses: int
    dev_clauses: int
    weak_clauses: int
    train_documents: int
    dev_documents: int
    weak_sha256: str | None  # null when no weak data was mixed in
    weak_dropped_held_out: int | None
    # Added within format version 3 (distillation); absent from folders written before.
    weak_dropped_gold_train: int | None = None  # weak clauses of gold train documents (gold wins)
    weak_soft_targets: int | None = None  # weak clauses that trained on a teacher's probabilities


class EpochRow(_Strict):
    epoch: int
    loss: float
    dev_score: float | None


# the arithmetic a model's training steps ran in (train.precision, with auto decided)
StepPrecision = Literal["float32", "bf16"]


class TrainingSummary(_Strict):
    best_epoch: int
    epochs: int
    seconds: float
    history: list[EpochRow]
    # folders written before it was recorded trained in float32
    precision: StepPrecision = "float32"


class SharedEncoderMeta(_Strict):
    """Both parts were trained as one model: one encoder, a label head and a tag head. The
    parts' encoder weights are the same tensors (``encoder_sha256``), so a scorer may run the
    encoder once per clause; its inputs are then (clause piece, context) windows
    (``inference.scoring.encoding.encode_joint``) with these settings."""

    encoder_sha256: str
    context: ContextMode
    max_context_tokens: int = Field(ge=0)
    max_length: int = Field(gt=0)
    stride: int = Field(ge=0)


class _PartMeta(_Strict):
    format_version: int
    shared_encoder: SharedEncoderMeta | None = None
    schema_version: int
    backbone: str
    max_length: int = Field(gt=0)
    stride: int = Field(ge=0)
    labels: list[str]
    config: dict[str, Any]  # the resolved training config (training.fit.config)
    data: DataManifest
    training: TrainingSummary
    metrics: dict[str, Any]


class ClassifierMeta(_PartMeta):
    kind: Literal["classifier"]
    context: ContextMode
    thresholds: dict[str, float]
    threshold_source: str
    pooler_init: str
    pos_weight: dict[str, float] | None

    @model_validator(mode="after")
    def _thresholds_cover_labels(self) -> ClassifierMeta:
        if sorted(self.thresholds) != sorted(self.labels):
            raise ValueError(f"thresholds name {sorted(self.thresholds)} but the labels are "
                             f"{self.labels}: every label needs its threshold")
        return self

    def threshold_list(self) -> list[float]:
        return [self.thresholds[name] for name in self.labels]


class TaggerMeta(_PartMeta):
    kind: Literal["tagger"]
    context: Literal["none"]
    tags: list[str]
    entity_types: list[str]
    entity_scoring: str
    alignment_loss: dict[str, Any]

    @model_validator(mode="after")
    def _labels_are_tags(self) -> TaggerMeta:
        if self.labels != self.tags:
            raise ValueError(f"labels {self.labels} differ from tags {self.tags}")
        return self


PartMeta = Annotated[ClassifierMeta | TaggerMeta, Field(discriminator="kind")]
_PART_META: TypeAdapter[ClassifierMeta | TaggerMeta] = TypeAdapter(PartMeta)


def _describe(error: dict[str, Any]) -> str:
    loc = list(error["loc"])
    if loc and loc[0] in PARTS:  # the discriminated union puts the kind first
        loc = loc[1:]
    where = ".".join(str(p) for p in loc)
    if not where:
        return str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"field '{where}' is missing"
    if error["type"] == "extra_forbidden":
        return f"field '{where}' is not part of format version {FORMAT_VERSION}"
    return f"field '{where}': {error['msg']}"


def parse_meta(data: Any, where: str) -> ClassifierMeta | TaggerMeta:
    """Validate metadata; ``where`` (the file) starts every message."""
    if not isinstance(data, dict):
        raise ModelFolderError(f"{where}: expected a JSON object; {RETRAIN}")
    found = data.get("format_version")
    if found not in READABLE_VERSIONS:
        written = ("has no format_version (written by policy-clauses 0.1)" if found is None
                   else f"has format version {found!r}")
        raise ModelFolderError(
            f"{where} {written}; this code reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}: {RETRAIN}, or use "
            "the policy-clauses version that wrote it")
    try:
        return _PART_META.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise ModelFolderError(f"{where}: {problems}; {RETRAIN}") from None


def read_meta(folder: Path, kind: str | None = None) -> ClassifierMeta | TaggerMeta:
    """The metadata of one part (``classifier/`` or ``tagger/``) of a model folder."""
    folder = Path(folder)
    path = folder / META_FILE
    if not path.is_file():
        raise ModelFolderError(
            f"{folder} is not a policy-clauses model part: {META_FILE} is missing (train one "
            "with 'policy-clauses train classifier|tagger')")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFolderError(f"{path} is not valid JSON ({exc}); {RETRAIN}") from None
    meta = parse_meta(data, str(path))
    if kind is not None and meta.kind != kind:
        raise ModelFolderError(f"{path} describes a {meta.kind}, expected a {kind}: the "
                               f"folder {folder.name}/ holds the wrong part")
    return meta


def write_meta(folder: Path, meta: dict[str, Any] | ClassifierMeta | TaggerMeta) -> Path:
    """Validate and write ``policy_clauses.json``; metadata that would not load is refused
    here, when the model is saved, not when it is served."""
    model = meta if isinstance(meta, BaseModel) else parse_meta(
        {"format_version": FORMAT_VERSION, **meta}, f"metadata for {folder}")
    path = Path(folder) / META_FILE
    # written beside it, then swapped in: a crash mid-write never leaves a model folder
    # whose metadata is cut off (`train thresholds` rewrites it in a shipped folder)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(model.model_dump(mode="json"), ensure_ascii=False, indent=1)
                       + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def check_schema(meta: ClassifierMeta | TaggerMeta, schema: LabelSchema, folder: Path) -> None:
    """The part's label-schema version and label set are the code's."""
    fix = ("retrain the model with this labels/schema.yaml, or use the schema (and "
           "policy-clauses version) it was trained with")
    if meta.schema_version != schema.version:
        raise ModelMismatchError(
            f"{folder}: the model was trained on labels/schema.yaml version "
            f"{meta.schema_version}, this code has version {schema.version}; {fix}")
    if isinstance(meta, ClassifierMeta):
        check_labels(meta.labels, schema.label_names, folder, "labels")
    else:
        check_labels(meta.tags, schema.bio_tags, folder, "tags")
        check_labels(meta.entity_types, schema.entity_names, folder, "entity types")


def check_labels(found: list[str], expected: list[str], folder: Path, what: str) -> None:
    if list(found) != list(expected):
        raise ModelMismatchError(
            f"{folder}: the model's {what} {list(found)} do not match labels/schema.yaml "
            f"{list(expected)}; retrain the model or use the schema it was trained with")


def check_files(folder: Path) -> None:
    """The files ``from_pretrained`` needs are there, and the weights are readable."""
    folder = Path(folder)
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise ModelFolderError(f"{folder}: {name} is missing, so the model folder is "
                                   f"incomplete; {RETRAIN}")
    weights = folder / WEIGHTS_FILE
    size = weights.stat().st_size
    if size == 0:
        raise ModelFolderError(f"{weights} is empty (0 bytes); {RETRAIN}")
    from safetensors import safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            handle.keys()
        # the header can be whole while the data is cut short
        _check_data_length(weights, size)
    except ModelFolderError:
        raise
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise ModelFolderError(f"{weights} is damaged ({type(exc).__name__}: {exc}); "
                               f"{RETRAIN}") from None


def _check_data_length(weights: Path, size: int) -> None:
    """A safetensors file is an 8-byte header length, the JSON header, then the data; the
    header's largest end offset must be where the file ends (a copy cut short is not)."""
    with weights.open("rb") as handle:
        header_length = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(header_length))
    data_end = max((int(v["data_offsets"][1]) for k, v in header.items()
                    if k != "__metadata__"), default=0)
    if 8 + header_length + data_end != size:
        raise ModelFolderError(
            f"{weights} is {size} bytes but its header describes "
            f"{8 + header_length + data_end}: the file is truncated or damaged; {RETRAIN}")


def open_part(folder: Path, kind: str, schema: LabelSchema) -> ClassifierMeta | TaggerMeta:
    """Everything checked before a part is loaded: metadata, schema, files."""
    meta = read_meta(folder, kind)
    check_schema(meta, schema, folder)
    check_files(folder)
    return meta


def model_digest(model_dir: Path, length: int = 12) -> str:
    """A short sha256 over what decides a model's outputs: the weights of every part and the
    classifier's label thresholds. It is what ``version`` in an output record names, so two
    outputs from different weights, or from thresholds chosen again (`train thresholds`),
    can be told apart."""
    digest = hashlib.sha256()
    for part in PARTS:
        path = Path(model_dir) / part / WEIGHTS_FILE
        if path.is_file():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    meta_path = Path(model_dir) / "classifier" / META_FILE
    if meta_path.is_file():
        thresholds = json.loads(meta_path.read_text(encoding="utf-8")).get("thresholds") or {}
        digest.update(json.dumps(thresholds, sort_keys=True).encode())
    return digest.hexdigest()[:length]
