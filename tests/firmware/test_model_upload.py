"""Model upload (docs/protocol.md §3.1) and LINK_TEST (§3.3) on the runner firmware.

Each backend boots once per module (native-runner, qemu-m4-runner) and takes every model over
the link through DeviceClient.upload_model; outputs must equal SimDevice's bit for bit. Corrupt
uploads must be typed errors that leave the device alive and with no model.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.firmware.crafted_models import CRAFTED, build_all
from tests.firmware.images import REPO, RUNNER_BUILT_IN, Runner, launch_runner
from tests.firmware.tflite_patch import scale_activations, set_operator_input
from tinyrig.boards import board as board_facts
from tinyrig.device.errors import DeviceRejectedError
from tinyrig.device.open import upload_problems
from tinyrig.device.sim import SimDevice
from tinyrig.errors import TinyrigError
from tinyrig.model.arena import measure_arena
from tinyrig.protocol.messages import (
    DeviceInfo,
    ErrorCode,
    Feature,
    MessageType,
    ModelBegin,
    ModelChunk,
    TfLiteType,
)

pytestmark = pytest.mark.slow

SHARED_MODELS = REPO.parent / "shared" / "models"
UPLOAD_MODELS = sorted(
    [SHARED_MODELS / name for name in ("hello_world_int8.tflite", "hello_world_float.tflite",
                                        "micro_speech_quantized.tflite",
                                        "trained_lstm_int8.tflite", "person_detect.tflite")]
    + list((REPO / "models").glob("*/*_int8.tflite")), key=lambda p: p.name)
HELLO_WORLD = SHARED_MODELS / "hello_world_int8.tflite"

_INT_TYPES: dict[TfLiteType, type[np.signedinteger[Any] | np.unsignedinteger[Any]]] = {
    TfLiteType.INT8: np.int8, TfLiteType.UINT8: np.uint8, TfLiteType.INT16: np.int16,
    TfLiteType.INT32: np.int32}




@pytest.fixture(scope="module", params=[
    pytest.param("native-runner", marks=pytest.mark.native),
    pytest.param("qemu-m4-runner", marks=pytest.mark.qemu),
    # STM32F405 under QEMU: 40 KiB slot, 64 KiB arena (the models that fit).
    pytest.param("netduinoplus2-runner", marks=pytest.mark.qemu),
    # nRF51822 under QEMU: the model slot in flash (NVMC), the example models' ops only.
    pytest.param("microbit-runner", marks=pytest.mark.qemu)])
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    device = launch_runner(request.param)
    yield device
    device.board.stop()


def _model_id(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()[:8]


def _random_inputs(info: DeviceInfo, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays: list[np.ndarray] = []
    for spec in info.inputs:
        if TfLiteType(spec.dtype) == TfLiteType.FLOAT32:
            arrays.append(rng.uniform(-1.0, 1.0, spec.shape).astype(np.float32))
        else:
            dtype = _INT_TYPES[TfLiteType(spec.dtype)]
            limits = np.iinfo(dtype)
            arrays.append(rng.integers(limits.min, limits.max, spec.shape, dtype=dtype,
                                       endpoint=True))
    return arrays


def _skip_without_kernels(runner: Runner, model: Path) -> None:
    """A board whose flash holds only some kernels (microbit-runner) takes the models that use
    them; the host refuses the others before sending (tests/cli/test_bad_input.py)."""
    if board_facts(runner.target).runner_ops is None:
        return
    try:
        problems = upload_problems(runner.target, model)
    except TinyrigError:
        return  # a model the host cannot even parse: the device's verdict is the test
    if any("no kernel" in p for p in problems):
        pytest.skip("; ".join(problems))


def _skip_unless_it_fits(runner: Runner, model: Path) -> None:
    """Small boards take the models that fit their slot and arena (the rest is refused with a
    typed error, tested below)."""
    facts = board_facts(runner.target)
    slot = facts.model_slot_bytes
    assert slot is not None
    if model.stat().st_size > slot:
        pytest.skip(f"{model.name} ({model.stat().st_size} B) exceeds the {slot} B slot of "
                    f"{runner.target}")
    _skip_without_kernels(runner, model)
    needed = measure_arena(model).arena_bytes
    if needed > runner.boot_info.arena_size:
        pytest.skip(f"{model.name} needs a {needed} B arena; {runner.target} has "
                    f"{runner.boot_info.arena_size} B")


def _rejected(runner: Runner, code: ErrorCode, call: object) -> DeviceRejectedError:
    assert callable(call)
    with pytest.raises(DeviceRejectedError) as caught:
        call()
    assert caught.value.code == code, caught.value
    return caught.value


def _assert_alive_without_model(runner: Runner) -> None:
    assert runner.client.ping(b"still there") == b"still there"
    info = runner.client.refresh_info()
    assert info.model_status == ErrorCode.NO_MODEL
    assert info.model_size == 0
    _rejected(runner, ErrorCode.NO_MODEL, runner.client.invoke)


def _upload_raw(runner: Runner, data: bytes, *, crc: int | None = None) -> bytes:
    """BEGIN (with ``crc``, default the true CRC), every chunk in order, COMMIT."""
    client = runner.client
    begin = ModelBegin(len(data), zlib.crc32(data) if crc is None else crc, _model_id(data))
    client.request(MessageType.MODEL_BEGIN, begin.encode(), reply_bytes=4)
    step = client.max_payload - 4
    for offset in range(0, len(data), step):
        client.request(MessageType.MODEL_CHUNK,
                       ModelChunk(offset, data[offset:offset + step]).encode(), reply_bytes=4)
    return client.request(MessageType.MODEL_COMMIT, reply_bytes=client.max_payload,
                          device_seconds=2.0 + len(data) * 1e-6)


def test_runner_boots_with_upload_feature(runner: Runner) -> None:
    info = runner.boot_info
    assert Feature.MODEL_UPLOAD in info.features
    assert info.model_status == ErrorCode.OK
    assert info.model_id == _model_id(RUNNER_BUILT_IN.read_bytes())
    minimum = board_facts(runner.target).runner_arena_bytes
    assert minimum is not None and info.arena_size >= minimum


@pytest.mark.parametrize("model", UPLOAD_MODELS, ids=lambda p: p.stem)
def test_upload_then_infer_matches_sim(runner: Runner, model: Path) -> None:
    if not model.is_file():
        pytest.skip(f"{model} is not present")
    data = model.read_bytes()
    _skip_unless_it_fits(runner, model)
    started = time.monotonic()
    info = runner.client.upload_model(data, _model_id(data))
    seconds = time.monotonic() - started
    print(f"{runner.target}: uploaded {model.name} ({len(data)} B) in {seconds:.2f} s")
    assert info.model_status == ErrorCode.OK
    assert info.model_id == _model_id(data)
    assert info.model_size == len(data)
    assert info.model_crc32 == zlib.crc32(data)
    assert 0 < info.arena_used <= info.arena_size
    reference = SimDevice(model)
    for seed in range(2):
        inputs = _random_inputs(info, seed)
        _, raw_outputs = runner.client.infer([a.tobytes() for a in inputs])
        expected = reference.infer(inputs).outputs
        for raw, want in zip(raw_outputs, expected, strict=True):
            # Float models too: TFLM is built with -ffp-contract=off on every target.
            assert bytes(raw) == want.tobytes(), seed


def test_flipped_byte_is_a_crc_mismatch(runner: Runner) -> None:
    data = HELLO_WORLD.read_bytes()
    corrupt = bytearray(data)
    corrupt[len(corrupt) // 2] ^= 0x40
    error = _rejected(runner, ErrorCode.MODEL_CRC_MISMATCH,
                      lambda: _upload_raw(runner, bytes(corrupt), crc=zlib.crc32(data)))
    assert error.arg == zlib.crc32(bytes(corrupt))
    _assert_alive_without_model(runner)


@pytest.mark.parametrize("kind", ["truncated", "garbage", "bad_tensor_index", "zeros"])
def test_invalid_flatbuffer_with_good_crc_is_model_invalid(runner: Runner, kind: str) -> None:
    data = HELLO_WORLD.read_bytes()
    if kind == "truncated":
        bad = data[: len(data) * 2 // 3]
    elif kind == "garbage":
        bad = np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    elif kind == "zeros":
        bad = bytes(512)
    else:
        bad = set_operator_input(data, 0, 0, 999)
    error = _rejected(runner, ErrorCode.MODEL_INVALID, lambda: runner.client.upload_model(
        bad, _model_id(bad)))
    if kind == "bad_tensor_index":
        assert "999" in error.detail, error.detail
    _assert_alive_without_model(runner)


def test_too_big_is_model_too_large(runner: Runner) -> None:
    slot = struct.unpack("<I", runner.client.request(
        MessageType.MODEL_BEGIN, ModelBegin(1000, 0, bytes(8)).encode(), reply_bytes=4))[0]
    error = _rejected(runner, ErrorCode.MODEL_TOO_LARGE, lambda: runner.client.request(
        MessageType.MODEL_BEGIN, ModelBegin(slot + 1, 0, bytes(8)).encode(), reply_bytes=4))
    assert error.arg == slot
    # the host's size check (board facts) refuses exactly what the device refuses
    assert board_facts(runner.target).model_slot_bytes == slot
    assert runner.client.ping(b"x") == b"x"


def test_too_small_arena_is_reported_with_bytes_needed(runner: Runner) -> None:
    huge = scale_activations(HELLO_WORLD.read_bytes(), 1_000_000)  # ~32 MB of activations
    error = _rejected(runner, ErrorCode.ARENA_TOO_SMALL,
                      lambda: runner.client.upload_model(huge, _model_id(huge)))
    assert error.arg > runner.boot_info.arena_size
    _assert_alive_without_model(runner)


def test_chunk_or_commit_without_begin_is_bad_sequence(runner: Runner) -> None:
    data = HELLO_WORLD.read_bytes()
    # A failed commit closes the upload, whatever was open before.
    _rejected(runner, ErrorCode.MODEL_CRC_MISMATCH,
              lambda: _upload_raw(runner, data, crc=zlib.crc32(data) ^ 1))
    _rejected(runner, ErrorCode.BAD_SEQUENCE, lambda: runner.client.request(
        MessageType.MODEL_CHUNK, ModelChunk(0, data[:16]).encode(), reply_bytes=4))
    _rejected(runner, ErrorCode.BAD_SEQUENCE,
              lambda: runner.client.request(MessageType.MODEL_COMMIT))
    _assert_alive_without_model(runner)


def test_chunks_in_any_order_and_repeated(runner: Runner) -> None:
    # micro_speech: 27 chunks of 700 B, or (256-byte payloads: the micro:bit) 75 of 248 B
    data = (SHARED_MODELS / "micro_speech_quantized.tflite").read_bytes()
    client = runner.client
    client.request(MessageType.MODEL_BEGIN,
                   ModelBegin(len(data), zlib.crc32(data), _model_id(data)).encode(),
                   reply_bytes=4)
    step = min(700, client.max_payload - 8)
    offsets = list(range(0, len(data), step))
    order = [int(i) for i in np.random.default_rng(3).permutation(len(offsets))]
    received = 0
    for n, index in enumerate(order + order[:5]):  # the first five again: duplicates
        offset = offsets[index]
        reply = client.request(MessageType.MODEL_CHUNK,
                               ModelChunk(offset, data[offset:offset + step]).encode(),
                               reply_bytes=4)
        received = struct.unpack("<I", reply)[0]
        if n < len(order) - 1:
            assert received < len(data)
    assert received == len(data)
    _rejected(runner, ErrorCode.OUT_OF_RANGE, lambda: client.request(
        MessageType.MODEL_CHUNK, ModelChunk(len(data) - 2, b"abcd").encode(), reply_bytes=4))
    info = DeviceInfo.decode(client.request(MessageType.MODEL_COMMIT,
                                            reply_bytes=client.max_payload, device_seconds=2.0))
    assert info.model_status == ErrorCode.OK
    assert info.model_id == _model_id(data)


def test_incomplete_upload_stays_open(runner: Runner) -> None:
    data = HELLO_WORLD.read_bytes()
    client = runner.client
    client.request(MessageType.MODEL_BEGIN,
                   ModelBegin(len(data), zlib.crc32(data), _model_id(data)).encode(),
                   reply_bytes=4)
    step = client.max_payload - 4
    for offset in range(100, len(data), step):
        client.request(MessageType.MODEL_CHUNK,
                       ModelChunk(offset, data[offset:offset + step]).encode(), reply_bytes=4)
    error = _rejected(runner, ErrorCode.BAD_SEQUENCE,
                      lambda: client.request(MessageType.MODEL_COMMIT))
    assert error.arg == len(data) - 100
    client.request(MessageType.MODEL_CHUNK, ModelChunk(0, data[:100]).encode(), reply_bytes=4)
    info = DeviceInfo.decode(client.request(MessageType.MODEL_COMMIT,
                                            reply_bytes=client.max_payload, device_seconds=2.0))
    assert info.model_status == ErrorCode.OK


def test_link_test_echoes_raw_bytes(runner: Runner) -> None:
    data = bytes(range(256)) * 16 + b"\x00" * 100  # zeros included: no framing while echoing
    echoed, seconds = runner.client.link_test(data)
    assert echoed == data
    assert seconds > 0
    assert runner.client.ping(b"framed again") == b"framed again"


def test_link_test_returns_after_a_second_of_silence(runner: Runner) -> None:
    client = runner.client
    client.request(MessageType.LINK_TEST, struct.pack("<I", 1000))
    client.transport.write(b"\x00abc")
    echoed = b""
    deadline = time.monotonic() + 5
    while len(echoed) < 4 and time.monotonic() < deadline:
        echoed += client.transport.read(4 - len(echoed), 0.5)
    assert echoed == b"\x00abc"
    time.sleep(1.3)
    assert client.ping(b"back") == b"back"


@pytest.mark.skipif(os.environ.get("TINYRIG_SKIP_FINAL_UPLOAD") == "1", reason="disabled")
def test_good_upload_after_failures(runner: Runner) -> None:
    data = HELLO_WORLD.read_bytes()
    bad = data[:100]
    _rejected(runner, ErrorCode.MODEL_INVALID,
              lambda: runner.client.upload_model(bad, _model_id(bad)))
    _assert_alive_without_model(runner)
    info = runner.client.upload_model(data, _model_id(data))
    assert info.model_status == ErrorCode.OK
    inputs = _random_inputs(info, 11)
    _, outputs = runner.client.infer([a.tobytes() for a in inputs])
    assert outputs[0] == SimDevice(HELLO_WORLD).infer(inputs).outputs[0].tobytes()


# The crafted models (below) have tests of their exact outcome.
REGRESSIONS = sorted(p for p in (REPO / "firmware" / "fuzz" / "regressions" / "model").glob("*")
                     if p.name not in CRAFTED)


@pytest.mark.parametrize("case", REGRESSIONS, ids=lambda p: p.name)
def test_fuzzer_regressions_do_not_crash_the_device(runner: Runner, case: Path) -> None:
    """Models the model fuzzer once crashed with: each upload and invoke either works or is a
    typed error, and the device keeps answering."""
    data = case.read_bytes()
    try:
        info = runner.client.upload_model(data, _model_id(data))
    except DeviceRejectedError as exc:
        assert exc.code in (ErrorCode.MODEL_INVALID, ErrorCode.ARENA_TOO_SMALL), exc
    else:
        assert info.model_status == ErrorCode.OK
        try:
            runner.client.invoke()
        except DeviceRejectedError as exc:
            assert exc.code == ErrorCode.INVOKE_FAILED, exc
            assert runner.client.refresh_info().model_status == ErrorCode.MODEL_INVALID
    assert runner.client.ping(b"alive") == b"alive"


# --- Untrusted models (issue 8): tests/firmware/crafted_models.py builds them into
# firmware/fuzz/regressions/model/; each gets its exact typed error, or runs bit for bit. ---

UNSAFE_MODELS: dict[str, tuple[ErrorCode, str]] = {
    # finding 1: offline memory plans TFLM would follow blindly
    "plan-negative-offsets": (ErrorCode.MODEL_INVALID, "plan: subgraph 0 tensor 0: offset -16"),
    "plan-buffer-out-of-range": (ErrorCode.MODEL_INVALID, "offline plan: buffer 9999 out of range"),
    "plan-buffer-without-data": (ErrorCode.MODEL_INVALID, "holds no plan"),
    "plan-too-short": (ErrorCode.MODEL_INVALID, "offsets need"),
    "plan-wrong-count": (ErrorCode.MODEL_INVALID, "9 offsets for 10 tensors"),
    "plan-wrong-version": (ErrorCode.MODEL_INVALID, "version 2"),
    "plan-misaligned": (ErrorCode.MODEL_INVALID, "tensor 7: offset 24"),
    "plan-live-overlap": (ErrorCode.MODEL_INVALID,
                          "tensor 0 and subgraph 0 tensor 7 overlap while both are live"),
    "plan-offset-past-int": (ErrorCode.MODEL_INVALID, "tensor 8: offset 2147483632"),
    # a well-formed plan that needs more arena than the device has: as for any model
    "plan-past-arena": (ErrorCode.ARENA_TOO_SMALL, ""),
    # finding 2: custom ops that parse their options unchecked are not registered
    "custom-detection-postprocess-no-options": (ErrorCode.MODEL_INVALID,
                                                "TFLite_Detection_PostProcess"),
    "custom-signal-window-garbage-options": (ErrorCode.MODEL_INVALID, "SignalWindow"),
    # finding 8: types the host cannot hold as model inputs or outputs
    "uint16-model-input": (ErrorCode.MODEL_INVALID, "unsupported type UINT16"),
    # suspected, confirmed: SET_INPUT would write into the model slot under its CRC and id
    "constant-data-input": (ErrorCode.MODEL_INVALID, "tensor 0: input with constant data"),
    # suspected, confirmed: 2^31 one-byte elements passed and overflow TFLM's int count
    "tensor-2g-elements": (ErrorCode.MODEL_INVALID, "tensor 10: too many elements"),
    # TFLM's lifetime walk recurses through control flow without a bound
    "call-once-cycle": (ErrorCode.MODEL_INVALID, "subgraph 1 calls itself"),
}

# finding 4: kernels that index with tensor values. (good inputs, inputs out of range)
_I32 = np.int32
INDEXED_MODELS: dict[str, tuple[list[np.ndarray], list[list[np.ndarray]]]] = {
    "gather-positions-from-input": (
        [np.array([1, 0, 7, 3], _I32)],
        [[np.array([0, 1, 2, 8], _I32)], [np.array([-1, 0, 0, 0], _I32)],
         [np.array([0x7FFFFFFF, 0, 0, 0], _I32)]]),
    "gather-nd-indices-from-input": (
        [np.array([[0, 1], [3, 0], [2, 1]], _I32)],
        # [1, -1] stays inside the flat buffer: TFLM returned element 1 silently
        [[np.array([[4, 0], [0, 0], [0, 0]], _I32)], [np.array([[1, -1], [0, 0], [0, 0]], _I32)]]),
    "slice-begin-from-input": (
        [np.array([3], _I32)], [[np.array([7], _I32)], [np.array([-1], _I32)]]),
    "arg-max-axis-from-input": (
        [np.array([[1, 5, 2, 0], [9, 1, 1, 1]], np.float32), np.array([1], _I32)],
        [[np.array([[1, 5, 2, 0], [9, 1, 1, 1]], np.float32), np.array([2], _I32)],
         [np.array([[1, 5, 2, 0], [9, 1, 1, 1]], np.float32), np.array([-3], _I32)]]),
}
CRAFTED_DIR = REPO / "firmware" / "fuzz" / "regressions" / "model"


def test_crafted_models_are_checked_in() -> None:
    built = build_all()
    assert set(built) == set(UNSAFE_MODELS) | set(INDEXED_MODELS) | {"plan-valid"}
    for name, data in built.items():
        assert (CRAFTED_DIR / name).read_bytes() == data, (
            f"{name} is stale: python -m tests.firmware.crafted_models")


@pytest.mark.parametrize("name", sorted(UNSAFE_MODELS))
def test_unsafe_model_is_a_typed_error(runner: Runner, name: str) -> None:
    _skip_without_kernels(runner, CRAFTED_DIR / name)
    data = (CRAFTED_DIR / name).read_bytes()
    code, detail = UNSAFE_MODELS[name]
    error = _rejected(runner, code, lambda: runner.client.upload_model(data, _model_id(data)))
    assert detail in error.detail, error.detail
    if code == ErrorCode.ARENA_TOO_SMALL:
        assert error.arg >= (64 << 20) + 16, error  # the plan's end: its offset + 16 bytes
    _assert_alive_without_model(runner)


def _exact(runner: Runner, model: Path, inputs: list[np.ndarray]) -> None:
    _, raw = runner.client.infer([a.tobytes() for a in inputs])
    expected = SimDevice(model).infer(inputs).outputs
    assert [bytes(r) for r in raw] == [e.tobytes() for e in expected]


def test_valid_offline_plan_runs_bit_exact(runner: Runner) -> None:
    model = CRAFTED_DIR / "plan-valid"
    data = model.read_bytes()
    info = runner.client.upload_model(data, _model_id(data))
    assert info.model_status == ErrorCode.OK
    unplanned = SimDevice(RUNNER_BUILT_IN)  # the same sine model without the plan
    for value in (-128, -3, 0, 77, 127):
        inputs = [np.array([[value]], np.int8)]
        _exact(runner, model, inputs)
        _, raw = runner.client.infer([a.tobytes() for a in inputs])
        assert bytes(raw[0]) == unplanned.infer(inputs).outputs[0].tobytes()


@pytest.mark.parametrize("name", sorted(INDEXED_MODELS))
def test_index_from_data_is_checked(runner: Runner, name: str) -> None:
    model = CRAFTED_DIR / name
    _skip_without_kernels(runner, model)
    data = model.read_bytes()
    good, bad = INDEXED_MODELS[name]
    info = runner.client.upload_model(data, _model_id(data))
    assert info.model_status == ErrorCode.OK
    _exact(runner, model, good)
    for inputs in bad:
        _rejected(runner, ErrorCode.INVOKE_FAILED,
                  lambda inputs=inputs: runner.client.infer([a.tobytes() for a in inputs]))
        assert runner.client.refresh_info().model_status == ErrorCode.OK
    _exact(runner, model, good)  # the model stays usable


def test_stack_high_water_leaves_the_stated_margin(runner: Runner) -> None:
    """Runs last: after every upload, verification, load and inference above, the stack's
    high-water mark (STATS, painted at boot) leaves at least a third of the stack unused — the
    margin platformio.ini sizes the micro:bit's stack by. The host build has no fixed stack."""
    stats = runner.client.stats()
    assert stats.stack_size is not None and stats.stack_used is not None
    if not stats.stack_measured:
        assert runner.target.startswith("native")
        return
    print(f"{runner.target}: stack high-water {stats.stack_used} of {stats.stack_size} B")
    assert 0 < stats.stack_used <= stats.stack_size * 2 // 3, stats


def test_flash_slot_keeps_the_model_across_a_reset(runner: Runner) -> None:
    """Runs last (it reboots the board): a flash model slot (the micro:bit's) survives a reset
    like a real device's, and the firmware boots with the model it took last, verified again;
    a RAM slot does not (the built-in model boots)."""
    data = HELLO_WORLD.read_bytes()
    runner.client.upload_model(data, _model_id(data))
    runner.client.reset()
    time.sleep(0.5)
    info = runner.client.connect()
    persistent = board_facts(runner.target).model_slot is not None
    expected = data if persistent else RUNNER_BUILT_IN.read_bytes()
    assert info.model_status == ErrorCode.OK
    assert info.model_id == _model_id(expected)
    assert info.model_crc32 == zlib.crc32(expected)
    if persistent:
        inputs = _random_inputs(info, 5)
        _, outputs = runner.client.infer([a.tobytes() for a in inputs])
        assert outputs[0] == SimDevice(HELLO_WORLD).infer(inputs).outputs[0].tobytes()
