"""Training configs: one pydantic model per section of configs/*.yaml, dotted CLI overrides.

As in spaCy (``schemas.py`` with ``extra="forbid"``, ``cli/_util.py:parse_config_overrides``):
a typo in a config file or an override is an error that names the key and the valid ones,
never a silent default. Field descriptions double as ``--help`` text and docs.

How relative paths resolve (one rule for all of training, implemented in training/paths.py):

* **Written down** — a path in a config file, a field's default, and the commands' default
  files (labels/gold.jsonl, configs/TASK.yaml, ...) — is relative to the **project root**
  (``training.paths.PROJECT_ROOT``, the checkout holding labels/ and configs/). So
  configs/classifier.yaml says ``labels/gold.jsonl`` and means the same file whatever the
  working directory.
* **Typed** — a path given on the command line, including ``--section.field`` overrides and
  ``--config`` itself — is relative to the **working directory**, like any shell argument.
* After ``load_config`` every path field is absolute. ``config_to_dict`` (what goes into a
  model folder's metadata, checkpoints and saved configs) writes paths inside the project
  relative to the root again, so a saved config loads back to the same paths and metadata
  does not name the machine.
* ``model.backbone`` is a folder or a Hugging Face name: a relative value is taken as a path
  (by the same rule) only when that path, or its first folder, exists; otherwise it is kept
  as a name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inference.errors import UserError
from inference.scoring.encoding import CONTEXT_MODES, ContextMode
from inference.scoring.model_folder import StepPrecision
from training.paths import PROJECT_ROOT, for_record, from_cwd, from_root


class ConfigError(UserError, ValueError):
    """A config file or override that does not fit the schema; the message says what to fix."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --- sections ------------------------------------------------------------------------------


class ModelSection(_Section):
    backbone: str = Field(
        "models/backbone/e5-small-trim",
        description="Pretrained encoder: a local folder (e.g. models/backbone/e5-small-trim, made "
        "by 'policy-clauses backbone') or a Hugging Face name such as bert-base-chinese "
        "(needs the weights in the local HF cache; nothing is downloaded at run time).")
    max_length: int = Field(
        128, ge=8, le=512,
        description="Longest input in tokens, special tokens included. The classifier truncates "
        "the context before the clause; the tagger cuts longer clauses into overlapping windows.")
    dropout: float | None = Field(
        None, ge=0.0, lt=1.0,
        description="Hidden dropout of the encoder; null keeps the backbone's own value.")


class ClassifierModelSection(ModelSection):
    context: ContextMode = Field(
        "section",
        description=f"Context paired with the clause text: one of {list(CONTEXT_MODES)} "
        "(section = heading path, section_ends = its outermost and innermost heading, title = "
        "document title).")
    pooler_init: Literal["identity", "backbone"] = Field(
        "identity",
        description="How to start a pooler the backbone lacks (e5 has none): identity = dense "
        "weight I, bias 0, so the head starts from tanh of the [CLS] state; backbone = whatever "
        "the backbone/transformers gives (random when missing).")


class TaggerModelSection(ModelSection):
    stride: int = Field(
        32, ge=0,
        description="Tokens shared by consecutive windows of a clause longer than max_length "
        "(training and inference use the same windows).")


class JointModelSection(ClassifierModelSection):
    stride: int = Field(
        32, ge=0,
        description="Tokens shared by consecutive windows of a clause longer than one window "
        "(training and inference use the same windows).")
    max_context_tokens: int = Field(
        24, ge=0,
        description="Tokens of context (heading path/title) paired with every window; the "
        "clause gets the rest of max_length.")
    context_dropout: float = Field(
        0.2, ge=0.0, le=1.0,
        description="Share of training clauses seen without their context, so both heads also "
        "work on a bare clause (tagger/ alone in pipeline(), clauses without a heading).")


