"""The protocol suite, run against the real firmware: native (host build over a pty), QEMU
(Cortex-M4 image), and a real board when one is given with --tinyrig-device.

Every test here talks to a real firmware process through the real host stack.
"""

from __future__ import annotations

import hashlib
import re
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import build_image
from tinyrig.device.backends import emulated_board, launch
from tinyrig.device.client import DeviceClient
from tinyrig.device.emulators import EmulatedBoard
from tinyrig.device.errors import DeviceRejectedError, DeviceResetError, InputError
from tinyrig.device.remote import RemoteDevice
from tinyrig.device.sim import SimDevice
from tinyrig.protocol import (
    PROTOCOL_VERSION,
    ErrorCode,
    ErrorReply,
    Feature,
    Frame,
    FrameDecoder,
    MessageType,
    encode_frame,
    reply_type,
)
from tinyrig.transport import SerialTransport
from tinyrig_hil.plugin import device_url, is_board

# Emulated backends by device URL; each boots its board entry's firmware (tinyrig.boards).
BACKENDS = ["native", "qemu", "qemu:netduinoplus2", "qemu:microbit", "board"]


@pytest.fixture(scope="module", params=BACKENDS)
def device(request: pytest.FixtureRequest, firmware_images: dict[str, object],
           model_path: Path) -> Iterator[RemoteDevice]:
    backend = request.param
    if backend == "board":
        url = device_url(request.config)
        if not is_board(url):
            pytest.skip("no real board given (--tinyrig-device /dev/ttyACM0 or TINYRIG_DEVICE)")
        assert url is not None
        with RemoteDevice(SerialTransport(url)) as dev:
            yield dev
        return
    facts = emulated_board(backend)
    assert facts is not None
    image = build_image(firmware_images, facts.target, model_path)
    elf = image.elf  # type: ignore[attr-defined]
    board: EmulatedBoard = launch(facts, elf)
    dev = RemoteDevice(SerialTransport(board.uart), url=backend, board=board)
    try:
        yield dev
    finally:
        dev.close()


@pytest.fixture()
def client(device: RemoteDevice) -> DeviceClient:
    device.client.connect()
    return device.client


def raw_exchange(client: DeviceClient, frame: Frame, timeout: float = 3.0) -> Frame:
    """Send a hand-made frame and return the first reply with its seq."""
    client.transport.write(encode_frame(frame))
    decoder = FrameDecoder()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in decoder.feed(client.transport.read(4096, deadline - time.monotonic())):
            if isinstance(item, Frame) and item.seq == frame.seq:
                return item
    raise AssertionError(f"no reply to {frame}")


def test_hello_reports_the_built_in_model(client: DeviceClient, model_path: Path,
                                          device: RemoteDevice) -> None:
    info = client.info
    data = model_path.read_bytes()
    assert info.protocol_version == PROTOCOL_VERSION
    assert info.model_status == ErrorCode.OK
    assert info.max_payload >= 256
    if device.board is not None:  # a real board may run another model
        assert info.model_id == hashlib.sha256(data).digest()[:8]
        assert info.model_size == len(data)
        assert info.model_crc32 == zlib.crc32(data)
    assert 0 < info.arena_used <= info.arena_size
    assert info.tflm == "90b983c"
    assert info.board
    sim = SimDevice(model_path).info()
    assert [(s.dtype, s.shape, s.nbytes) for s in info.inputs] == \
        [(s.dtype, s.shape, s.nbytes) for s in sim.inputs]
    for got, want in zip(info.inputs + info.outputs, sim.inputs + sim.outputs, strict=True):
        assert got.zero_point == want.zero_point
        assert np.float32(got.scale) == np.float32(want.scale)


