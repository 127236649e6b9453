"""Seed corpora for the fuzzers (deterministic: fixed RNG seeds).

    python make_seeds.py MODEL_DIR PROTOCOL_DIR SEED_HEADER MODEL...

- MODEL_DIR: every model given, plus mutated flatbuffers of the small ones (truncations, byte
  flips, int32 fields set to edge values: the indices and sizes the verifier must catch).
- PROTOCOL_DIR: record-mode sessions for protocol_fuzzer (see its header comment): every
  request type, a full MODEL_BEGIN/CHUNK/COMMIT upload of the first model, and an upload of
  every model under 12 KiB followed by ARENA_LIMIT at sizes around its minimum.
- SEED_HEADER: the first model as a C++ array (protocol_fuzzer's boot model).
"""

from __future__ import annotations

import random
import struct
import sys
import zlib
from pathlib import Path

EDGE_INT32 = (0, 1, 2, 3, -1, -2, 255, 256, 0x7FFF, 0xFFFF, 0x7FFFFFFF, -0x80000000, 1000)
SMALL_MODEL = 64 * 1024
# Uploads that fit protocol_fuzzer's 16 KiB -max_len with the records around them.
ARENA_SEED_MODEL = 12 * 1024
ARENA_SEED_LIMITS = (300, 900, 1800, 4000, 12000, 0)


def mutations(data: bytes, rng: random.Random) -> list[bytes]:
    out = [data[:n] for n in (8, 16, 64, len(data) // 3, len(data) // 2, len(data) - 4)]
    for _ in range(24):
        flipped = bytearray(data)
        flipped[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        out.append(bytes(flipped))
    for _ in range(48):
        edited = bytearray(data)
        position = rng.randrange(0, len(data) - 4) & ~3
        struct.pack_into("<i", edited, position, rng.choice(EDGE_INT32))
        out.append(bytes(edited))
    return out


def record(message: int, payload: bytes) -> bytes:
    return struct.pack("<BH", message, len(payload)) + payload


def upload_records(model: bytes) -> list[bytes]:
    """MODEL_BEGIN, CHUNKs of 1000 bytes, MODEL_COMMIT."""
    upload = [record(0x20, struct.pack("<II8s", len(model), zlib.crc32(model), b"seedmodl"))]
    upload += [record(0x21, struct.pack("<I", offset) + model[offset:offset + 1000])
               for offset in range(0, len(model), 1000)]
    return [*upload, record(0x22, b"")]


def arena_limit_records(limits: tuple[int, ...]) -> list[bytes]:
    """ARENA_LIMIT(n), INFO and INVOKE for each n."""
    return [part for limit in limits
            for part in (record(0x23, struct.pack("<I", limit)), record(0x02, b""),
                         record(0x11, b""))]


def protocol_seeds(model: bytes) -> dict[str, bytes]:
    upload = [*upload_records(model), record(0x13, b"\x05"), record(0x02, b"")]
    seeds = {
        "requests": [record(0x02, b""), record(0x03, b"abc"), record(0x15, b""),
                     record(0x10, b"\x00\x00\x00\x00\x00\x07"), record(0x11, b""),
                     record(0x12, b"\x00" + struct.pack("<II", 0, 1)), record(0x13, b"\x09"),
                     record(0x14, b"\x00\x00"), record(0x24, b"\x00\x00\x00\x00"),
                     record(0x16, b"")],
        "upload": upload,
        "bad_sequence": [record(0x21, b"\x00\x00\x00\x00abcd"), record(0x22, b""),
                         record(0x20, struct.pack("<II8s", 1 << 30, 0, bytes(8)))],
        "link_test": [record(0x04, struct.pack("<I", 8)), b"rawbytes", record(0x03, b"x")],
        # ARENA_LIMIT (0x23, emulated runners: TINYRIG_ARENA_PROBE): below TFLM's own objects,
        # just above, the whole arena; each followed by INFO and INVOKE.
        "arena_limit": arena_limit_records((100, 2000, 6000, 20000, 0)),
    }
    out = {name: b"\x01" + b"".join(parts) for name, parts in seeds.items()}
    # Mode byte 0x03: every record delivered twice, replies compared (the retry oracle).
    out |= {f"{name}_twice": b"\x03" + b"".join(parts) for name, parts in seeds.items()
            if name in ("requests", "upload")}
    out["raw"] = b"\x00" + b"\x00\x05\x01\x03\x01\x00\x00\x00"  # wire bytes (bad CRC)
    return out


def main() -> None:
    model_dir, protocol_dir, header = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    models = [Path(p) for p in sys.argv[4:] if Path(p).is_file()]
    model_dir.mkdir(parents=True, exist_ok=True)
    protocol_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261127)
    for path in models:
        data = path.read_bytes()
        (model_dir / path.name).write_bytes(data)
        if len(data) <= SMALL_MODEL:
            for i, mutated in enumerate(mutations(data, rng)):
                (model_dir / f"{path.stem}-mut{i:03d}").write_bytes(mutated)
    first = models[0].read_bytes()
    for name, data in protocol_seeds(first).items():
        (protocol_dir / name).write_bytes(data)
    # Every small model uploaded, then ARENA_LIMIT from below TFLM's objects to the whole arena:
    # the fuzzer mutates the limits around each model's own minimum.
    for path in models:
        data = path.read_bytes()
        if len(data) <= ARENA_SEED_MODEL:
            records = upload_records(data) + arena_limit_records(ARENA_SEED_LIMITS)
            (protocol_dir / f"arena_limit_{path.stem}").write_bytes(b"\x01" + b"".join(records))
    body = ",".join(str(b) for b in first)
    header.parent.mkdir(parents=True, exist_ok=True)
    header.write_text(f"// Generated by make_seeds.py from {models[0].name}.\n#pragma once\n"
                      f"#include <cstdint>\nalignas(16) static const uint8_t kSeedModel[] = "
                      f"{{{body}}};\n")


if __name__ == "__main__":
    main()
