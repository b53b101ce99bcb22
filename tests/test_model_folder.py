"""The model folder contract: typed metadata written and read in one module, checked folders,
one loader with its fast paths, model resolution that never falls back to rules silently, and
output records that name their scorer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inference.errors import UserError
from inference.scoring import models
from inference.scoring.model_folder import (
    META_FILE,
    READABLE_VERSIONS,
    ClassifierMeta,
    ModelFolderError,
    ModelMismatchError,
    TaggerMeta,
    read_meta,
)
from inference.scoring.models import load_scorer, resolve_model
from policy_clauses.cli import main
from tests.helpers.tiny_model import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "seed_003_706b429a5d8fc070.txt"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def copy(tiny, tmp_path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(tiny, out)
    return out


def _edit_meta(folder: Path, **changes) -> None:
    path = folder / META_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
    path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def test_shipped_metadata_loads_under_the_schema():
    classifier = read_meta(ROOT / "models" / "default" / "classifier", "classifier")
    tagger = read_meta(ROOT / "models" / "default" / "tagger", "tagger")
    assert isinstance(classifier, ClassifierMeta) and isinstance(tagger, TaggerMeta)
    assert classifier.format_version == tagger.format_version
    assert classifier.format_version in READABLE_VERSIONS
    assert all(0 < t < 1 for t in classifier.thresholds.values()) and tagger.stride > 0


def test_missing_thresholds_is_an_error_naming_folder_and_field(copy):
    """It used to serve at 0.5 without a word."""
    _edit_meta(copy / "classifier", thresholds=None)
    with pytest.raises(ModelFolderError, match=r"classifier.*field 'thresholds' is missing"):
        load_scorer(copy)


def test_a_threshold_per_label(copy):
    _edit_meta(copy / "classifier", thresholds={"goal": 0.5})
    with pytest.raises(ModelFolderError, match="every label needs its threshold"):
        load_scorer(copy)


def test_no_unknown_field(copy):
    _edit_meta(copy / "classifier", surprise=1)
    with pytest.raises(ModelFolderError, match="field 'surprise' is not part of format version"):
        load_scorer(copy)


def test_other_format_version_names_folder_and_fix(copy):
    _edit_meta(copy / "tagger", format_version=None)
    with pytest.raises(ModelFolderError, match=r"tagger.*no format_version.*retrain"):
        load_scorer(copy)


def test_other_label_schema_version_fails_with_the_fix(copy):
    _edit_meta(copy / "classifier", schema_version=99)
    with pytest.raises(ModelMismatchError, match=r"version 99.*retrain the model"):
        load_scorer(copy)


def test_other_label_set_fails(copy):
    _edit_meta(copy / "tagger", entity_types=["MONEY", "AGENCY"])
    with pytest.raises(ModelMismatchError, match=r"tagger.*entity types"):
        load_scorer(copy)


@pytest.mark.parametrize("damage", ["zero", "truncated", "garbage"])
def test_damaged_weights_are_a_user_error_naming_the_file(copy, damage):
    weights = copy / "classifier" / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes({"zero": b"", "truncated": data[: len(data) // 2],
                         "garbage": b"not a safetensors file at all"}[damage])
    with pytest.raises(ModelFolderError, match=r"classifier/model\.safetensors is"):
        load_scorer(copy)


@pytest.mark.parametrize("name", ["tokenizer.json", "config.json", "model.safetensors"])
def test_missing_files_name_the_folder(copy, name):
    (copy / "tagger" / name).unlink()
    with pytest.raises(ModelFolderError, match=rf"tagger: {name} is missing"):
        load_scorer(copy)


def test_cli_reports_a_zero_byte_model_in_one_line(copy, tmp_path, capsys):
    (copy / "tagger" / "model.safetensors").write_bytes(b"")
    code = main(["predict", str(EXAMPLE), "-o", str(tmp_path / "o.jsonl"), "--model", str(copy)])
    err = capsys.readouterr().err
    assert code == 1
    assert "model.safetensors is empty (0 bytes)" in err and "Traceback" not in err


def test_saving_refuses_metadata_that_would_not_load(tmp_path):
    from inference.scoring.model_folder import write_meta

    with pytest.raises(ModelFolderError, match="field 'thresholds' is missing"):
        write_meta(tmp_path, {"kind": "classifier", "labels": ["goal"]})


# --- resolution and identity ---------------------------------------------------------------


def test_no_model_anywhere_stops_naming_both_ways_out(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "DEFAULT_MODEL_DIR", tmp_path / "not-installed")
    monkeypatch.delenv(models.MODEL_ENV, raising=False)
    with pytest.raises(UserError, match=r"--model DIR.*--rules"):
        load_scorer()
    assert resolve_model(rules=True) is None  # the rules only when asked for


def test_env_var_names_the_default(monkeypatch, tiny, tmp_path):
    monkeypatch.setattr(models, "DEFAULT_MODEL_DIR", tmp_path / "not-installed")
    monkeypatch.setenv(models.MODEL_ENV, str(tiny))
    assert resolve_model() == tiny
    monkeypatch.setenv(models.MODEL_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match=models.MODEL_ENV):
        resolve_model()


def test_predict_without_a_model_fails_instead_of_using_rules(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(models, "DEFAULT_MODEL_DIR", tmp_path / "not-installed")
    monkeypatch.delenv(models.MODEL_ENV, raising=False)
    assert main(["predict", str(EXAMPLE), "-o", str(tmp_path / "o.jsonl")]) == 1
    assert "--rules" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists() or not (tmp_path / "o.jsonl").read_text()


def test_output_records_and_summary_name_the_scorer(tiny, tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    assert main(["predict", str(EXAMPLE), "-o", str(out), "--model", str(tiny),
                 "--no-progress", "--fast", "none"]) == 0
    record = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    name, version = record["scorer"]["name"], record["scorer"]["version"]
    assert name == "model:model" and version.startswith("model@") and len(version) == 18
    assert str(tmp_path) not in json.dumps(record["scorer"])  # no local path
    assert f"scorer {name} ({version})" in capsys.readouterr().err
    assert main(["predict", str(EXAMPLE), "-o", str(tmp_path / "r.jsonl"), "--rules"]) == 0
    rules = json.loads((tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert rules["scorer"]["name"] == "rules"


def test_segment_records_carry_no_scorer(tmp_path):
    out = tmp_path / "s.jsonl"
    assert main(["segment", str(EXAMPLE), "-o", str(out)]) == 0
    assert "scorer" not in json.loads(out.read_text(encoding="utf-8").splitlines()[0])


def test_thresholds_are_part_of_the_scorer(tiny):
    from inference.review.select import scorer_thresholds

    scorer = load_scorer(tiny)
    assert scorer.thresholds == dict.fromkeys(
        ["goal", "incentive", "responsibility", "timeline", "principle"], 0.5)
    assert scorer_thresholds(scorer, list(scorer.thresholds)) == scorer.thresholds


def test_export_takes_fast(tiny, tmp_path):
    out = tmp_path / "tasks.json"
    assert main(["export", "labelstudio", str(EXAMPLE), "--model", str(tiny), "--fast", "bf16",
                 "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))