def test_ping_echoes_every_byte_value(client: DeviceClient) -> None:
    payload = bytes(range(256)) * (client.max_payload // 256)
    assert client.ping(payload[: client.max_payload]) == payload[: client.max_payload]
    assert client.ping(b"") == b""


def test_infer_matches_the_host_reference(device: RemoteDevice, model_path: Path) -> None:
    sim = SimDevice(model_path)
    for value in (-128, -96, -63, -34, 0, 57, 127):
        sample = [np.full(spec.shape, value, dtype=spec.dtype.numpy)
                  for spec in device.info().inputs]
        got = device.infer(sample)
        want = sim.infer(sample)
        assert all(np.array_equal(a, b) for a, b in zip(got.outputs, want.outputs, strict=True))
        assert got.micros is not None and got.ticks is not None


def test_chunked_path_equals_infer(client: DeviceClient) -> None:
    info = client.info
    inputs = [bytes([0x9C]) * spec.nbytes for spec in info.inputs]
    _, via_infer = client.infer(inputs)
    for index, data in enumerate(inputs):
        client.set_input(index, data)
    timing = client.invoke()
    via_chunks = [client.get_output(i, spec.nbytes) for i, spec in enumerate(info.outputs)]
    assert via_chunks == via_infer
    assert timing.ticks >= 0


def test_profile_names_each_op(client: DeviceClient, model_path: Path) -> None:
    from tinyrig.model.flatbuffer import load_model

    client.infer([bytes(spec.nbytes) for spec in client.info.inputs])
    entries = client.profile()
    model = load_model(model_path)
    assert [e.name for e in entries] == [model.opcode(op).name for op in model.main.operators]


def test_stats_count_frames_and_crc_errors(client: DeviceClient) -> None:
    before = client.stats()
    wire = bytearray(encode_frame(Frame(MessageType.PING, 999, b"corrupt me")))
    wire[4] ^= 0x01  # a flipped bit: the device must drop the frame and count it
    client.transport.write(bytes(wire))
    assert client.ping(b"still alive") == b"still alive"
    after = client.stats()
    assert after.crc_errors == before.crc_errors + 1
    assert after.frames_rx >= before.frames_rx + 2
    assert after.uptime_ms >= before.uptime_ms


def test_stats_report_the_stack_high_water_mark(device: RemoteDevice,
                                                client: DeviceClient) -> None:
    """Boards paint their stack at boot; STATS says how deep it has been (an inference and its
    reply included). The host build has no fixed stack and reports 0 for both."""
    client.infer([bytes(spec.nbytes) for spec in client.info.inputs])
    stats = client.stats()
    assert stats.stack_size is not None and stats.stack_used is not None
    if device.board is not None and device.url == "native":
        assert (stats.stack_size, stats.stack_used) == (0, 0)
        return
    assert stats.stack_size > 0
    # Deeper than one frame of main, and never the whole stack (no overflow).
    assert 256 < stats.stack_used < stats.stack_size, stats
    again = client.stats()
    assert again.stack_used is not None and again.stack_used >= stats.stack_used  # only rises
    print(f"{device.url}: stack {stats.stack_used} of {stats.stack_size} B used")


def test_garbage_between_frames_is_skipped(client: DeviceClient) -> None:
    client.transport.write(bytes([0x55, 0xAA, 0x13, 0x37]) * 20 + b"\x00")
    assert client.ping(b"after garbage") == b"after garbage"


def test_unknown_message_is_a_typed_error(client: DeviceClient) -> None:
    reply = raw_exchange(client, Frame(0x3E, 4242, b""))
    assert reply.type == MessageType.ERROR
    error = ErrorReply.decode(reply.payload)
    assert error.code == ErrorCode.UNKNOWN_MESSAGE
    assert error.request_type == 0x3E


def test_wrong_protocol_version_is_refused(client: DeviceClient) -> None:
    reply = raw_exchange(client, Frame(MessageType.PING, 4243, b"x", version=7))
    error = ErrorReply.decode(reply.payload)
    assert error.code == ErrorCode.BAD_VERSION
    assert error.arg == PROTOCOL_VERSION


def test_oversized_frame_is_refused_and_the_link_recovers(client: DeviceClient) -> None:
    big = Frame(MessageType.PING, 4244, bytes([7]) * (client.max_payload + 64))
    reply = raw_exchange(client, big)
    error = ErrorReply.decode(reply.payload)
    assert error.code == ErrorCode.FRAME_TOO_LARGE
    assert error.arg == client.max_payload
    assert client.ping(b"ok") == b"ok"


def test_out_of_range_tensor_access(client: DeviceClient) -> None:
    with pytest.raises(DeviceRejectedError) as bad_tensor:
        client.request(MessageType.GET_OUTPUT, struct.pack("<BII", 9, 0, 1))
    assert bad_tensor.value.code == ErrorCode.BAD_TENSOR
    size = client.info.inputs[0].nbytes
    with pytest.raises(DeviceRejectedError) as beyond:
        client.request(MessageType.SET_INPUT, struct.pack("<BI", 0, size) + b"\x01")
    assert beyond.value.code == ErrorCode.OUT_OF_RANGE
    with pytest.raises(DeviceRejectedError) as short:
        client.request(MessageType.SET_INPUT, b"\x00")
    assert short.value.code == ErrorCode.BAD_PAYLOAD


def test_reset_ends_the_session_and_hello_restores_it(client: DeviceClient,
                                                      device: RemoteDevice) -> None:
    if device.board is None:
        pytest.skip("not resetting a shared real board")
    client.reset()
    with pytest.raises(DeviceResetError):
        client.ping(b"x")
    info = client.connect(timeout=15)
    assert info.model_status == ErrorCode.OK
    assert client.ping(b"back") == b"back"


def test_requests_before_hello_get_no_session(client: DeviceClient,
                                              device: RemoteDevice) -> None:
    if device.board is None:
        pytest.skip("not resetting a shared real board")
    client.reset()
    time.sleep(0.5)
    reply = raw_exchange(client, Frame(MessageType.STATS, 4245), timeout=10)
    if reply.type == reply_type(MessageType.HELLO):  # pragma: no cover - defensive
        pytest.fail("device answered STATS with a HELLO reply")
    assert ErrorReply.decode(reply.payload).code == ErrorCode.NO_SESSION
    client.connect(timeout=15)


def test_arena_limit_is_not_offered_by_plain_firmware(client: DeviceClient) -> None:
    with pytest.raises(DeviceRejectedError) as refused:
        client.set_arena_limit(64)
    assert refused.value.code == ErrorCode.UNSUPPORTED
    assert client.ping(b"alive") == b"alive"


def test_test_hooks_are_not_offered_by_plain_firmware(client: DeviceClient) -> None:
    assert Feature.TEST_HOOKS not in client.info.features
    with pytest.raises(DeviceRejectedError) as refused:
        client.set_invoke_delay(10)
    assert refused.value.code == ErrorCode.UNSUPPORTED


@pytest.mark.parametrize(("bad", "message"), [
    (np.array([[200.7]], dtype=np.float32), "quantize"),  # never silently int8 -56
    (np.array([5], dtype=np.int8), "expects int8[1,1]"),  # (1,) is not (1, 1)
    (np.array([[[5]]], dtype=np.int8), "expects int8[1,1]"),
    (np.array([[5]], dtype=np.int16), "expects int8 values"),
])
def test_library_infer_refuses_wrong_dtype_or_shape(device: RemoteDevice, model_path: Path,
                                                    bad: np.ndarray, message: str) -> None:
    """RemoteDevice.infer and SimDevice.infer check shape and dtype exactly as the CLI does:
    one clear InputError, never a cast or reshape (issue 8, finding 11)."""
    for backend in (device, SimDevice(model_path)):
        with pytest.raises(InputError, match=re.escape(message)):
            backend.infer([bad])
    assert device.infer([np.array([[5]], dtype=np.int8)]).outputs[0].shape == (1, 1)
