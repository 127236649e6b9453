"""Regression tests of issue 8 on the runner firmware (native-runner and qemu-m4-runner):
every request idempotent by the device's reply cache (findings 3 and 6), 64-bit invoke times
with a unit (finding 9), and a model whose INFO would not fit refused at commit without
locking the host out (finding 7)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from tests.device.frame_faults import FrameFaults
from tests.firmware.images import runner_image
from tests.firmware.link import qemu_missing
from tinyrig.device.client import DeviceClient
from tinyrig.device.emulators import EmulatedBoard, launch_native, launch_qemu
from tinyrig.device.errors import DeviceRejectedError
from tinyrig.device.sim import SimDevice
from tinyrig.protocol import ErrorCode, Feature, Frame, MessageType, TimeUnit
from tinyrig.transport import SerialTransport, Transport

DATA = Path(__file__).resolve().parents[1] / "device" / "data"
MANY_IO = DATA / "many_io_float.tflite"
WIDE = DATA / "wide_conv_int8.tflite"


@pytest.fixture(scope="module", params=[
    pytest.param("native-runner", marks=pytest.mark.native),
    pytest.param("qemu-m4-runner", marks=pytest.mark.qemu)])
def board(request: pytest.FixtureRequest) -> Iterator[EmulatedBoard]:
    target = str(request.param)
    if target.startswith("qemu"):
        reason = qemu_missing()
        if reason is not None:
            pytest.skip(reason)
    elf = runner_image(target).elf
    running = launch_native(elf) if target.startswith("native") else launch_qemu(elf)
    yield running
    running.stop()


class DuplicatingTransport:
    """Writes every request twice, as a link that duplicates frames would."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.url = inner.url
        self.bytes_per_second = inner.bytes_per_second
        self.duplicate = False

    def write(self, data: bytes) -> None:
        self.inner.write(data)
        if self.duplicate:
            self.inner.write(data)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        return self.inner.read(max_bytes, timeout)

    def discard_input(self) -> None:
        self.inner.discard_input()

    def close(self) -> None:
        self.inner.close()


def _upload(client: DeviceClient, model: Path) -> None:
    data = model.read_bytes()
    client.upload_model(data, hashlib.sha256(data).digest()[:8])


def test_duplicated_requests_run_once(board: EmulatedBoard) -> None:
    """Every frame arrives twice: the copy is answered from the reply cache (STATS.replays),
    an INVOKE runs once, and the chunked result is still exact (finding 3)."""
    with closing(DuplicatingTransport(SerialTransport(board.uart))) as transport:
        client = DeviceClient(transport)
        client.connect(timeout=15)
        _upload(client, WIDE)
        sample = np.random.default_rng(3).integers(-128, 128, (1, 72, 72, 1), dtype=np.int8)
        want = SimDevice(WIDE).infer([sample]).outputs[0].tobytes()
        before = client.stats()
        transport.duplicate = True
        try:
            client.set_input(0, sample.tobytes())
            client.invoke()
            got = client.get_output(0, len(want))
        finally:
            transport.duplicate = False
        after = client.stats()
    assert got == want
    assert after.invokes - before.invokes == 1, "a duplicated INVOKE ran twice"
    # Every duplicated request (SET_INPUT chunks, INVOKE, GET_OUTPUT chunks, the STATS after)
    # that followed its original directly was answered from the cache.
    assert after.replays - before.replays >= 2


def test_commit_retried_after_a_lost_reply_gets_the_commit_result(board: EmulatedBoard) -> None:
    """The first MODEL_COMMIT reply is lost: the client's retry (same seq) must get the INFO
    of the commit that ran, not BAD_SEQUENCE (finding 6)."""
    commit_reply = MessageType.MODEL_COMMIT | 0x80

    def lose_first_commit_reply(frame: Frame, seen: int) -> str:
        return "lose" if frame.type == commit_reply and seen == 0 else "pass"

    with closing(FrameFaults(SerialTransport(board.uart), lose_first_commit_reply)) as transport:
        client = DeviceClient(transport)
        client.connect(timeout=15)
        replays = client.stats().replays
        _upload(client, WIDE)
        assert transport.counts.lost == 1
        assert client.info.model_status == ErrorCode.OK
        assert client.info.model_id == hashlib.sha256(WIDE.read_bytes()).digest()[:8]
        assert client.stats().replays - replays >= 1
        # A commit that is a new request (new seq), not a retry, is still BAD_SEQUENCE.
        with pytest.raises(DeviceRejectedError) as caught:
            client.request(MessageType.MODEL_COMMIT, reply_bytes=client.max_payload)
        assert caught.value.code == ErrorCode.BAD_SEQUENCE


def test_invoke_time_is_64_bit_and_has_a_unit(board: EmulatedBoard) -> None:
    """An invoke longer than 4.29 s: a u32 of nanoseconds would wrap (finding 9)."""
    with closing(SerialTransport(board.uart)) as transport:
        client = DeviceClient(transport)
        info = client.connect(timeout=15)
        assert Feature.TEST_HOOKS in info.features
        expected_unit = TimeUnit.NS if board.name.startswith("native") else TimeUnit.INSTRUCTIONS
        assert info.tick_unit == expected_unit
        _upload(client, WIDE)
        client.set_invoke_delay(4400)
        try:
            client.set_input(0, bytes(5184))
            timing = client.invoke()
        finally:
            client.set_invoke_delay(0)
        stats = client.stats()
    assert timing.micros >= 4_400_000
    assert timing.ticks >= 4.4 * client.info.tick_hz
    assert abs(timing.ticks * 1e6 / client.info.tick_hz - timing.micros) <= 1
    assert stats.last_invoke_ticks == timing.ticks


def test_model_whose_info_would_not_fit_is_refused_and_the_host_can_reconnect(
        board: EmulatedBoard) -> None:
    """36 rank-4 I/O tensors: INFO would exceed max_payload. COMMIT is refused with a typed
    error naming the tensor count, and HELLO/INFO keep working (finding 7)."""
    with closing(SerialTransport(board.uart)) as transport:
        client = DeviceClient(transport)
        client.connect(timeout=15)
        with pytest.raises(DeviceRejectedError) as caught:
            _upload(client, MANY_IO)
        assert caught.value.code == ErrorCode.MODEL_INVALID
        assert caught.value.arg == 36
        assert "max_payload" in str(caught.value)
        info = client.connect(timeout=15)  # HELLO: the host is not locked out
        assert info.model_status == ErrorCode.NO_MODEL
        assert client.refresh_info().model_status == ErrorCode.NO_MODEL
        _upload(client, WIDE)  # and the device takes the next model
        assert client.info.model_status == ErrorCode.OK
