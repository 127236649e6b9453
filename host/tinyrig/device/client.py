"""The host side of a protocol session over any Transport.

:class:`DeviceClient` owns sequencing, retries, timeouts and resynchronisation; every method
maps to a request in docs/protocol.md and returns a typed value or raises a DeviceError.

Retries are safe by construction (docs/protocol.md §2): a retry resends the very same frame,
same seq, and the device answers a repeat of the request it last handled from its reply cache
instead of running it again. So a retried INVOKE never computes on an input TFLM has since
overwritten, and a retried MODEL_COMMIT answers the commit's own result.
"""

from __future__ import annotations

import secrets
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tinyrig.device.errors import (
    DeviceRejectedError,
    DeviceResetError,
    DeviceTimeoutError,
)
from tinyrig.protocol import (
    BASELINE_MAX_PAYLOAD,
    PROTOCOL_VERSION,
    DeviceInfo,
    DeviceStats,
    ErrorCode,
    ErrorReply,
    Frame,
    FrameDecoder,
    FrameError,
    GetOutput,
    Hello,
    HelloReply,
    InferReply,
    InvokeTiming,
    Log,
    MessageType,
    ModelBegin,
    ModelChunk,
    ProfileEntry,
    ProfileReply,
    ProtocolError,
    SetInput,
    VersionMismatchError,
    encode_frame,
    reply_type,
    wire_size,
)
from tinyrig.transport import Transport

# Conservative rate for links without a nominal one (ptys, sockets): QEMU's UART moves about
# 30 us per byte, so this overestimates wire time on every emulator we run.
FALLBACK_BYTES_PER_SECOND = 20_000.0
# Round trip floor: scheduling, USB-serial latency timers (16 ms on FTDI), emulator wake-up.
LATENCY_FLOOR_SECONDS = 0.5
FIRST_INVOKE_SECONDS = 60.0
ATTEMPTS = 3


@dataclass(frozen=True)
class LinkCounters:
    """Host-side view of link health for this session."""

    frames_sent: int
    frames_received: int
    bad_frames: int
    retries: int