class DataSection(_Section):
    gold_path: Path = Field(Path("labels/gold.jsonl"),
                            description="Gold clause records (GUIDELINES §4, one per line).")
    splits_path: Path = Field(Path("labels/splits.json"),
                              description="Document-level split manifest (train/dev/test).")
    documents_path: Path | None = Field(
        Path("labels/documents.jsonl"),
        description="Raw documents of the gold clauses; only read for document titles when the "
        "context uses them (null: titles come from a 'title' field of the records, else empty).")
    train_split: Literal["train", "dev", "test"] = Field(
        "train", description="Split the model learns from.")
    dev_split: Literal["train", "dev", "test"] = Field(
        "dev", description="Split for model selection and threshold tuning (never 'test').")
    train_share: float = Field(
        1.0, gt=0.0, le=1.0,
        description="Share of the train split's documents to learn from (whole documents, "
        "the same ones for the same share, smaller shares inside larger ones): for learning "
        "curves.")
    weak_path: Path | None = Field(
        None,
        description="Optional weak records (from 'policy-clauses labels weak') mixed into "
        "training; clauses of dev/test documents are dropped from them. Off by default.")
    weak_weight: float = Field(
        0.3, ge=0.0, le=1.0,
        description="Loss weight of a weak example relative to a gold one (used with weak_path).")
    weak_soft_targets: bool = Field(
        True,
        description="Weak records that carry a model's probabilities ('labels weak --model' "
        "writes them as 'scores') train the label head on those probabilities (distillation); "
        "false: on their thresholded labels. Records without scores always use their labels.")
    weak_entities: bool = Field(
        True,
        description="Weak records' entity spans train the tag head; false: only gold spans "
        "teach tagging (a teacher's spans carry its errors) and weak records teach labels only.")
    weak_max_clauses: int | None = Field(
        None, ge=1,
        description="Cap on weak clauses, taken as whole documents in sha256-of-id order (the "
        "same documents for the same cap). Null: all of them.")


class TrainSection(_Section):
    seed: int = Field(13, description="Seed for initialisation, shuffling and dropout.")
    epochs: int = Field(10, ge=1, description="Passes over the training data.")
    batch_size: int = Field(16, ge=1, description="Examples (tagger: windows) per step.")
    lr: float = Field(8e-5, gt=0, description="Learning rate of the pretrained encoder.")
    head_lr: float = Field(
        1e-3, gt=0,
        description="Learning rate of the freshly initialised parts (pooler and classifier).")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay (not on biases or "
                                "LayerNorm).")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="Share of steps with linear warmup.")
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    group_by_length: bool = Field(
        True, description="Batch examples of similar length together (less padding on CPU).")
    select_best: bool = Field(
        True, description="Keep the epoch with the best dev score instead of the last one.")
    eval_batch_size: int = Field(64, ge=1, description="Batch size when scoring dev.")
    threads: int | None = Field(
        None, ge=1, description="torch CPU threads (null: torch's default).")
    device: str = Field("cpu", description="torch device, e.g. cpu or cuda.")
    precision: Literal[StepPrecision, "auto"] = Field(
        "float32",
        description="Arithmetic of the training steps: float32, or bf16 autocast (matrix "
        "products in bf16, weights, optimizer and losses in float32); auto: bf16 where the "
        "device computes it natively (a CPU with AMX or AVX-512 BF16, a CUDA GPU with "
        "native bf16), else float32. Dev scoring always runs in float32.")


class ClassifierTrainSection(TrainSection):
    pos_weight: bool = Field(
        True, description="Weight positives of each label by negatives/positives in the "
        "training data (rare labels otherwise collapse to 'never').")
    max_pos_weight: float = Field(10.0, ge=1.0, description="Cap on the per-label pos_weight.")
    label_loss: Literal["bce", "focal"] = Field(
        "bce",
        description="Loss of the label head: binary cross-entropy, or focal loss (BCE scaled "
        "by (1 - p_t)^focal_gamma, so clauses the model already gets right weigh less); "
        "pos_weight applies to both.")
    focal_gamma: float = Field(2.0, ge=0.0,
                               description="Focusing exponent of the focal loss (0 is BCE).")
    tune_thresholds: bool = Field(
        True, description="Pick each label's threshold on dev (maximising its F1); else "
        "'threshold' for all.")
    threshold: float = Field(0.5, gt=0, lt=1,
                             description="Threshold when not tuned, and for labels dev cannot "
                             "tune (no positives there).")


class JointTrainSection(ClassifierTrainSection):
    tag_loss_weight: float = Field(
        1.0, gt=0,
        description="Weight of the tag loss (token cross-entropy) against the label loss "
        "(binary cross-entropy) in the shared encoder's objective.")
    select_by: Literal["mean", "labels", "entities"] = Field(
        "mean",
        description="Dev score that picks the best epoch: the mean of label micro-F1 and "
        "entity micro-F1, or one of them.")


class OutputSection(_Section):
    dir: Path = Field(
        Path("models/default"),
        description="Model folder; the classifier goes to DIR/classifier, the tagger to "
        "DIR/tagger (what 'policy-clauses predict --model DIR' loads).")
    checkpoint_dir: Path | None = Field(
        None,
        description="Where per-epoch checkpoints go for --resume (null: out/checkpoints/<dir "
        "name>/<task>).")
    keep_checkpoints: bool = Field(
        False, description="Keep the checkpoints after a finished run (else they are deleted).")
    weights_dtype: Literal["float32", "float16"] = Field(
        "float16",
        description="How the saved weights are stored. float16 halves the folder (the shipped "
        "default must stay small) and loads back as float32 for computation; the difference "
        "in outputs is below 1e-3.")


