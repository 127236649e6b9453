"""The real firmware, native and under QEMU, speaking docs/protocol.md over its pty."""

from __future__ import annotations

import os
import select
import struct
import time
from collections.abc import Iterator

import pytest

from tests.firmware.images import hello_world_image, hello_world_image_with_arena
from tests.firmware.link import DeviceLink, qemu_missing, start_native, start_qemu
from tinyrig.protocol.frame import PROTOCOL_VERSION, Frame, encode_frame
from tinyrig.protocol.messages import (
    Boot,
    BootReason,
    DeviceInfo,
    DeviceStats,
    ErrorCode,
    ErrorReply,
    Feature,
    HelloReply,
    InferReply,
    MessageType,
    TfLiteType,
    reply_type,
)

pytestmark = pytest.mark.slow

BACKENDS = [pytest.param("native", marks=pytest.mark.native),
            pytest.param("qemu", marks=pytest.mark.qemu)]


def _start(backend: str) -> DeviceLink:
    if backend == "native":
        return start_native(hello_world_image("native").image.elf)
    reason = qemu_missing()
    if reason is not None:
        pytest.skip(reason)
    return start_qemu(hello_world_image("qemu-m4").image.elf)


@pytest.fixture(params=BACKENDS)
def device(request: pytest.FixtureRequest) -> Iterator[DeviceLink]:
    link = _start(request.param)
    yield link
    link.close()


def _hello(link: DeviceLink, nonce: int = 0x12345678) -> HelloReply:
    link.send_raw(b"\x00")  # flush any half-received frame, as the host codec does
    reply = link.request(MessageType.HELLO, struct.pack("<I", nonce))
    assert reply.type == reply_type(MessageType.HELLO), reply
    return HelloReply.decode(reply.payload)


def _error(frame: Frame) -> ErrorReply:
    assert frame.type == MessageType.ERROR, frame
    return ErrorReply.decode(frame.payload)


def test_boot_then_hello_info(device: DeviceLink) -> None:
    hello = _hello(device)
    elapsed = time.monotonic() - device.started
    print(f"{device.pty_path}: launch to HELLO reply {elapsed * 1000:.0f} ms")
    info = hello.info
    assert hello.nonce == 0x12345678
    assert info.protocol_version == PROTOCOL_VERSION
    assert info.model_status == ErrorCode.OK
    assert info.max_payload >= 256
    assert info.tflm == "90b983c"
    # The kernel set the image was built with (native: reference, qemu-m4: CMSIS-NN).
    built = hello_world_image("native" if info.board == "native" else "qemu-m4").image
    assert info.kernels.label == built.kernel_set
    assert info.arena_size == 4096
    assert 0 < info.arena_used <= info.arena_size
    assert info.model_size > 1000
    assert Feature.PROFILE in info.features
    assert [t.dtype for t in info.inputs] == [TfLiteType.INT8]
    assert [t.shape for t in info.outputs] == [(1, 1)]
    assert info.board in ("native", "mps2-an386")
    # INFO alone returns the same blob.
    again = device.request(MessageType.INFO)
    assert DeviceInfo.decode(again.payload) == info


def test_native_boot_frame_is_first(request: pytest.FixtureRequest) -> None:
    link = _start("native")
    try:
        boot = link.receive()
        assert boot.type == MessageType.BOOT and boot.seq == 0
        assert Boot.decode(boot.payload).reason == BootReason.POWER_ON
    finally:
        link.close()


def test_requests_need_a_session(device: DeviceLink) -> None:
    error = _error(device.request(MessageType.INVOKE))
    assert error.code == ErrorCode.NO_SESSION
    assert error.request_type == MessageType.INVOKE
    pong = device.request(MessageType.PING, b"abc\x00def")
    assert pong.payload == b"abc\x00def"


def test_infer_profile_stats(device: DeviceLink) -> None:
    info = _hello(device).info
    x = info.inputs[0]
    # hello_world: y ~ sin(x); quantize x = 1.57 with the input's scale/zero point.
    q = max(-128, min(127, round(1.57 / x.scale) + x.zero_point))
    reply = device.request(MessageType.INFER, struct.pack("<b", q))
    assert reply.type == reply_type(MessageType.INFER), reply
    inferred = InferReply.decode(reply.payload)
    ticks, micros = inferred.timing.ticks, inferred.timing.micros
    (y_q,) = struct.unpack("<b", inferred.outputs)
    out = info.outputs[0]
    y = (y_q - out.zero_point) * out.scale
    assert abs(y - 1.0) < 0.2, y
    assert ticks > 0 or micros >= 0

    profile = device.request(MessageType.PROFILE, struct.pack("<H", 0))
    total, count = struct.unpack_from("<HH", profile.payload)
    assert total == count == 3  # three FULLY_CONNECTED layers
    assert b"FULLY_CONNECTED" in profile.payload

    stats = DeviceStats.decode(device.request(MessageType.STATS).payload)
    assert stats.invokes == 1
    assert stats.frames_rx >= 3  # HELLO, INFER, PROFILE, STATS
    assert stats.last_invoke_ticks == ticks


