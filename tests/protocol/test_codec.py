"""The sans-IO codec: COBS, frames, decoder resynchronisation and payload parsing."""

from __future__ import annotations

import contextlib
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol.cases import INFO
from tinyrig.protocol import (
    CobsError,
    CrcMismatchError,
    DeviceInfo,
    ErrorCode,
    ErrorReply,
    Frame,
    FrameDecoder,
    HelloReply,
    LengthMismatchError,
    OversizedFrameError,
    PayloadError,
    ProfileReply,
    ShortFrameError,
    crc32,
    encode_frame,
    parse_frame,
    wire_size,
)
from tinyrig.protocol.cobs import cobs_decode, cobs_encode, cobs_max_encoded_size


@given(st.binary(max_size=2000))
def test_cobs_round_trip_has_no_zero_bytes(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert len(encoded) <= cobs_max_encoded_size(len(data))
    assert cobs_decode(encoded) == data


@pytest.mark.parametrize("size", [0, 1, 253, 254, 255, 508, 509, 1000])
def test_cobs_block_boundaries(size: int) -> None:
    for fill in (b"\x01", b"\x00"):
        data = fill * size
        assert cobs_decode(cobs_encode(data)) == data


def test_cobs_rejects_code_past_end() -> None:
    with pytest.raises(CobsError, match="points past the end"):
        cobs_decode(bytes([5, 1, 2]))


def test_crc_is_zlib_crc32() -> None:
    assert crc32(b"123456789") == 0xCBF43926 == zlib.crc32(b"123456789")


@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=600))
def test_frame_round_trip(mtype: int, seq: int, payload: bytes) -> None:
    frame = Frame(mtype, seq, payload)
    wire = encode_frame(frame)
    assert wire.endswith(b"\x00") and 0 not in wire[:-1]
    assert len(wire) <= wire_size(len(payload))
    assert FrameDecoder().feed(wire) == [frame]


@given(st.lists(st.binary(max_size=300), max_size=6), st.data())
def test_decoder_handles_any_split(payloads: list[bytes], data: st.DataObject) -> None:
    frames = [Frame(0x81, i + 1, p) for i, p in enumerate(payloads)]
    wire = b"".join(encode_frame(f) for f in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    decoder = FrameDecoder()
    got: list[object] = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        got += decoder.feed(wire[start:end])
    assert got == frames


@given(st.binary(max_size=400))
def test_decoder_never_raises_on_garbage(garbage: bytes) -> None:
    decoder = FrameDecoder(max_payload=256)
    results = decoder.feed(garbage + b"\x00")
    for item in results:
        assert isinstance(item, Frame | CobsError | ShortFrameError | CrcMismatchError
                          | LengthMismatchError | OversizedFrameError)
    # After garbage and a delimiter, the next good frame decodes.
    good = Frame(0x82, 7, b"ok")
    assert decoder.feed(encode_frame(good)) == [good]


def test_flipped_bit_is_a_crc_error_and_the_next_frame_survives() -> None:
    wire = bytearray(encode_frame(Frame(0x81, 1, b"hello world")))
    wire[5] ^= 0x10
    good = Frame(0x81, 2, b"next")
    results = FrameDecoder().feed(bytes(wire) + encode_frame(good))
    assert isinstance(results[0], CrcMismatchError | CobsError)
    assert results[1] == good


def test_oversized_frame_is_dropped_once_then_resyncs() -> None:
    decoder = FrameDecoder(max_payload=16)
    big = encode_frame(Frame(0x03, 1, bytes(range(1, 200))))
    results = decoder.feed(big + encode_frame(Frame(0x03, 2, b"x")))
    assert isinstance(results[0], OversizedFrameError)
    assert results[1] == Frame(0x03, 2, b"x")
    assert decoder.frames_bad == 1


def test_length_field_must_match() -> None:
    raw = bytearray(Frame(0x01, 1, b"abcd").pack())
    raw[4] = 3  # declare 3 payload bytes instead of 4
    raw[-4:] = crc32(bytes(raw[:-4])).to_bytes(4, "little")
    with pytest.raises(LengthMismatchError):
        parse_frame(bytes(raw))


def test_short_frame() -> None:
    with pytest.raises(ShortFrameError):
        parse_frame(b"\x01\x02\x03")


def test_info_round_trip_and_truncation() -> None:
    payload = HelloReply(42, INFO).encode()
    assert HelloReply.decode(payload) == HelloReply(42, INFO)
    for cut in range(len(payload)):
        with pytest.raises(PayloadError):
            HelloReply.decode(payload[:cut])
    with pytest.raises(PayloadError, match="trailing"):
        DeviceInfo.decode(INFO.encode() + b"\x00")


def test_error_reply_keeps_unknown_codes() -> None:
    reply = ErrorReply.decode(ErrorReply(999, 0x11, 0, "").encode())
    assert reply.code == 999
    assert ErrorReply.decode(ErrorReply(ErrorCode.NO_MODEL, 0x11, 0, "x").encode()).code \
        is ErrorCode.NO_MODEL


def test_profile_reply_rejects_truncation() -> None:
    payload = bytes([1, 0, 1, 0, 5, 0, 0, 0, 10]) + b"CONV"
    with pytest.raises(PayloadError):
        ProfileReply.decode(payload)


@given(st.binary(max_size=300))
def test_payload_decoders_only_raise_payload_errors(data: bytes) -> None:
    for decode in (DeviceInfo.decode, HelloReply.decode, ErrorReply.decode, ProfileReply.decode):
        with contextlib.suppress(PayloadError):
            decode(data)
