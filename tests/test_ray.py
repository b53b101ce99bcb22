"""``predict --engine ray`` on a local 2-CPU Ray instance equals the local engine's output."""

from __future__ import annotations

import json
import re

import pytest

from policy_clauses.cli import main
from tests.conftest import EXAMPLES
from tests.helpers.tiny_model import build_tiny_model

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


def _sorted_lines(path):
    return sorted(path.read_text(encoding="utf-8").splitlines())


def test_ray_engine_matches_local_engine(local_ray, tmp_path):
    model = build_tiny_model(tmp_path / "tiny")
    bad = tmp_path / "inputs"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "lines.jsonl").write_text(
        '{oops\n{"id": "j1", "text": "一、目标\\n到2025年，达到5亿元。"}\n', encoding="utf-8")
    inputs = [str(EXAMPLES), str(bad)]
    # float32: bf16 scores (what auto picks on a CPU with bf16 units) move in the last digits
    # with how clauses are batched, and the engines batch differently
    common = ["--model", str(model), "--no-progress", "--fast", "none"]
    assert main(["predict", *inputs, "-o", str(tmp_path / "local.jsonl"), *common]) == 0
    assert main(["predict", *inputs, "-o", str(tmp_path / "ray.jsonl"), *common,
                 "--engine", "ray", "--num-actors", "1", "--chunk-documents", "4"]) == 0
    local, remote = _sorted_lines(tmp_path / "local.jsonl"), _sorted_lines(tmp_path / "ray.jsonl")
    assert len(local) == 12 and remote == local
    assert all("scores" in c for line in remote for c in json.loads(line)["clauses"])
    assert (_sorted_lines(tmp_path / "ray.errors.jsonl")
            == _sorted_lines(tmp_path / "local.errors.jsonl"))
    assert len(_sorted_lines(tmp_path / "ray.errors.jsonl")) == 2


def _reused(stderr: str) -> int:
    match = re.search(r"(\d+) repeated clauses answered from memory", stderr)
    return int(match.group(1)) if match else 0


def test_ray_actors_run_the_shared_encoder_model(local_ray, tmp_path, capsys):
    """A shared-encoder model folder: the Ray actors load it as one model (one encoder pass
    per clause) and give what the local engine gives."""
    from inference.scoring.models import load_scorer
    from tests.fixtures.tiny_training import build_tiny_backbone, tiny_config
    from training.fit.joint import train_joint

    backbone = build_tiny_backbone(tmp_path / "backbone")
    model = tmp_path / "joint"
    train_joint(tiny_config("joint", backbone, model, train__epochs=1,
                            train__tune_thresholds=False))
    assert load_scorer(model).shared is not None
    # float32: bf16 scores move in the last digits with how clauses are batched
    common = ["--model", str(model), "--no-progress", "--fast", "none"]
    assert main(["predict", str(EXAMPLES), "-o", str(tmp_path / "local.jsonl"), *common]) == 0
    local_reused = _reused(capsys.readouterr().err)
    assert main(["predict", str(EXAMPLES), "-o", str(tmp_path / "ray.jsonl"), *common,
                 "--engine", "ray", "--num-actors", "1", "--chunk-documents", "4"]) == 0
    local, remote = _sorted_lines(tmp_path / "local.jsonl"), _sorted_lines(tmp_path / "ray.jsonl")
    assert local and remote == local
    # the examples hold one seed document in three encodings: the actor's repeat memory
    # answers the copies, and the driver's summary counts them as the local engine does
    assert local_reused > 0 and _reused(capsys.readouterr().err) == local_reused
