"""The ``--fast`` paths on a tiny shared-encoder model: each gives the labels and entities of
float32 within a stated bound, ``auto`` follows the CPU's bf16 units, and the ONNX export is
made once per model and then reused from the cache. No timing is asserted."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest

from inference.errors import UserError
from inference.scoring import onnx_runtime, quantize, runtime
from inference.scoring.components import ClauseInput, ClauseScores
from inference.scoring.models import load_scorer, model_identity
from policy_clauses.cli import build_parser
from tests.fixtures.tiny_training import fixture_records
from tests.helpers.tiny_model import build_tiny_model
from tests.test_train_joint import _trained

# The bound the suite holds every fast path to against float32 on the fixture clauses (21
# real clauses × 5 labels): at most 5% of the per-label decisions differ, and the entity spans
# agree with an F1 of at least 0.9. The tiny model's scores sit near its thresholds, so this
# is looser than the 0.5-point bound the benchmark checks on the real model's test split.
MAX_DECISION_DISAGREEMENT = 0.05
MIN_ENTITY_F1 = 0.9
# the 'fast' extra (make setup installs it); without it only the error naming it is checked
needs_onnxruntime = pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
    reason="onnxruntime/onnx not installed (pip install 'policy-clauses[fast]')")


@pytest.fixture(scope="module")
def joint_model(tmp_path_factory) -> Path:
    folder, _ = _trained(str(tmp_path_factory.mktemp("joint_fast")))
    return folder


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(onnx_runtime.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def fixture_inputs() -> list[ClauseInput]:
    return [ClauseInput(r["text"], r.get("section", "")) for r in fixture_records()]


def agreement(base: list[ClauseScores], other: list[ClauseScores],
              labels: list[str]) -> tuple[float, float]:
    """(share of per-label decisions that differ, entity-span F1 of ``other`` vs ``base``)."""
    differ = sum((name in a.labels) != (name in b.labels)
                 for a, b in zip(base, other, strict=True) for name in labels)
    spans = [({(e.start, e.end, e.type) for e in a.entities},
              {(e.start, e.end, e.type) for e in b.entities})
             for a, b in zip(base, other, strict=True)]
    overlap = sum(len(x & y) for x, y in spans)
    total = sum(len(x) + len(y) for x, y in spans)
    return differ / (len(base) * len(labels)), (2 * overlap / total if total else 1.0)


@pytest.mark.parametrize(("fast", "quant"), [
    ("bf16", None), ("int8", None), ("auto", "avx512f avx512_vnni"),
    *(pytest.param("onnx", q, marks=needs_onnxruntime) for q in ("dynamic", "static", "none"))])
def test_fast_path_keeps_float32_decisions(joint_model, cache, monkeypatch, fast, quant) -> None:
    """Each path (and ``auto`` where it resolves to int8) against float32 on the fixture."""
    if fast == "auto":  # what auto runs on a CPU with VNNI but no bf16 units: int8
        monkeypatch.setenv(runtime.CPU_FLAGS_ENV, quant)
    elif quant:
        monkeypatch.setenv(onnx_runtime.QUANT_ENV, quant)
    inputs = fixture_inputs()
    reference = load_scorer(joint_model, fast="none")
    base = reference.predict(inputs)
    assert any(s.entities for s in base), "the fixture must exercise the tag head"
    scorer = load_scorer(joint_model, fast=fast)
    assert scorer.name.endswith("(int8)" if fast == "auto" else f"({fast})")
    assert scorer.version == reference.version
    disagreement, entity_f1 = agreement(base, scorer.predict(inputs), reference.classifier.labels)
    assert disagreement <= MAX_DECISION_DISAGREEMENT
    assert entity_f1 >= MIN_ENTITY_F1


@needs_onnxruntime
def test_onnx_export_is_cached_and_reused(joint_model, cache, monkeypatch, caplog) -> None:
    with caplog.at_level(logging.INFO):
        first = load_scorer(joint_model, fast="onnx")
    # one line says what happens; the quantiser's per-tensor INFO lines are kept out
    assert [r.name for r in caplog.records] == ["inference.scoring.onnx_runtime"]
    assert logging.root.manager.disable == logging.NOTSET
    cached = list(cache.glob("onnx/*/" + onnx_runtime.ONNX_FILE))
    assert len(cached) == 1
    assert first.shared.module.path == cached[0]

    def no_export(*args, **kwargs):
        raise AssertionError("the second load exported again instead of using the cache")

    monkeypatch.setattr(onnx_runtime, "export_joint", no_export)
    monkeypatch.setattr(onnx_runtime, "quantize_joint", no_export)
    second = load_scorer(joint_model, fast="onnx")
    assert second.shared.module.path == cached[0]
    inputs = fixture_inputs()
    assert [s.scores for s in second.predict(inputs)] == [s.scores for s in first.predict(inputs)]


@needs_onnxruntime
@pytest.mark.parametrize(("quant", "int8_ops"), [("dynamic", {"MatMulInteger"}),
                                              ("static", {"QuantizeLinear", "DequantizeLinear"}),
                                              ("none", set())])
def test_onnx_quantises_the_encoder_not_the_heads(joint_model, cache, monkeypatch, quant,
                                                  int8_ops) -> None:
    import onnx

    monkeypatch.setenv(onnx_runtime.QUANT_ENV, quant)
    path = load_scorer(joint_model, fast="onnx").shared.module.path
    assert f"-{quant}-" in path.parent.name
    nodes = onnx.load(str(path)).graph.node
    ops = {node.op_type for node in nodes}
    assert int8_ops <= ops
    if quant == "none":
        assert not ops & {"MatMulInteger", "QuantizeLinear", "DynamicQuantizeLinear"}
    # the heads stay float32 MatMul/Gemm nodes, as exported
    heads = {node.name: node.op_type for node in nodes
             if any(scope in node.name for scope in onnx_runtime.HEAD_SCOPES)}
    assert heads and set(heads.values()) <= {"MatMul", "Gemm", "Add"}


@needs_onnxruntime
def test_unknown_quant_method_is_a_clear_error(joint_model, cache, monkeypatch) -> None:
    monkeypatch.setenv(onnx_runtime.QUANT_ENV, "int4")
    with pytest.raises(UserError, match="POLICY_CLAUSES_ONNX_QUANT"):
        load_scorer(joint_model, fast="onnx")


def test_onnx_cache_is_keyed_by_the_weights(tmp_path, cache, monkeypatch) -> None:
    """Other weights never reuse a cached export: the key is the weights digest."""
    assert (onnx_runtime.cached_model_path("aaa", cache)
            != onnx_runtime.cached_model_path("bbb", cache))
    monkeypatch.delenv(onnx_runtime.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert onnx_runtime.cache_root() == tmp_path / "xdg" / "policy-clauses"


def test_onnx_without_onnxruntime_names_the_extra(joint_model, cache, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(UserError, match=r"policy-clauses\[fast\]"):
        load_scorer(joint_model, fast="onnx")


def test_onnx_refuses_separate_parts(tmp_path, cache) -> None:
    model = build_tiny_model(tmp_path / "separate")
    with pytest.raises(UserError, match="shared-encoder models only"):
        load_scorer(model, fast="onnx")


@pytest.mark.parametrize(("flags", "expected"), [
    # AVX-512 BF16 without AMX (the AMD EPYC project machine): int8 is the faster there
    ({"fpu", "avx2", "avx512f", "avx512_bf16", "avx512_vnni"}, "int8"),
    ({"fpu", "avx2", "avx512f", "avx512_vnni", "amx_tile", "amx_bf16", "amx_int8"}, "bf16"),
    ({"fpu", "avx2", "amx_tile", "amx_bf16"}, "bf16"),
    ({"fpu", "avx2", "avx512f", "avx512_bf16"}, "bf16"),
    ({"fpu", "avx2", "avx512f", "avx512_vnni"}, "int8"),
    ({"fpu", "avx2", "avx_vnni"}, "none"),  # FBGEMM has no AVX-VNNI kernels
    (set(), "none"),
])
def test_auto_follows_the_cpu_units(monkeypatch, caplog, flags, expected) -> None:
    monkeypatch.setattr(runtime, "cpu_flags", lambda: flags)
    monkeypatch.setattr(runtime, "_announced", set())
    with caplog.at_level(logging.INFO, logger="inference.scoring.runtime"):
        assert runtime.resolve_fast("auto") == expected
        assert runtime.resolve_fast("auto") == expected
    announced = [r.getMessage() for r in caplog.records if "runtime:" in r.getMessage()]
    assert len(announced) == 1 and announced[0].startswith(f"runtime: {expected} (")
    assert runtime.resolve_fast("int8") == "int8"  # a forced mode is kept
    assert runtime.resolve_fast("auto", device="cuda", announce=False) == "none"
    # the flags parameter decides without touching the process's flags
    assert runtime.resolve_fast("auto", flags=set(flags), announce=False) == expected


def test_cpu_flags_env_replaces_the_detected_flags(monkeypatch) -> None:
    monkeypatch.setattr(runtime, "hardware_flags", lambda: {"avx512_bf16", "avx512_vnni"})
    monkeypatch.setenv(runtime.CPU_FLAGS_ENV, "avx2, avx512f avx512_vnni")
    assert runtime.cpu_flags() == {"avx2", "avx512f", "avx512_vnni"}
    assert runtime.resolve_fast("auto", announce=False) == "int8"
    assert not runtime.cpu_has_bf16_units()
    monkeypatch.setenv(runtime.CPU_FLAGS_ENV, "")  # set but empty: a CPU with no such units
    assert runtime.resolve_fast("auto", announce=False) == "none"
    # how int8 is computed follows the hardware, never the override
    assert runtime.cpu_has_int8_units()
    monkeypatch.delenv(runtime.CPU_FLAGS_ENV)
    assert runtime.resolve_fast("auto", announce=False) == "int8"
    monkeypatch.setattr(runtime, "hardware_flags", lambda: {"amx_bf16", "avx512_vnni"})
    assert runtime.resolve_fast("auto", announce=False) == "bf16"



def test_int8_follows_fbgemm_when_it_is_told_to_run_without_vnni(monkeypatch) -> None:
    monkeypatch.setattr(runtime, "hardware_flags", lambda: {"avx2", "avx512f", "avx512_vnni"})
    monkeypatch.delenv(runtime.FBGEMM_ISA_ENV, raising=False)
    assert runtime.cpu_has_int8_units()
    # FBGEMM's kernels without VNNI saturate full-range activations: 7-bit ones then
    for isa in ("AVX2", "avx512", "AVX512_256"):
        monkeypatch.setenv(runtime.FBGEMM_ISA_ENV, isa)
        assert not runtime.cpu_has_int8_units()
    # auto then does not pick int8 on the strength of the CPU's flags alone
    monkeypatch.setenv(runtime.FBGEMM_ISA_ENV, "AVX2")
    assert runtime.resolve_fast("auto", flags={"avx512_vnni", "avx512_bf16"},
                                announce=False) == "bf16"
    assert runtime.resolve_fast("auto", flags={"avx2", "avx512_vnni"}, announce=False) == "none"
    monkeypatch.setenv(runtime.FBGEMM_ISA_ENV, "AVX512_E1")  # VNNI: full range
    assert runtime.cpu_has_int8_units()

def test_cpu_flags_reads_the_flags_line(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(runtime.CPU_FLAGS_ENV, raising=False)
    fake = tmp_path / "cpuinfo"
    fake.write_text("processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 amx_bf16\n\n")
    real_path = runtime.Path
    monkeypatch.setattr(runtime, "Path",
                        lambda p: fake if p == "/proc/cpuinfo" else real_path(p))
    assert runtime.cpu_flags() == {"fpu", "avx2", "amx_bf16"}
    assert runtime.cpu_has_bf16_units()


def test_auto_scorer_name_shows_the_resolved_mode(joint_model, monkeypatch) -> None:
    monkeypatch.setattr(runtime, "cpu_flags", lambda: {"avx512_bf16"})
    assert load_scorer(joint_model, fast="auto").name.endswith("(bf16)")
    assert model_identity(joint_model, "auto")[0].endswith("(bf16)")
    monkeypatch.setattr(runtime, "cpu_flags", lambda: {"avx2"})
    scorer = load_scorer(joint_model, fast="auto")
    assert scorer.name == model_identity(joint_model, "none")[0] == f"model:{joint_model.name}"
    monkeypatch.setattr(runtime, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_vnni"})
    assert load_scorer(joint_model, fast="auto").name.endswith("(int8)")
    assert model_identity(joint_model, "auto")[0].endswith("(int8)")


@pytest.mark.parametrize("command", [["predict", "x.jsonl", "-o", "y.jsonl"], ["serve"],
                                     ["evaluate", "--model", "m"]])
def test_fast_defaults_to_auto_everywhere(command) -> None:
    args = build_parser().parse_args(command)
    assert args.fast == "auto"
    assert build_parser().parse_args([*command, "--fast", "onnx"]).fast == "onnx"


@pytest.mark.parametrize("vnni", [True, False])
def test_int8_quantises_the_encoder_matmuls_but_not_the_heads(joint_model, monkeypatch,
                                                               vnni) -> None:
    """The int8 recipe: Q, K, V, attention output and FFN input of every layer in FBGEMM int8;
    the FFN output projections in per-token int8 where the CPU has VNNI, else float32; the
    pooler and both heads float32 nn.Linear."""
    from torch import nn

    from inference.scoring import runtime

    monkeypatch.setattr(runtime, "cpu_has_int8_units", lambda: vnni)
    module = load_scorer(joint_model, fast="int8").shared.module
    kinds = {name: type(m) for name, m in module.named_modules()
             if isinstance(m, nn.Linear | quantize.Int8Linear | quantize.PerTokenInt8Linear)}
    layers = len(module.sequence_model.bert.encoder.layer)
    int8 = {f"sequence_model.bert.encoder.layer.{i}.{part}" for i in range(layers)
            for part in ("attention.self.query", "attention.self.key", "attention.self.value",
                         "attention.output.dense", "intermediate.dense")}
    ffn_out = {f"sequence_model.bert.encoder.layer.{i}.output.dense" for i in range(layers)}
    heads = {"sequence_model.bert.pooler.dense", "sequence_model.classifier", "tag_head"}
    assert {name for name, kind in kinds.items() if kind is quantize.Int8Linear} == int8
    per_token = {name for name, kind in kinds.items() if kind is quantize.PerTokenInt8Linear}
    assert per_token == (ffn_out if vnni else set())
    assert {name for name, kind in kinds.items() if kind is nn.Linear} == (
        heads if vnni else heads | ffn_out)


def test_per_token_int8_keeps_each_token_on_its_own_scale() -> None:
    """GELU outputs with one token 100x larger than the rest: per-token scales keep the other
    tokens' products close to float32, where one scale for the whole batch flattens them.
    A few tokens run in float32 (not worth quantising)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    linear = nn.Linear(256, 64)
    x = nn.functional.gelu(torch.randn(128, 256))
    x[0] *= 100
    exact = linear(x)[1:]

    def error(out: torch.Tensor) -> float:
        return float((out[1:] - exact).norm() / exact.norm())

    per_token = quantize.PerTokenInt8Linear(linear)
    assert per_token.qweight_t.dtype == torch.int8
    assert error(per_token(x)) < 0.02
    assert error(quantize.Int8Linear(linear, reduce_range=False)(x)) > 3 * error(per_token(x))
    few = x[:4]
    assert torch.equal(per_token(few), linear(few))
    batched = per_token(x.reshape(8, 16, 256))
    assert batched.shape == (8, 16, 64)
    assert torch.allclose(batched.reshape(128, 64), per_token(x))


@pytest.mark.parametrize("reduce_range", [False, True])
def test_int8_linear_keeps_small_rows_beside_a_large_one(reduce_range) -> None:
    """Per-channel weight scales: a row 100x larger than the others does not coarsen their
    int8 grid (with one scale per matrix, as torch's default dynamic recipe, it does)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    linear = nn.Linear(64, 32)
    with torch.no_grad():
        linear.weight[0] *= 100
    x = torch.randn(256, 64)
    exact = linear(x)[:, 1:]

    def error(out: torch.Tensor) -> float:
        return float((out[:, 1:] - exact).norm() / exact.norm())

    ours = error(quantize.Int8Linear(linear, reduce_range=reduce_range)(x))
    per_tensor = torch.ao.quantization.quantize_dynamic(nn.Sequential(linear), {nn.Linear},
                                                        dtype=torch.qint8)
    assert ours < 0.02
    assert error(per_tensor(x)) > 5 * ours
