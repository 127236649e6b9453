"""Inputs for protocol_fuzzer that load each model in every arena size from 0 to MAX bytes.

    python arena_sweep.py OUT_DIR MAX MODEL...

One record-mode input per model (see protocol_fuzzer.cc): the model uploaded
(MODEL_BEGIN/CHUNK/COMMIT), then ARENA_LIMIT(n) and INVOKE for n = 0, 1, ..., MAX. Replayed by
the sanitized protocol_fuzzer (`make -C firmware/fuzz arena-sweep`), every size must end in
ARENA_TOO_SMALL or a model that runs: never a sanitizer report, a null or an overlapping block
inside TFLM (runner/arena_guard.h).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from make_seeds import record, upload_records

ARENA_LIMIT = 0x23
INVOKE = 0x11


def sweep_input(model: bytes, largest: int) -> bytes:
    records = upload_records(model)
    for limit in range(largest + 1):
        records += [record(ARENA_LIMIT, struct.pack("<I", limit)), record(INVOKE, b"")]
    return b"\x01" + b"".join(records)


def main() -> None:
    out, largest = Path(sys.argv[1]), int(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for path in (Path(p) for p in sys.argv[3:]):
        (out / path.stem).write_bytes(sweep_input(path.read_bytes(), largest))


if __name__ == "__main__":
    main()
