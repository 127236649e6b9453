"""Offline memory plans: lifetimes and greedy replay against the real TFLM allocator, the ILP
against the heuristics, the metadata edit, and the planned models in host TFLM (smaller or
equal arena, bit-identical outputs) for every example and shared model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.model.conftest import SHARED_MODELS, needs_tflm
from tinyrig.cli.main import _register, app
from tinyrig.model.arena import measure_arena
from tinyrig.model.errors import ModelFormatError
from tinyrig.model.flatbuffer import load_model, numpy_dtype_name
from tinyrig.model.memory_plan import (
    Buffer,
    PlanError,
    check_plan,
    decode_offline_plan,
    greedy_plan,
    height,
    lower_bound,
    pack,
    tensor_lifetimes,
)
from tinyrig.model.metadata_edit import read_metadata, set_metadata
from tinyrig.model.plan import plan_model, read_plan
from tinyrig.model.reference import ReferenceInterpreter

REPO = Path(__file__).resolve().parents[2]
BRANCHY = REPO / "bench" / "models" / "branchy_int8.tflite"
ALL_MODELS = sorted([*REPO.glob("models/*/*.tflite"), *SHARED_MODELS.glob("*.tflite"), BRANCHY],
                    key=lambda p: p.name)


def _inputs(path: Path, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for t in load_model(path).main.input_tensors:
        dtype = np.dtype(numpy_dtype_name(t.dtype) or "int8")
        if dtype.kind == "f":
            arrays.append(rng.uniform(-1, 1, t.shape).astype(dtype))
        else:
            info = np.iinfo(dtype)
            arrays.append(rng.integers(info.min, info.max, t.shape, dtype=dtype, endpoint=True))
    return arrays


def _random_buffers(rng: random.Random, n: int) -> list[Buffer]:
    out = []
    for i in range(n):
        first = rng.randint(0, 10)
        out.append(Buffer(i, 16 * rng.randint(1, 20), first, first + rng.randint(0, 5)))
    return out


def test_packing_is_valid_never_above_greedy_and_ilp_reaches_the_bound() -> None:
    rng = random.Random(1)
    improved = 0
    for _ in range(20):
        buffers = _random_buffers(rng, 14)
        packing = pack(buffers, time_limit=10)
        check_plan(buffers, packing.offsets)
        greedy = height(buffers, greedy_plan(buffers))
        assert lower_bound(buffers) <= packing.height <= greedy
        improved += packing.height < greedy
        if packing.optimal:
            assert packing.method == "ilp" or packing.height == packing.lower_bound
    assert improved > 0  # random interval instances where TFLM's greedy is not optimal exist


def test_check_plan_refuses_overlap_and_misalignment() -> None:
    a, b = Buffer(0, 32, 0, 2), Buffer(1, 16, 1, 3)
    check_plan([a, b], [0, 32])
    with pytest.raises(PlanError, match="overlap"):
        check_plan([a, b], [0, 16])
    with pytest.raises(PlanError, match="16-aligned"):
        check_plan([a, b], [0, 40])


def test_offline_offsets_are_kept_by_the_greedy_replay() -> None:
    buffers = [Buffer(0, 64, 0, 1), Buffer(1, 32, 1, 2), Buffer(2, 16, 2, 2)]
    assert greedy_plan(buffers, [64, 0, 32]) == [64, 0, 32]
    # online buffers go around the offline one: 64 B above it, then 16 B in the gap at scope 2
    assert greedy_plan(buffers, [-1, 0, -1]) == [32, 0, 32]


def test_metadata_edit_keeps_the_model_and_replaces_an_entry() -> None:
    data = (SHARED_MODELS / "hello_world_int8.tflite").read_bytes()
    edited = set_metadata(data, "OfflineMemoryAllocation", b"\x01\x02\x03\x04")
    assert edited.endswith(data) and (len(edited) - len(data)) % 16 == 0
    again = set_metadata(edited, "OfflineMemoryAllocation", b"\x05" * 8)
    assert read_metadata(again, "OfflineMemoryAllocation") == b"\x05" * 8
    names = load_model(again).metadata_names
    assert names.count("OfflineMemoryAllocation") == 1
    assert load_model(again).main == load_model(data).main
    with pytest.raises(ModelFormatError):
        set_metadata(data[:100], "x", b"")


@needs_tflm
def test_greedy_replay_matches_the_real_allocator(tmp_path: Path) -> None:
    """Models whose reference kernels request no scratch: TFLM's head is our greedy head, and
    with our plan it is our plan's head (TFLM put the tensors where the plan says)."""
    for path in (SHARED_MODELS / "person_detect.tflite",
                 SHARED_MODELS / "micro_speech_quantized.tflite", BRANCHY):
        if not path.is_file():
            pytest.skip(f"{path} not available")
        buffers = tensor_lifetimes(load_model(path))
        breakdown = measure_arena(path).breakdown
        assert breakdown is not None
        assert breakdown.non_persistent_bytes == height(buffers, greedy_plan(buffers))
        planned = tmp_path / f"{path.stem}.tflite"
        report = plan_model(path, planned, fix_ties=True)
        planned_breakdown = measure_arena(planned).breakdown
        assert planned_breakdown is not None
        assert planned_breakdown.non_persistent_bytes == report.planned_head_bytes


