"""Add or replace one metadata entry of a ``.tflite`` model without touching its bytes.

Flatbuffer offsets only point forward, so a new entry cannot be appended after the buffers it
must list. Instead a small prefix is put *in front of* the original flatbuffer: a new root
``Model`` table (a copy of the old one's fields), a new ``buffers`` vector (the old Buffer
tables plus one new one), a new ``metadata`` vector and the new Buffer's data. Every offset
inside the original bytes is relative, so the whole original block, shifted by a multiple of
16 bytes, stays valid and its buffers keep their 16-byte alignment; the old root table is left
unreferenced. Models with external buffers (``Buffer.offset``: absolute file positions) are
refused.

Field slots follow ``tensorflow/lite/schema/schema.fbs``: Model = version, operator_codes,
subgraphs, description, buffers, metadata_buffer, metadata, signature_defs; Buffer = data,
offset, size; Metadata = name, buffer.
"""

from __future__ import annotations

import struct
from typing import Final

from tinyrig.model.errors import ModelFormatError
from tinyrig.model.flatbuffer import FILE_IDENTIFIER, parse_model

__all__ = ["read_metadata", "set_metadata"]

_MODEL_FIELDS: Final = 8  # version .. signature_defs
_MODEL_VERSION: Final = 0
_MODEL_BUFFERS: Final = 4
_MODEL_METADATA: Final = 6
_BUFFER_DATA: Final = 0
_BUFFER_OFFSET: Final = 1
_METADATA_NAME: Final = 0
_METADATA_BUFFER: Final = 1
_ALIGN: Final = 16


def _u16(data: bytes, pos: int) -> int:
    return int(struct.unpack_from("<H", data, pos)[0])


def _u32(data: bytes, pos: int) -> int:
    return int(struct.unpack_from("<I", data, pos)[0])


def _i32(data: bytes, pos: int) -> int:
    return int(struct.unpack_from("<i", data, pos)[0])


class _Table:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos
        self.vtable = pos - _i32(data, pos)
        self.vsize = _u16(data, self.vtable)

    def slot(self, field: int) -> int:
        """Position of the field in the buffer (0 when absent)."""
        at = 4 + 2 * field
        if at >= self.vsize:
            return 0
        off = _u16(self.data, self.vtable + at)
        return self.pos + off if off else 0

    def target(self, field: int) -> int:
        """Where an offset field points (0 when absent)."""
        at = self.slot(field)
        return at + _u32(self.data, at) if at else 0

    def vector(self, field: int) -> list[int]:
        """Positions of the tables a vector-of-tables field points to."""
        vec = self.target(field)
        if not vec:
            return []
        n = _u32(self.data, vec)
        return [vec + 4 + 4 * i + _u32(self.data, vec + 4 + 4 * i) for i in range(n)]

    def string(self, field: int) -> str:
        s = self.target(field)
        if not s:
            return ""
        n = _u32(self.data, s)
        return self.data[s + 4:s + 4 + n].decode("utf-8", "replace")


def _root(data: bytes) -> _Table:
    parse_model(data)  # bounds-checked parse first: a malformed model fails here, cleanly
    return _Table(data, _u32(data, 0))


def read_metadata(data: bytes, name: str) -> bytes | None:
    """The bytes of the buffer of metadata entry ``name`` (None when the model has none)."""
    model = _root(data)
    buffers = model.vector(_MODEL_BUFFERS)
    for entry_pos in model.vector(_MODEL_METADATA):
        entry = _Table(data, entry_pos)
        if entry.string(_METADATA_NAME) != name:
            continue
        at = entry.slot(_METADATA_BUFFER)
        index = _u32(data, at) if at else 0
        if index >= len(buffers):
            raise ModelFormatError(f"metadata '{name}' names buffer {index} of {len(buffers)}")
        vec = _Table(data, buffers[index]).target(_BUFFER_DATA)
        return b"" if not vec else bytes(data[vec + 4:vec + 4 + _u32(data, vec)])
    return None


class _Writer:
    """Builds the prefix front to back; offsets are fixed up once positions are known."""

    def __init__(self) -> None:
        self.out = bytearray()

    def pad(self, align: int, residue: int = 0) -> None:
        while len(self.out) % align != residue % align:
            self.out.append(0)

    def u16(self, value: int) -> None:
        self.out += struct.pack("<H", value)

    def u32(self, value: int) -> int:
        at = len(self.out)
        self.out += struct.pack("<I", value)
        return at

    def patch_offset(self, at: int, target: int) -> None:
        assert target > at, "flatbuffer offsets point forward"
        struct.pack_into("<I", self.out, at, target - at)

    def table(self, fields: list[int | None]) -> tuple[int, list[int | None]]:
        """Write a vtable and a table of 4-byte fields (None: absent); returns the table's
        position and the positions of its present fields (to patch)."""
        self.pad(2)
        vtable = len(self.out)
        present = [f is not None for f in fields]
        n = len(fields)
        self.u16(4 + 2 * n)
        self.u16(4 + 4 * sum(present))
        slot = 4
        for p in present:
            self.u16(slot if p else 0)
            slot += 4 if p else 0
        self.pad(4)
        table = len(self.out)
        self.out += struct.pack("<i", table - vtable)
        positions: list[int | None] = []
        for f in fields:
            positions.append(self.u32(f) if f is not None else None)
        return table, positions