class DeviceClient:
    """One protocol session. Call :meth:`connect` first."""

    def __init__(self, transport: Transport, *, window: int = 4,
                 on_log: Callable[[Log], None] | None = None) -> None:
        self.transport = transport
        self.window = max(1, window)
        self.on_log = on_log
        self._decoder = FrameDecoder()
        self._inbox: deque[Frame] = deque()
        self._seq = 0
        self._nonce = 0
        self._info: DeviceInfo | None = None
        self._last_invoke_seconds: float | None = None
        self._sent = 0
        self._retries = 0
        # the state rule of the session (docs/protocol.md §3.5): HELLO starts it stateless
        self.keep_state = False

    # -- session -------------------------------------------------------------------------

    @property
    def info(self) -> DeviceInfo:
        if self._info is None:
            raise RuntimeError("DeviceClient.connect() was not called")
        return self._info

    @property
    def max_payload(self) -> int:
        return self._info.max_payload if self._info else BASELINE_MAX_PAYLOAD

    def counters(self) -> LinkCounters:
        return LinkCounters(self._sent, self._decoder.frames_ok, self._decoder.frames_bad,
                            self._retries)

    def connect(self, timeout: float = 10.0) -> DeviceInfo:
        """Open a session (HELLO), retrying until the device answers or ``timeout`` passes.

        A board may still be booting (QEMU takes ~0.5 s), so early silence is expected.
        """
        deadline = time.monotonic() + timeout
        attempt_timeout = 0.25
        attempts = 0
        self.transport.write(b"\x00")  # flush any half-received frame on the device
        while True:
            attempts += 1
            self._nonce = secrets.randbits(32)
            seq = self._send(MessageType.HELLO, Hello(self._nonce).encode())
            wait_until = min(deadline, time.monotonic() + attempt_timeout)
            frame = self._await_reply(seq, MessageType.HELLO, wait_until, session=False)
            if frame is not None:
                reply = HelloReply.decode(frame.payload)
                if reply.nonce == self._nonce:
                    if reply.info.protocol_version != PROTOCOL_VERSION:
                        raise VersionMismatchError(PROTOCOL_VERSION, reply.info.protocol_version)
                    self._info = reply.info
                    self.keep_state = False
                    return reply.info
            if time.monotonic() >= deadline:
                raise DeviceTimeoutError("HELLO", attempt_timeout, attempts,
                                         url=self.transport.url)
            attempt_timeout = min(attempt_timeout * 2, 2.0)

    def refresh_info(self) -> DeviceInfo:
        self._info = DeviceInfo.decode(self.request(MessageType.INFO))
        return self._info

    # -- requests ------------------------------------------------------------------------

    def ping(self, data: bytes = b"") -> bytes:
        return self.request(MessageType.PING, data, reply_bytes=len(data))

    def link_test(self, data: bytes) -> tuple[bytes, float]:
        """Raw echo of ``data`` (LINK_TEST, docs/protocol.md §3.3): returns the echoed bytes
        and the seconds from the first byte sent to the last byte received.

        A writer thread streams while this thread reads, so the link is kept full in both
        directions: the result is the link's capacity, the yardstick for protocol benchmarks.
        """
        self.request(MessageType.LINK_TEST, struct.pack("<I", len(data)), attempts=1)
        failure: list[BaseException] = []

        def write_all() -> None:
            try:
                for offset in range(0, len(data), 1024):
                    self.transport.write(data[offset:offset + 1024])
            except BaseException as exc:  # reported by the reading thread
                failure.append(exc)

        writer = threading.Thread(target=write_all, name="link-test-writer", daemon=True)
        echoed = bytearray()
        idle_timeout = self._timeout(1024, 1024)
        started = time.monotonic()
        writer.start()
        try:
            while len(echoed) < len(data):
                chunk = self.transport.read(len(data) - len(echoed), idle_timeout)
                if failure:
                    raise failure[0]
                if not chunk:
                    raise DeviceTimeoutError("LINK_TEST echo", idle_timeout, 1,
                                             url=self.transport.url)
                echoed += chunk
        finally:
            writer.join(timeout=idle_timeout)
        return bytes(echoed), time.monotonic() - started

    def stats(self) -> DeviceStats:
        return DeviceStats.decode(self.request(MessageType.STATS, reply_bytes=DeviceStats.SIZE))

    def profile(self) -> list[ProfileEntry]:
        entries: list[ProfileEntry] = []
        while True:
            reply = ProfileReply.decode(
                self.request(MessageType.PROFILE, struct.pack("<H", len(entries)),
                             reply_bytes=self.max_payload))
            entries.extend(reply.entries)
            if len(entries) >= reply.total or not reply.entries:
                return entries

    def reset(self) -> None:
        """Ask the device to reboot; the session ends (a later request must reconnect)."""
        self.request(MessageType.RESET, attempts=1)
        self._info = None

    def invoke(self) -> InvokeTiming:
        timing = InvokeTiming.decode(
            self.request(MessageType.INVOKE, reply_bytes=InvokeTiming.SIZE,
                         device_seconds=self._invoke_budget()))
        self._note_invoke(timing)
        return timing

    def set_input(self, tensor: int, data: bytes) -> None:
        chunk = self.max_payload - 5
        self.pipeline([(MessageType.SET_INPUT,
                        SetInput(tensor, offset, data[offset:offset + chunk]).encode(), 0)
                       for offset in range(0, len(data), chunk)])

    def get_output(self, tensor: int, length: int) -> bytes:
        chunk = self.max_payload
        replies = self.pipeline([
            (MessageType.GET_OUTPUT, GetOutput(tensor, offset, size).encode(), size)
            for offset in range(0, length, chunk)
            for size in [min(chunk, length - offset)]])
        data = b"".join(replies)
        if len(data) != length:
            raise ProtocolError(f"GET_OUTPUT returned {len(data)} bytes, expected {length}")
        return data

    def infer(self, inputs: Sequence[bytes]) -> tuple[InvokeTiming, list[bytes]]:
        """Run one inference: INFER in one round trip when it fits, else the chunked path."""
        info = self.info
        out_sizes = [spec.nbytes for spec in info.outputs]
        request = b"".join(inputs)
        timing_bytes = InvokeTiming.SIZE
        if len(request) <= self.max_payload and sum(out_sizes) + timing_bytes <= self.max_payload:
            reply = InferReply.decode(self.request(
                MessageType.INFER, request, reply_bytes=sum(out_sizes) + timing_bytes,
                device_seconds=self._invoke_budget()))
            if len(reply.outputs) != sum(out_sizes):
                raise ProtocolError(f"INFER returned {len(reply.outputs)} output bytes, "
                                    f"expected {sum(out_sizes)}")
            self._note_invoke(reply.timing)
            outputs, offset = [], 0
            for size in out_sizes:
                outputs.append(reply.outputs[offset:offset + size])
                offset += size
            return reply.timing, outputs
        for index, data in enumerate(inputs):
            self.set_input(index, data)
        timing = self.invoke()
        return timing, [self.get_output(i, size) for i, size in enumerate(out_sizes)]

    def upload_model(self, model: bytes, model_id: bytes,
                     progress: Callable[[int, int], None] | None = None) -> DeviceInfo:
        """Send a model to the device's RAM slot (MODEL_BEGIN, windowed MODEL_CHUNKs,
        MODEL_COMMIT); the device verifies CRC and flatbuffer, then re-initialises."""
        begin = ModelBegin(len(model), zlib.crc32(model) & 0xFFFFFFFF, model_id[:8])
        # A flash slot erases the pages the model needs first (nRF51: ~22 ms per 1 KiB page,
        # the CPU stalled meanwhile): budget 25 us per byte before retrying.
        self.request(MessageType.MODEL_BEGIN, begin.encode(), reply_bytes=4,
                     device_seconds=len(model) * 25e-6)
        chunk = self.max_payload - 4
        offsets = list(range(0, len(model), chunk))
        batch = max(1, self.window * 4)
        for first in range(0, len(offsets), batch):
            part = offsets[first:first + batch]
            self.pipeline([(MessageType.MODEL_CHUNK,
                            ModelChunk(offset, model[offset:offset + chunk]).encode(), 4)
                           for offset in part])
            if progress is not None:
                progress(min(part[-1] + chunk, len(model)), len(model))
        # Verification walks the whole flatbuffer: budget ~1 us per byte on a slow core.
        self._info = DeviceInfo.decode(self.request(
            MessageType.MODEL_COMMIT, reply_bytes=self.max_payload,
            device_seconds=2.0 + len(model) * 1e-6))
        self._last_invoke_seconds = None
        return self._info

    def set_state(self, keep: bool) -> None:
        """STATE: reset the model's variable tensors before every invoke (``keep`` False, the
        default after HELLO) or keep them across invokes; either way they are reset now."""
        self.request(MessageType.STATE, bytes([1 if keep else 0]))
        self.keep_state = keep

    def set_arena_limit(self, arena_bytes: int) -> DeviceInfo:
        """Reload the active model using only ``arena_bytes`` of the device's arena (0: all);
        the returned INFO's model_status says whether it fit (ARENA_LIMIT)."""
        self._info = DeviceInfo.decode(self.request(
            MessageType.ARENA_LIMIT, struct.pack("<I", arena_bytes),
            reply_bytes=self.max_payload, device_seconds=2.0))
        self._last_invoke_seconds = None
        return self._info

    def set_invoke_delay(self, milliseconds: int) -> None:
        """Make every later invoke on the device ``milliseconds`` slower (INVOKE_DELAY): a test
        hook of emulated runner firmware (INFO feature TEST_HOOKS) for rehearsing slow models;
        other firmware answers UNSUPPORTED."""
        self.request(MessageType.INVOKE_DELAY, struct.pack("<I", milliseconds))
        self._last_invoke_seconds = None

    # -- machinery -----------------------------------------------------------------------

    def request(self, mtype: MessageType, payload: bytes = b"", *, reply_bytes: int = 0,
                device_seconds: float = 0.0, attempts: int = ATTEMPTS) -> bytes:
        """Send one request and return the reply payload, retrying after a timeout.

        A retry resends the same frame (same seq): the device answers a repeat of its last
        request from its reply cache, so no request runs twice (docs/protocol.md §2).
        When the device time is unknown (the first invoke of a model), ``device_seconds`` is
        the ceiling and the attempts escalate towards it (2 s, 8 s, 32 s, ...), so a lost
        frame costs seconds, not the ceiling, while a long first invoke still completes.
        """
        seq: int | None = None
        escalate = device_seconds >= FIRST_INVOKE_SECONDS
        if escalate:
            attempts += 1
        for attempt in range(attempts):
            budget = min(device_seconds, 2.0 * 4**attempt) if escalate else device_seconds
            timeout = self._timeout(len(payload), reply_bytes, budget)
            if attempt:
                self._retries += 1
            seq = self._send(mtype, payload, seq)
            frame = self._await_reply(seq, mtype, time.monotonic() + timeout,
                                      sent_bytes=len(payload))
            if frame is not None:
                return frame.payload
        raise DeviceTimeoutError(mtype.name, timeout, attempts, url=self.transport.url)

    def _merged_on_the_wire(self, frame: Frame, sent_bytes: int) -> bool:
        """FRAME_TOO_LARGE although the request was within max_payload: the device received
        it merged with the next frame (a delimiter was lost on the wire), so it never ran it.
        This client never asks for a reply over max_payload either (it chunks, and uses INFER
        only when inputs and outputs fit), so this is a lost request, to be resent with its
        seq, not an answer (docs/protocol.md §1)."""
        if frame.type != MessageType.ERROR or sent_bytes > self.max_payload:
            return False
        try:
            error = ErrorReply.decode(frame.payload)
        except ProtocolError:
            return False
        return error.code == ErrorCode.FRAME_TOO_LARGE

    def pipeline(self, requests: Sequence[tuple[MessageType, bytes, int]]) -> list[bytes]:
        """Send requests with up to ``window`` in flight; replies in request order.

        Each item is (type, payload, expected reply bytes). Only for requests that may run
        again harmlessly (SET_INPUT, GET_OUTPUT, MODEL_CHUNK, PING): the device's reply cache
        holds one reply, so a retry of a request that is no longer the last one it received
        runs again. A request whose reply is late is resent (same seq) while the others stay
        in flight, up to ATTEMPTS times.
        """
        results: list[bytes | None] = [None] * len(requests)
        in_flight: dict[int, tuple[int, float, int]] = {}  # seq -> (index, deadline, attempts)
        next_index = 0

        def budget(index: int) -> float:
            _, payload, reply_bytes = requests[index]
            # Requests queue behind each other on the wire: budget for the whole window.
            return self._timeout(len(payload), reply_bytes) * self.window

        while next_index < len(requests) or in_flight:
            while next_index < len(requests) and len(in_flight) < self.window:
                mtype, payload, _ = requests[next_index]
                seq = self._send(mtype, payload)
                in_flight[seq] = (next_index, time.monotonic() + budget(next_index), 1)
                next_index += 1
            oldest_seq = min(in_flight, key=lambda s: in_flight[s][1])
            index, deadline, attempts = in_flight[oldest_seq]
            frame = self._await_any(set(in_flight), requests, in_flight, deadline)
            if frame is not None and self._merged_on_the_wire(
                    frame, len(requests[in_flight[frame.seq][0]][1])):
                oldest_seq = frame.seq  # never ran: resend it now
                index, _, attempts = in_flight[oldest_seq]
                frame = None
            if frame is None:
                mtype, payload, _ = requests[index]
                if attempts >= ATTEMPTS:
                    raise DeviceTimeoutError(mtype.name, budget(index), attempts,
                                             url=self.transport.url)
                self._retries += 1
                self._send(mtype, payload, oldest_seq)
                in_flight[oldest_seq] = (index, time.monotonic() + budget(index), attempts + 1)
                continue
            done_index = in_flight.pop(frame.seq)[0]
            results[done_index] = frame.payload
        return [r if r is not None else b"" for r in results]

    def _await_any(self, seqs: set[int], requests: Sequence[tuple[MessageType, bytes, int]],
                   in_flight: dict[int, tuple[int, float, int]], deadline: float
                   ) -> Frame | None:
        while True:
            frame = self._next_frame(deadline)
            if frame is None:
                return None
            if self._handle_unsolicited(frame, "a transfer"):
                continue
            if frame.seq in seqs:
                index = in_flight[frame.seq][0]
                if not self._merged_on_the_wire(frame, len(requests[index][1])):
                    self._check_reply(frame, requests[index][0])
                return frame

    def _await_reply(self, seq: int, mtype: MessageType, deadline: float, *,
                     session: bool = True, sent_bytes: int = 0) -> Frame | None:
        while True:
            frame = self._next_frame(deadline)
            if frame is None:
                return None
            if session and self._handle_unsolicited(frame, mtype.name):
                continue
            if frame.type in (MessageType.BOOT, MessageType.LOG):
                continue
            if frame.seq != seq:
                continue  # a stale or duplicated reply to an earlier request
            if self._merged_on_the_wire(frame, sent_bytes):
                return None  # the request was lost on the way in: retry it
            self._check_reply(frame, mtype)
            return frame

    def _check_reply(self, frame: Frame, mtype: MessageType) -> None:
        if frame.type == MessageType.ERROR:
            error = ErrorReply.decode(frame.payload)
            if error.code == ErrorCode.NO_SESSION:
                raise DeviceResetError(self.transport.url, mtype.name)
            if error.code == ErrorCode.BAD_VERSION:
                raise VersionMismatchError(PROTOCOL_VERSION, error.arg)
            raise DeviceRejectedError(error.code, mtype, error.arg, error.detail,
                                      url=self.transport.url)
        if frame.type != reply_type(mtype):
            raise ProtocolError(f"reply of type {frame.type:#04x} to {mtype.name}")

    def _handle_unsolicited(self, frame: Frame, during: str) -> bool:
        if frame.type == MessageType.BOOT and frame.seq == 0:
            raise DeviceResetError(self.transport.url, during)
        if frame.type == MessageType.LOG and frame.seq == 0:
            if self.on_log is not None:
                self.on_log(Log.decode(frame.payload))
            return True
        return False

    def _next_frame(self, deadline: float) -> Frame | None:
        while not self._inbox:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            data = self.transport.read(65536, remaining)
            for item in self._decoder.feed(data):
                if not isinstance(item, FrameError):
                    self._inbox.append(item)
        return self._inbox.popleft()

    def _send(self, mtype: MessageType, payload: bytes, seq: int | None = None) -> int:
        """Send a request with a new seq, or resend it with its own ``seq`` (a retry)."""
        if seq is None:
            self._seq = self._seq % 0xFFFF + 1  # 1..65535: seq 0 is for unsolicited frames
            seq = self._seq
        self.transport.write(encode_frame(Frame(int(mtype), seq, payload)))
        self._sent += 1
        return seq

    def _timeout(self, request_bytes: int, reply_bytes: int, device_seconds: float = 0.0
                 ) -> float:
        rate = self.transport.bytes_per_second or FALLBACK_BYTES_PER_SECOND
        wire = (wire_size(request_bytes) + wire_size(reply_bytes)) / rate
        return 2 * wire + LATENCY_FLOOR_SECONDS + device_seconds

    def _invoke_budget(self) -> float:
        if self._last_invoke_seconds is None:
            return FIRST_INVOKE_SECONDS
        # The latency floor already covers scheduling jitter; this covers a slower invoke.
        return 4 * self._last_invoke_seconds + 0.2

    def _note_invoke(self, timing: InvokeTiming) -> None:
        self._last_invoke_seconds = timing.micros / 1e6
