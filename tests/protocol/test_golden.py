"""The wire format is locked: these bytes must never change without a protocol version bump."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.protocol.cases import golden_frames
from tinyrig.protocol import FrameDecoder, encode_frame

GOLDEN = json.loads((Path(__file__).parent / "golden" / "frames.json").read_text())


@pytest.mark.parametrize("name", sorted(golden_frames()))
def test_encoding_matches_golden_bytes(name: str) -> None:
    assert encode_frame(golden_frames()[name]).hex() == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(golden_frames()))
def test_golden_bytes_decode_to_the_message(name: str) -> None:
    assert FrameDecoder().feed(bytes.fromhex(GOLDEN[name])) == [golden_frames()[name]]


def test_every_golden_case_is_checked() -> None:
    assert set(GOLDEN) == set(golden_frames())


def test_hello_layout_matches_docs() -> None:
    # docs/protocol.md §5: header 03 01 0100 0400, nonce 78563412, then CRC, COBS, 00.
    frame = golden_frames()["hello"].pack()
    assert frame[:10].hex() == "03010100040078563412"
    assert GOLDEN["hello"].endswith("00")