def test_errors_are_typed(device: DeviceLink) -> None:
    _hello(device)
    assert _error(device.request(MessageType.INFER, b"")).code == ErrorCode.BAD_PAYLOAD
    bad_tensor = _error(device.request(MessageType.GET_OUTPUT, struct.pack("<BII", 7, 0, 1)))
    assert (bad_tensor.code, bad_tensor.arg) == (ErrorCode.BAD_TENSOR, 7)
    assert _error(device.request(MessageType.GET_OUTPUT, struct.pack("<BII", 0, 0, 99))
                  ).code == ErrorCode.OUT_OF_RANGE
    assert _error(device.request(MessageType.MODEL_BEGIN, bytes(16))
                  ).code == ErrorCode.UNSUPPORTED
    unknown = _error(device.request(0x55))
    assert (unknown.code, unknown.arg) == (ErrorCode.UNKNOWN_MESSAGE, 0x55)
    # A frame of another protocol version is answered, not executed.
    device.send_raw(encode_frame(Frame(type=MessageType.PING, seq=77, payload=b"",
                                       version=PROTOCOL_VERSION + 1)))
    frame = device.receive()
    assert frame.seq == 77
    bad_version = _error(frame)
    assert (bad_version.code, bad_version.arg) == (ErrorCode.BAD_VERSION, PROTOCOL_VERSION)


def test_bad_crc_is_dropped_and_counted(device: DeviceLink) -> None:
    _hello(device)
    wire = bytearray(encode_frame(Frame(type=MessageType.PING, seq=500, payload=b"zz")))
    wire[-3] ^= 0x01  # inside the CRC (never makes a zero: COBS bytes are non-zero)
    if wire[-3] == 0:
        wire[-3] = 0x02
    device.send_raw(bytes(wire))
    stats = DeviceStats.decode(device.request(MessageType.STATS).payload)
    assert stats.crc_errors == 1


def test_oversized_frame_is_answered(device: DeviceLink) -> None:
    max_payload = _hello(device).info.max_payload
    device.send(MessageType.PING, bytes(range(256)) * (max_payload // 256 + 1))
    error = _error(device.receive())
    assert (error.code, error.arg) == (ErrorCode.FRAME_TOO_LARGE, max_payload)
    assert device.request(MessageType.PING, b"ok").payload == b"ok"


def test_reset_sends_boot_on_the_same_port(device: DeviceLink) -> None:
    _hello(device)
    reply = device.request(MessageType.RESET)
    assert reply.type == reply_type(MessageType.RESET)
    boot = device.receive(timeout=10)
    assert boot.type == MessageType.BOOT
    assert Boot.decode(boot.payload).reason == BootReason.SOFTWARE_RESET
    assert _error(device.request(MessageType.STATS)).code == ErrorCode.NO_SESSION
    assert _hello(device, nonce=7).nonce == 7
    assert device.process.poll() is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_too_small_arena_still_boots(backend: str) -> None:
    target = "native" if backend == "native" else "qemu-m4"
    if backend == "qemu" and qemu_missing() is not None:
        pytest.skip(str(qemu_missing()))
    image = hello_world_image_with_arena(target, 600)
    link = start_native(image.elf) if backend == "native" else start_qemu(image.elf)
    try:
        info = _hello(link).info
        assert info.model_status == ErrorCode.ARENA_TOO_SMALL
        assert (info.arena_size, info.arena_used, info.inputs) == (600, 0, ())
        error = _error(link.request(MessageType.INVOKE))
        assert error.code == ErrorCode.ARENA_TOO_SMALL
        assert error.arg > 600  # bytes needed, from TFLM's allocator message
    finally:
        link.close()


def test_link_test_raw_echo_then_framed_again(device: DeviceLink) -> None:
    """LINK_TEST (§3.3) on the plain firmware: reply, raw echo of `count` bytes, framed mode."""
    _hello(device)
    reply = device.request(MessageType.LINK_TEST, struct.pack("<I", 300))
    assert reply.type == reply_type(MessageType.LINK_TEST) and reply.payload == b""
    data = bytes(range(256)) + b"\x00" * 44  # delimiters too: nothing is decoded while echoing
    device.send_raw(data)
    echoed = b""
    deadline = time.monotonic() + 5
    while len(echoed) < len(data) and time.monotonic() < deadline:
        ready, _, _ = select.select([device.fd], [], [], 0.2)
        if ready:
            echoed += os.read(device.fd, len(data) - len(echoed))
    assert echoed == data
    pong = device.request(MessageType.PING, b"framed")
    assert pong.payload == b"framed"
    error = _error(device.request(MessageType.LINK_TEST, b"\x01"))
    assert error.code == ErrorCode.BAD_PAYLOAD
