"""Training configs: schema validation, dotted overrides, the resolved config, --help text."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from policy_clauses.cli import main
from training.fit.config import (
    ClassifierConfig,
    ConfigError,
    TaggerConfig,
    apply_overrides,
    checkpoint_dir,
    field_help,
    load_config,
    parse_overrides,
    save_config,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("task", ["classifier", "tagger"])
def test_shipped_configs_validate(task: str) -> None:
    config = load_config(ROOT / "configs" / f"{task}.yaml", task)
    assert config.task == task
    assert config.data.weak_path is None, "weak data must be off unless a config asks for it"
    assert config.data.dev_split == "dev"


def test_every_field_has_a_description() -> None:
    def walk(cls: type[BaseModel], prefix: str = "") -> list[str]:
        missing = []
        for name, info in cls.model_fields.items():
            if not info.description:
                missing.append(prefix + name)
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                missing += walk(annotation, f"{prefix}{name}.")
        return missing

    assert walk(ClassifierConfig) == []
    assert walk(TaggerConfig) == []


def test_unknown_key_in_yaml_names_key_and_valid_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 3.0e-5\n  learning_rate: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, "classifier")
    message = str(info.value)
    assert "train.learning_rate" in message
    assert "'lr'" in message and "'head_lr'" in message


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("optimiser:\n  lr: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="optimiser"):
        load_config(path, "classifier")


def test_bad_type_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: many\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"train\.epochs.*'many'"):
        load_config(path, "classifier")
    with pytest.raises(ConfigError, match=r"model\.context"):
        load_config(None, "classifier", {"model.context": "paragraph"})


def test_classifier_only_field_is_unknown_to_the_tagger() -> None:
    with pytest.raises(ConfigError, match=r"model\.context"):
        load_config(None, "tagger", {"model.context": "none"})
    with pytest.raises(ConfigError, match=r"train\.tune_thresholds"):
        load_config(None, "tagger", {"train.tune_thresholds": False})


def test_parse_overrides_styles() -> None:
    parsed = parse_overrides(["--train.lr", "3e-5", "--model.backbone=models/x",
                              "--train.group-by-length", "false", "--train.select_best",
                              "--data.weak_path", "null", "--train.epochs", "4"])
    assert parsed == {"train.lr": 3e-5, "model.backbone": "models/x",
                      "train.group_by_length": False, "train.select_best": True,
                      "data.weak_path": None, "train.epochs": 4}
    with pytest.raises(ConfigError, match=r"--section\.field"):
        parse_overrides(["lr", "3"])


def test_overrides_apply_and_validate() -> None:
    config = load_config(ROOT / "configs" / "classifier.yaml", "classifier",
                         {"train.lr": "3e-5", "model.backbone": "bert-base-chinese",
                          "model.context": "both"})
    assert config.train.lr == pytest.approx(3e-5)
    assert config.model.backbone == "bert-base-chinese"
    assert config.model.context == "both"


def test_unknown_override_names_key_and_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides({}, {"train.lrate": 1}, ClassifierConfig)
    assert "train.lrate" in str(info.value) and "'lr'" in str(info.value)
    with pytest.raises(ConfigError, match="is a section"):
        apply_overrides({}, {"train": 1}, ClassifierConfig)


def test_test_split_cannot_be_used_for_training_choices() -> None:
    with pytest.raises(ConfigError, match="test"):
        load_config(None, "classifier", {"data.dev_split": "test"})


def test_task_mismatch_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("task: tagger\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="for task 'tagger'"):
        load_config(path, "classifier")


def test_stride_must_leave_room_in_the_window() -> None:
    with pytest.raises(ConfigError, match="stride"):
        load_config(None, "tagger", {"model.max_length": 32, "model.stride": 30})


def test_saved_config_round_trips(tmp_path: Path) -> None:
    config = load_config(None, "tagger", {"train.epochs": 3, "model.stride": 16})
    save_config(config, tmp_path / "resolved.yaml")
    again = load_config(tmp_path / "resolved.yaml", "tagger")
    assert again == config


def test_help_lists_fields_with_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "classifier", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for key, _, _ in field_help(ClassifierConfig):
        if key != "task":
            assert key in out
    assert "pos_weight" in out and "negatives/positives" in out


def test_cli_reports_a_bad_override(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "classifier", "--config", str(ROOT / "configs" / "classifier.yaml"),
                 "--train.lrr", "3e-5"])
    assert code == 1
    err = capsys.readouterr().err
    assert "train.lrr" in err and "'lr'" in err


def test_cli_rejects_a_non_dotted_unknown_option() -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "tagger", "--bogus"])
    assert info.value.code == 2


def test_written_paths_resolve_from_the_root_typed_ones_from_the_cwd(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """configs/*.yaml and defaults mean the same files from any working directory; what the
    user types is taken from where they are; metadata keeps project paths relative."""
    from training.fit.config import config_to_dict

    monkeypatch.chdir(tmp_path)
    config = load_config(ROOT / "configs" / "tagger.yaml", "tagger",
                         {"data.weak_path": "weak.jsonl", "output.dir": "out/model"})
    assert config.data.gold_path == ROOT / "labels" / "gold.jsonl"
    assert config.data.splits_path == ROOT / "labels" / "splits.json"
    assert config.data.weak_path == tmp_path / "weak.jsonl"
    assert config.output.dir == tmp_path / "out" / "model"
    assert config.model.backbone == str(ROOT / "models" / "backbone" / "e5-small-trim")
    defaults = load_config(None, "classifier")
    assert defaults.data.documents_path == ROOT / "labels" / "documents.jsonl"
    assert checkpoint_dir(defaults) == ROOT / "out" / "checkpoints" / "default" / "classifier"
    written = config_to_dict(config)
    assert written["data"]["gold_path"] == "labels/gold.jsonl"
    assert written["model"]["backbone"] == "models/backbone/e5-small-trim"
    assert written["data"]["weak_path"] == str(tmp_path / "weak.jsonl")
    hub = load_config(None, "classifier", {"model.backbone": "bert-base-chinese"})
    assert hub.model.backbone == "bert-base-chinese"