@needs_tflm
@pytest.mark.parametrize("path", ALL_MODELS, ids=lambda p: p.stem)
def test_planned_model_runs_in_host_tflm_with_identical_outputs(path: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "planned.tflite"
    # offsets fixed even where TFLM's greedy ties: the offline path runs for every model
    report = plan_model(path, out, measure=True, fix_ties=True)
    offsets = read_plan(out)
    assert report.fixed and offsets is not None
    assert len(offsets) == len(load_model(path).main.tensors)
    for placement in report.tensors:
        assert offsets[placement.tensor] == placement.offset
    assert report.planned_head_bytes <= report.greedy_head_bytes
    assert report.planned_arena_bytes is not None and report.greedy_arena_bytes is not None
    assert report.planned_arena_bytes <= report.greedy_arena_bytes
    assert report.lower_bound_arena_bytes is not None
    assert report.lower_bound_arena_bytes <= report.planned_arena_bytes
    if path == BRANCHY:  # skip connections: TFLM's greedy leaves a gap the exact plan closes
        assert report.planned_head_bytes < report.greedy_head_bytes
        assert report.planned_arena_bytes < report.greedy_arena_bytes
    # the smallest arena of the planned model runs it and gives the original's outputs
    planned = ReferenceInterpreter(out.read_bytes(), arena_bytes=report.planned_arena_bytes)
    original = ReferenceInterpreter(path.read_bytes())
    for seed in range(3):
        x = _inputs(path, seed)
        for a, b in zip(planned.run(x), original.run(x), strict=True):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_ties_are_left_to_tflm(tmp_path: Path) -> None:
    """Where TFLM's greedy plan is already minimal, every tensor stays ONLINE (-1)."""
    out = tmp_path / "planned.tflite"
    report = plan_model(SHARED_MODELS / "hello_world_int8.tflite", out)
    assert not report.fixed and report.planned_head_bytes == report.greedy_head_bytes
    stored = read_plan(out)
    assert stored is not None and set(stored) == {-1}
    branchy = plan_model(BRANCHY, tmp_path / "branchy.tflite")
    assert branchy.fixed and branchy.planned_head_bytes < branchy.greedy_head_bytes


def test_decode_refuses_a_short_plan() -> None:
    with pytest.raises(PlanError):
        decode_offline_plan(b"\x01\x00\x00\x00" * 3 + b"\x00")
    with pytest.raises(PlanError, match="names 5"):
        decode_offline_plan(np.array([1, 0, 5, 0], dtype="<i4").tobytes())


@needs_tflm
def test_cli_plan_json_and_export_plan(tmp_path: Path) -> None:
    _register()
    model = REPO / "models" / "sine" / "sine_int8.tflite"
    runner = CliRunner()
    result = runner.invoke(app, ["plan", str(model), "-o", str(tmp_path / "p.tflite"),
                                 "--no-measure", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["planned_head_bytes"] <= report["greedy_head_bytes"]
    assert read_plan(tmp_path / "p.tflite") is not None
    result = runner.invoke(app, ["export", str(model), "--plan", "-o", str(tmp_path / "out"),
                                 "--arena", "4096", "--json"])
    assert result.exit_code == 0, result.output
    planned = tmp_path / "out" / "sine_int8_planned.tflite"
    assert read_plan(planned) is not None
    assert json.loads(result.stdout)["sha256"] == load_model(planned).sha256
    bad = runner.invoke(app, ["plan", str(tmp_path / "missing.tflite")])
    assert bad.exit_code != 0 and "no such file" in bad.output


def test_planned_flatbuffer_passes_litert_verifier(tmp_path: Path) -> None:
    """An independent reader: LiteRT verifies the flatbuffer (it refuses a flipped prefix
    byte) and computes the same outputs from the planned model as from the original."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    for path in (BRANCHY, REPO / "models" / "digits" / "digits_int8.tflite"):
        if not path.is_file():
            pytest.skip(f"{path} not available")
        out = tmp_path / f"{path.stem}.tflite"
        plan_model(path, out, fix_ties=True)
        results = []
        for data in (path.read_bytes(), out.read_bytes()):
            interp = litert.Interpreter(model_content=data)
            interp.allocate_tensors()
            detail = interp.get_input_details()[0]
            interp.set_tensor(detail["index"], _inputs(path, 0)[0])
            interp.invoke()
            results.append(interp.get_tensor(interp.get_output_details()[0]["index"]))
        assert results[0].tobytes() == results[1].tobytes()
        corrupt = bytearray(out.read_bytes())
        corrupt[20] ^= 0xFF  # inside the new root table
        with pytest.raises(ValueError):
            litert.Interpreter(model_content=bytes(corrupt))