def set_metadata(data: bytes, name: str, payload: bytes) -> bytes:
    """``data`` with metadata entry ``name`` holding ``payload`` (an existing entry of that
    name is replaced). The result is a new, valid flatbuffer whose original bytes follow a
    prefix (see module doc)."""
    data = bytes(data)
    if data[4:8] != FILE_IDENTIFIER:
        raise ModelFormatError("not a TFLite model (no TFL3 identifier)", offset=4)
    model = _root(data)
    if model.vsize > 4 + 2 * _MODEL_FIELDS:
        raise ModelFormatError("the model table has fields newer than the pinned schema; "
                               "cannot add metadata to it")
    buffers = model.vector(_MODEL_BUFFERS)
    if not buffers:
        # buffer 0 is the schema's empty sentinel: ours must not become it
        raise ModelFormatError("the model has no buffers table; cannot add metadata to it")
    for pos in buffers:
        at = _Table(data, pos).slot(_BUFFER_OFFSET)
        if at and struct.unpack_from("<Q", data, at)[0] > 1:
            raise ModelFormatError("the model keeps buffer data outside the flatbuffer "
                                   "(a >2 GB layout); cannot add metadata to it")
    old_entries = [pos for pos in model.vector(_MODEL_METADATA)
                   if _Table(data, pos).string(_METADATA_NAME) != name]

    w = _Writer()
    root_at = w.u32(0)
    w.out += FILE_IDENTIFIER
    # the Model table: scalars copied, offsets patched below
    fields: list[int | None] = []
    for f in range(_MODEL_FIELDS):
        at = model.slot(f)
        if f in (_MODEL_BUFFERS, _MODEL_METADATA):
            fields.append(0)
        elif not at:
            fields.append(None)
        else:
            fields.append(_u32(data, at))
    table, slots = w.table(fields)
    w.patch_offset(root_at, table)
    # buffers vector: old tables (in the shifted original block) + the new one
    w.pad(4)
    buffers_vec = len(w.out)
    w.u32(len(buffers) + 1)
    buffer_elems = [w.u32(0) for _ in range(len(buffers) + 1)]
    metadata_vec = len(w.out)
    w.u32(len(old_entries) + 1)
    metadata_elems = [w.u32(0) for _ in range(len(old_entries) + 1)]
    new_buffer, (data_slot, *_) = w.table([0])
    new_entry, (name_slot, _) = w.table([0, len(buffers)])
    w.pad(4)
    name_at = len(w.out)
    encoded = name.encode()
    w.u32(len(encoded))
    w.out += encoded + b"\0"
    w.pad(_ALIGN, _ALIGN - 4)  # the payload itself starts 16-byte aligned
    payload_at = w.u32(len(payload))
    w.out += payload
    w.pad(_ALIGN)
    shift = len(w.out)  # where the original bytes start

    slot_buffers, slot_metadata = slots[_MODEL_BUFFERS], slots[_MODEL_METADATA]
    assert slot_buffers is not None and slot_metadata is not None
    w.patch_offset(slot_buffers, buffers_vec)
    w.patch_offset(slot_metadata, metadata_vec)
    for f in range(_MODEL_FIELDS):
        at, mine = model.slot(f), slots[f]
        if f in (_MODEL_BUFFERS, _MODEL_METADATA, _MODEL_VERSION) or mine is None:
            continue
        w.patch_offset(mine, shift + model.target(f))
    for elem, pos in zip(buffer_elems, buffers, strict=False):
        w.patch_offset(elem, shift + pos)
    w.patch_offset(buffer_elems[-1], new_buffer)
    for elem, pos in zip(metadata_elems, old_entries, strict=False):
        w.patch_offset(elem, shift + pos)
    w.patch_offset(metadata_elems[-1], new_entry)
    assert data_slot is not None and name_slot is not None
    w.patch_offset(data_slot, payload_at)
    w.patch_offset(name_slot, name_at)
    result = bytes(w.out) + data
    parse_model(result)  # our own strict reader must accept what we wrote
    return result