class ClassifierConfig(_Section):
    task: Literal["classifier"] = Field("classifier", description="What this config trains.")
    model: ClassifierModelSection = Field(default_factory=ClassifierModelSection,
                                          description="Backbone and input format.")
    data: DataSection = Field(default_factory=DataSection, description="Training data.")
    train: ClassifierTrainSection = Field(default_factory=ClassifierTrainSection,
                                          description="Optimisation.")
    output: OutputSection = Field(default_factory=OutputSection, description="Where results go.")


class TaggerConfig(_Section):
    task: Literal["tagger"] = Field("tagger", description="What this config trains.")
    model: TaggerModelSection = Field(default_factory=TaggerModelSection,
                                      description="Backbone and windowing.")
    data: DataSection = Field(default_factory=DataSection, description="Training data.")
    train: TrainSection = Field(default_factory=TrainSection, description="Optimisation.")
    output: OutputSection = Field(default_factory=OutputSection, description="Where results go.")


class JointConfig(_Section):
    task: Literal["joint"] = Field("joint", description="What this config trains.")
    model: JointModelSection = Field(default_factory=JointModelSection,
                                     description="Backbone, input format and windowing.")
    data: DataSection = Field(default_factory=DataSection, description="Training data.")
    train: JointTrainSection = Field(default_factory=JointTrainSection,
                                     description="Optimisation.")
    output: OutputSection = Field(default_factory=OutputSection, description="Where results go.")


AnyConfig = ClassifierConfig | TaggerConfig | JointConfig
CONFIG_CLASSES: dict[str, type[ClassifierConfig] | type[TaggerConfig] | type[JointConfig]] = {
    "classifier": ClassifierConfig,
    "tagger": TaggerConfig,
    "joint": JointConfig,
}


def checkpoint_dir(config: AnyConfig) -> Path:
    if config.output.checkpoint_dir is not None:
        return config.output.checkpoint_dir
    return PROJECT_ROOT / "out" / "checkpoints" / config.output.dir.name / config.task


# --- paths (the rule is in the module docstring) -------------------------------------------

PATH_KEYS = ("data.gold_path", "data.splits_path", "data.documents_path", "data.weak_path",
             "output.dir", "output.checkpoint_dir")
BACKBONE_KEY = "model.backbone"


def _backbone_path(value: str, base: Path) -> str:
    """A relative backbone as an absolute folder when it names one under ``base`` (or its
    first folder exists there); else the value itself (a Hugging Face name)."""
    path = Path(value).expanduser()
    if path.is_absolute() or not path.parts:
        return value
    candidate = base / path
    if candidate.exists() or (len(path.parts) > 1 and (base / path.parts[0]).is_dir()):
        return str(candidate)
    return value


def _typed_paths(overrides: dict[str, Any]) -> dict[str, Any]:
    """Command-line overrides with their relative paths taken from the working directory."""
    out = dict(overrides)
    for key, value in overrides.items():
        if key in PATH_KEYS and isinstance(value, str):
            out[key] = str(from_cwd(value))
        elif key == BACKBONE_KEY and isinstance(value, str):
            out[key] = _backbone_path(value, Path.cwd())
    return out


def _written_paths(config: AnyConfig, typed: set[str]) -> None:
    """Every path not typed on the command line (config file or default) from the root."""
    for key in PATH_KEYS:
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value is not None and key not in typed:
            setattr(getattr(config, section), name, from_root(value))
    if BACKBONE_KEY not in typed:
        config.model.backbone = _backbone_path(config.model.backbone, PROJECT_ROOT)


# --- overrides -----------------------------------------------------------------------------


