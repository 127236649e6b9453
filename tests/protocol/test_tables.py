"""One fact, one place: the firmware headers are the source of the protocol's tables; the host's
enums and docs/protocol.md must say exactly the same (message ids and names, which requests
need a session, error codes, INFO feature bits, time units, kernel sets, protocol version)."""

from __future__ import annotations

import enum
import re
from pathlib import Path

from tinyrig.builder.firmware import KERNEL_SETS
from tinyrig.protocol import (
    PROTOCOL_VERSION,
    ErrorCode,
    Feature,
    KernelSet,
    MessageType,
    TimeUnit,
)

REPO = Path(__file__).resolve().parents[2]
MESSAGES_H = (REPO / "firmware" / "src" / "protocol" / "messages.h").read_text()
STATUS_H = (REPO / "firmware" / "src" / "protocol" / "status.h").read_text()
FRAME_H = (REPO / "firmware" / "src" / "protocol" / "frame.h").read_text()
DOC = (REPO / "docs" / "protocol.md").read_text()


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


def _macro_rows(source: str, table: str, row: str) -> list[list[str]]:
    """The X-macro rows ``row(a, b, ...)`` of ``#define table(row)`` in a header."""
    match = re.search(rf"#define {table}\(\w+\)((?:[^\n]*\\\n)*[^\n]*)", source)
    assert match, f"{table} not found"
    return [[part.strip() for part in args.split(",")]
            for args in re.findall(rf"\b{row}\(([^)]*)\)", match.group(1))]


def _firmware_requests() -> dict[str, tuple[int, str]]:
    return {_snake(name): (int(code, 0), session)
            for name, code, session in _macro_rows(MESSAGES_H, "TINYRIG_REQUEST_TABLE", "REQUEST")}


def _firmware_device_frames() -> dict[str, int]:
    return {_snake(name): int(code, 0) for name, code in
            _macro_rows(MESSAGES_H, "TINYRIG_DEVICE_FRAME_TABLE", "DEVICE_FRAME")}


def _pairs(source: str, table: str, row: str) -> dict[str, int]:
    return {name: int(code, 0) for name, code in _macro_rows(source, table, row)}


def _members(enum_type: type[enum.Enum]) -> dict[str, int]:
    return {member.name: int(member.value) for member in enum_type}


def _doc_table(heading_regex: str) -> list[list[str]]:
    """Rows (cells) of the first markdown table after the heading/line matching the regex."""
    start = re.search(heading_regex, DOC, re.M)
    assert start, heading_regex
    rows = []
    for line in DOC[start.end():].splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return [row for row in rows[2:]]  # skip header and separator


def test_message_ids_match_the_firmware() -> None:
    firmware = {name: code for name, (code, _) in _firmware_requests().items()}
    firmware |= _firmware_device_frames()
    assert firmware == _members(MessageType)


def test_message_table_in_the_doc_matches() -> None:
    doc = {row[1]: int(row[0], 16) for row in _doc_table(r"^## 3\. Messages")}
    assert doc == _members(MessageType)


def test_session_rule_in_the_doc_matches() -> None:
    open_requests = sorted(name for name, (_, session) in _firmware_requests().items()
                           if session == "kOpen")
    match = re.search(r"Requests answered without a session: ([A-Z_, ]+)\.", DOC)
    assert match
    assert sorted(name.strip() for name in match.group(1).split(",")) == open_requests


def test_error_codes_match_the_firmware_and_the_doc() -> None:
    firmware = _pairs(STATUS_H, "TINYRIG_STATUS_TABLE", "X")
    assert firmware == _members(ErrorCode)
    doc = {row[1]: int(row[0]) for row in _doc_table(r"^## 4\. Error codes")}
    assert doc == firmware


def test_feature_bits_match_the_firmware_and_the_doc() -> None:
    firmware = {name: 1 << bit for name, bit in
                _pairs(MESSAGES_H, "TINYRIG_FEATURE_TABLE", "FEATURE").items()}
    assert firmware == _members(Feature)
    doc = {row[1]: 1 << int(row[0]) for row in _doc_table(r"^Feature bits:")}
    assert doc == firmware


def test_time_units_match_the_firmware_and_the_doc() -> None:
    firmware = _pairs(MESSAGES_H, "TINYRIG_TIME_UNIT_TABLE", "TIME_UNIT")
    assert firmware == _members(TimeUnit)
    doc = {row[1]: int(row[0]) for row in _doc_table(r"^Time units")}
    assert doc == firmware


def test_kernel_sets_match_the_firmware_the_doc_and_the_builder() -> None:
    firmware = _pairs(MESSAGES_H, "TINYRIG_KERNEL_SET_TABLE", "KERNEL_SET")
    assert firmware == _members(KernelSet)
    doc = {row[1]: int(row[0]) for row in _doc_table(r"^Kernel sets")}
    assert doc == firmware
    # `tinyrig build --kernels` takes exactly the labels INFO reports.
    assert sorted(k.label for k in KernelSet) == sorted(KERNEL_SETS)


def test_protocol_version_matches() -> None:
    match = re.search(r"kProtocolVersion = (\d+);", FRAME_H)
    assert match and int(match.group(1)) == PROTOCOL_VERSION
    assert f"Version **{PROTOCOL_VERSION}**" in DOC
    assert f"| protocol_version | u8 | {PROTOCOL_VERSION} |" in DOC