def parse_overrides(args: Sequence[str]) -> dict[str, Any]:
    """``["--train.lr", "3e-5", "--model.backbone=PATH", "--train.pos_weight"]`` → dotted
    keys and values (spaCy's ``parse_config_overrides``): a key with no value means ``true``;
    values are read as JSON/YAML scalars where they parse, else kept as strings."""
    out: dict[str, Any] = {}
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        if not arg.startswith("--") or "." not in arg:
            raise ConfigError(
                f"unexpected argument {arg!r}: overrides look like --section.field VALUE "
                "(e.g. --train.lr 3e-5)")
        key = arg[2:]
        if "=" in key:
            key, raw = key.split("=", 1)
        elif i + 1 < len(items) and not items[i + 1].startswith("--"):
            i += 1
            raw = items[i]
        else:
            raw = "true"
        out[key.replace("-", "_")] = _parse_value(raw)
        i += 1
    return out


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        pass
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    # YAML reads "3e-5" as a string and "no" as false; only keep YAML's plain scalars.
    return value if isinstance(value, (bool, int, float)) or value is None else raw


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any],
                    cls: type[BaseModel]) -> dict[str, Any]:
    """Set dotted keys in a raw config dict, checking each key against the schema first."""
    data = json.loads(json.dumps(data, default=str))
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        model: type[BaseModel] | None = cls
        target = data
        for depth, part in enumerate(parts):
            if model is None:
                raise ConfigError(f"unknown config key {dotted!r}: "
                                  f"{'.'.join(parts[:depth])} has no sub-keys")
            fields = model.model_fields
            if part not in fields:
                where = ".".join(parts[:depth]) or "the top level"
                raise ConfigError(f"unknown config key {dotted!r}: {where} has "
                                  f"{sorted(fields)}")
            annotation = fields[part].annotation
            sub = annotation if isinstance(annotation, type) and issubclass(
                annotation, BaseModel) else None
            if depth == len(parts) - 1:
                if sub is not None:
                    raise ConfigError(f"{dotted!r} is a section; override one of its keys "
                                      f"({', '.join(f'{dotted}.{k}' for k in sub.model_fields)})")
                target[part] = value
            else:
                target = target.setdefault(part, {})
                if not isinstance(target, dict):
                    raise ConfigError(f"{'.'.join(parts[:depth + 1])} in the config is not a "
                                      "section")
            model = sub
    return data


# --- loading -------------------------------------------------------------------------------


def _describe(error: ValidationError, cls: type[BaseModel]) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"])
        if item["type"] == "extra_forbidden":
            parent = item["loc"][:-1]
            model: Any = cls
            for part in parent:
                model = model.model_fields[part].annotation
            valid = sorted(model.model_fields)
            lines.append(f"unknown config key {key!r}; valid keys here: {valid}")
        else:
            lines.append(f"{key}: {item['msg']} (got {item.get('input')!r})")
    return "; ".join(lines)


def validate_config(data: dict[str, Any], task: str) -> AnyConfig:
    if task not in CONFIG_CLASSES:
        raise ConfigError(f"unknown task {task!r}; expected one of {sorted(CONFIG_CLASSES)}")
    cls = CONFIG_CLASSES[task]
    data = dict(data)
    found = data.setdefault("task", task)
    if found != task:
        raise ConfigError(f"this config is for task {found!r}, not {task!r}; use "
                          f"configs/{task}.yaml or 'policy-clauses train {found}'")
    try:
        config = cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, cls)) from None
    if config.data.dev_split == "test" or config.data.train_split == "test":
        raise ConfigError("data.train_split/dev_split must not be 'test': the test split is "
                          "only for 'policy-clauses evaluate --data test'")
    if config.data.dev_split == config.data.train_split:
        raise ConfigError("data.dev_split must differ from data.train_split")
    if isinstance(config, TaggerConfig) and config.model.stride >= config.model.max_length - 2:
        raise ConfigError(f"model.stride ({config.model.stride}) must be smaller than "
                          f"model.max_length - 2 ({config.model.max_length - 2})")
    return config


def load_config(path: str | Path | None, task: str,
                overrides: dict[str, Any] | None = None) -> AnyConfig:
    """Read a YAML config (or the defaults when ``path`` is None), apply dotted overrides,
    validate."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found (see configs/{task}.yaml)")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    return config_from_dict(data, task, overrides)


def config_from_dict(data: dict[str, Any], task: str,
                     overrides: dict[str, Any] | None = None) -> AnyConfig:
    """A config from its sections as a mapping (a YAML file's, or the resolved config a model
    folder records), with dotted overrides applied, validated."""
    typed = _typed_paths(overrides or {})
    if typed:
        data = apply_overrides(data, typed, CONFIG_CLASSES.get(task, ClassifierConfig))
    config = validate_config(data, task)
    _written_paths(config, set(typed))
    return config


def config_to_dict(config: BaseModel) -> dict[str, Any]:
    """JSON-ready resolved config; paths inside the project relative to its root."""
    data = config.model_dump(mode="json")
    for key in (*PATH_KEYS, BACKBONE_KEY):
        section, name = key.split(".")
        if isinstance(data.get(section), dict) and data[section].get(name) is not None:
            data[section][name] = for_record(data[section][name])
    return data


def save_config(config: BaseModel, path: Path) -> None:
    path.write_text(yaml.safe_dump(config_to_dict(config), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")


def field_help(cls: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, default, description) for every leaf field: the ``--help`` listing."""
    rows: list[tuple[str, str, str]] = []
    for name, info in cls.model_fields.items():
        annotation = info.annotation
        key = f"{prefix}{name}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += field_help(annotation, key + ".")
        else:
            default = info.get_default(call_default_factory=True)
            rows.append((key, json.dumps(default, default=str), info.description or ""))
    return rows
