"""Crafted .tflite models for the firmware's model-safety checks (issue 8): offline memory plans,
custom ops, data-indexed kernels, tensor types, constant inputs, huge tensors.

Built with TFLite's generated Python schema (the flatbuffers object API), deterministically:
``python -m tests.firmware.crafted_models`` writes them to ``firmware/fuzz/regressions/model/``
(the model fuzzer replays them and starts from them; tests/firmware/test_untrusted_models.py
uploads them to the runner firmware and checks each outcome, and that the checked-in files
are what this module builds).
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import flatbuffers  # type: ignore[import-untyped]

from tests.model.conftest import _load_schema
from tinyrig.model.flatbuffer import BuiltinOperator, TensorType

REPO = Path(__file__).resolve().parents[2]
SINE = REPO / "models" / "sine" / "sine_int8.tflite"
REGRESSIONS = REPO / "firmware" / "fuzz" / "regressions" / "model"
PLAN_NAME = b"OfflineMemoryAllocation"

FLOAT32, INT32, BOOL, UINT16 = (int(TensorType.FLOAT32), int(TensorType.INT32),
                                int(TensorType.BOOL), int(TensorType.UINT16))
GATHER, CUSTOM, GATHER_ND = (int(BuiltinOperator.GATHER), int(BuiltinOperator.CUSTOM),
                             int(BuiltinOperator.GATHER_ND))
SLICE, ARG_MAX, CALL_ONCE = (int(BuiltinOperator.SLICE), int(BuiltinOperator.ARG_MAX),
                             int(BuiltinOperator.CALL_ONCE))


def schema() -> ModuleType:
    module = _load_schema()
    if module is None:
        raise RuntimeError("no schema_py_generated.py (install tflite-micro or tensorflow)")
    return module


def _pack(s: ModuleType, model: Any) -> bytes:
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _sine(s: ModuleType) -> Any:
    data = SINE.read_bytes()
    return s.ModelT.InitFromObj(s.Model.GetRootAsModel(data, 0))


def _buffer(s: ModuleType, data: bytes | None = None) -> Any:
    buffer = s.BufferT()
    buffer.data = list(data) if data is not None else None
    return buffer


def _with_plan(s: ModuleType, model: Any, words: list[int] | None, *,
               buffer_index: int | None = None) -> bytes:
    """``model`` with an OfflineMemoryAllocation metadata entry holding int32 ``words``
    (None: a buffer without data), or naming buffer ``buffer_index``."""
    model.buffers.append(_buffer(s, None if words is None else struct.pack(
        f"<{len(words)}i", *words)))
    entry = s.MetadataT()
    entry.name = PLAN_NAME
    entry.buffer = len(model.buffers) - 1 if buffer_index is None else buffer_index
    model.metadata = [*(model.metadata or []), entry]
    return _pack(s, model)


def _sine_plan(s: ModuleType, offsets: dict[int, int], *, version: int = 0,
               count: int | None = None, drop: int = 0) -> bytes:
    model = _sine(s)
    tensors = len(model.subgraphs[0].tensors)
    words = [version, 0, tensors if count is None else count]
    words += [offsets.get(i, -1) for i in range(tensors)]
    return _with_plan(s, model, words[:len(words) - drop])


# The sine model: input 0 (1 B) -> FC -> 7 (16 B) -> FC -> 8 (16 B) -> FC -> output 9 (1 B).
# TFLM lifetimes (allocation scopes): 0: [0, 1], 7: [1, 2], 8: [2, 3], 9: [3, 3].
SINE_GOOD_PLAN = {0: 0, 7: 16, 8: 0, 9: 16}


def _tensor(s: ModuleType, name: str, dtype: int, shape: list[int], buffer: int) -> Any:
    tensor = s.TensorT()
    tensor.name = name.encode()
    tensor.type = dtype
    tensor.shape = shape
    tensor.buffer = buffer
    return tensor


def _one_op(s: ModuleType, builtin: int, tensors: list[tuple[str, int, list[int], bytes | None]],
            inputs: list[int], outputs: list[int], *, op_inputs: list[int] | None = None,
            options: tuple[int, Any] | None = None, custom: tuple[str, bytes | None] | None = None,
            ) -> bytes:
    """A one-subgraph, one-operator float/int model. ``tensors``: (name, type, shape, constant
    data or None); buffer 0 is the empty sentinel."""
    model = s.ModelT()
    model.version = 3
    code = s.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, 127)
    code.version = 1
    if custom is not None:
        code.customCode = custom[0].encode()
    model.operatorCodes = [code]
    model.buffers = [_buffer(s)]
    subgraph = s.SubGraphT()
    subgraph.tensors = []
    for name, dtype, shape, data in tensors:
        model.buffers.append(_buffer(s, data))
        subgraph.tensors.append(_tensor(s, name, dtype, shape, len(model.buffers) - 1))
    subgraph.inputs = inputs
    subgraph.outputs = outputs
    op = s.OperatorT()
    op.opcodeIndex = 0
    op.inputs = op_inputs if op_inputs is not None else [
        i for i in range(len(tensors)) if i not in outputs]
    op.outputs = outputs
    if options is not None:
        op.builtinOptionsType, op.builtinOptions = options
    if custom is not None and custom[1] is not None:
        op.customOptions = list(custom[1])
    subgraph.operators = [op]
    subgraph.name = b"main"
    model.subgraphs = [subgraph]
    model.description = b"tinyrig crafted model (issue 8)"
    return _pack(s, model)


def _floats(values: list[float]) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def _ints(values: list[int]) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


PARAMS = [float(i) + 0.5 for i in range(8)]


def gather(s: ModuleType) -> bytes:
    """GATHER of 8 constant floats at 4 positions taken from the int32 input."""
    options = s.GatherOptionsT()
    options.axis = 0
    return _one_op(s, GATHER, [("params", FLOAT32, [8], _floats(PARAMS)),
                               ("positions", INT32, [4], None),
                               ("out", FLOAT32, [4], None)],
                   inputs=[1], outputs=[2], op_inputs=[0, 1],
                   options=(s.BuiltinOptions.GatherOptions, options))


def gather_nd(s: ModuleType) -> bytes:
    """GATHER_ND of a constant 4x2 float matrix at 3 (row, column) pairs from the input."""
    return _one_op(s, GATHER_ND, [("params", FLOAT32, [4, 2], _floats(PARAMS)),
                                  ("indices", INT32, [3, 2], None),
                                  ("out", FLOAT32, [3], None)],
                   inputs=[1], outputs=[2], op_inputs=[0, 1])


def slice_(s: ModuleType) -> bytes:
    """SLICE of 2 elements of a constant 8-float vector, begin from the input."""
    return _one_op(s, SLICE, [("input", FLOAT32, [8], _floats(PARAMS)),
                              ("begin", INT32, [1], None),
                              ("size", INT32, [1], _ints([2])),
                              ("out", FLOAT32, [2], None)],
                   inputs=[1], outputs=[3], op_inputs=[0, 1, 2])


def arg_max(s: ModuleType) -> bytes:
    """ARG_MAX over a float 2x4 input along the axis given by the second input."""
    options = s.ArgMaxOptionsT()
    options.outputType = INT32
    return _one_op(s, ARG_MAX, [("input", FLOAT32, [2, 4], None),
                                ("axis", INT32, [1], None),
                                ("out", INT32, [2], None)],
                   inputs=[0, 1], outputs=[2], op_inputs=[0, 1],
                   options=(s.BuiltinOptions.ArgMaxOptions, options))


def custom_op(s: ModuleType, name: str, options: bytes | None) -> bytes:
    return _one_op(s, CUSTOM, [("input", FLOAT32, [1, 16], None), ("out", FLOAT32, [1, 16], None)],
                   inputs=[0], outputs=[1], custom=(name, options))


def uint16_input(s: ModuleType) -> bytes:
    return _one_op(s, GATHER, [("params", UINT16, [8], bytes(16)), ("positions", INT32, [2], None),
                               ("out", UINT16, [2], None)],
                   inputs=[1], outputs=[2], op_inputs=[0, 1])


def constant_input(s: ModuleType) -> bytes:
    """The sine model whose input tensor has constant data in the model."""
    model = _sine(s)
    model.buffers.append(_buffer(s, b"\x05"))
    model.subgraphs[0].tensors[0].buffer = len(model.buffers) - 1
    return _pack(s, model)


def huge_tensor(s: ModuleType) -> bytes:
    """The sine model with one more (unused) int8 tensor of exactly 2^31 elements: TFLM counts
    elements in `int` when it sizes every tensor for its memory plan."""
    model = _sine(s)
    extra = _tensor(s, "huge", TensorType.INT8, [2, 1 << 30], 0)
    extra.quantization = s.QuantizationParametersT()
    extra.quantization.scale = [0.5]
    extra.quantization.zeroPoint = [0]
    model.subgraphs[0].tensors.append(extra)
    return _pack(s, model)


def call_once_cycle(s: ModuleType) -> bytes:
    """CALL_ONCE in subgraph 0 runs subgraph 1, whose own CALL_ONCE runs subgraph 1 again."""
    model = s.ModelT()
    model.version = 3
    code = s.OperatorCodeT()
    code.builtinCode = CALL_ONCE
    code.deprecatedBuiltinCode = 127
    code.version = 1
    model.operatorCodes = [code]
    model.buffers = [_buffer(s), _buffer(s)]
    model.subgraphs = []
    for index in range(2):
        subgraph = s.SubGraphT()
        subgraph.tensors = [_tensor(s, "x", FLOAT32, [1], 1)]
        subgraph.inputs = [0] if index == 0 else []
        subgraph.outputs = [0] if index == 0 else []
        op = s.OperatorT()
        op.opcodeIndex = 0
        op.inputs = []
        op.outputs = []
        options = s.CallOnceOptionsT()
        options.initSubgraphIndex = 1
        op.builtinOptionsType, op.builtinOptions = s.BuiltinOptions.CallOnceOptions, options
        subgraph.operators = [op]
        model.subgraphs.append(subgraph)
    return _pack(s, model)


def _sine_bad_plan_buffer(s: ModuleType) -> bytes:
    return _with_plan(s, _sine(s), [0, 0, 10], buffer_index=9999)


# name -> builder. The names are the files in firmware/fuzz/regressions/model/.
CRAFTED: dict[str, Callable[[ModuleType], bytes]] = {
    "plan-negative-offsets": lambda s: _sine_plan(s, {0: -16, 7: -16, 8: -16, 9: -16}),
    "plan-buffer-out-of-range": _sine_bad_plan_buffer,
    "plan-buffer-without-data": lambda s: _with_plan(s, _sine(s), None),
    "plan-too-short": lambda s: _sine_plan(s, SINE_GOOD_PLAN, drop=2),
    "plan-wrong-count": lambda s: _sine_plan(s, SINE_GOOD_PLAN, count=9),
    "plan-wrong-version": lambda s: _sine_plan(s, SINE_GOOD_PLAN, version=2),
    "plan-misaligned": lambda s: _sine_plan(s, {**SINE_GOOD_PLAN, 7: 24}),
    "plan-live-overlap": lambda s: _sine_plan(s, {0: 0, 7: 0, 8: 16, 9: 32}),
    "plan-offset-past-int": lambda s: _sine_plan(s, {**SINE_GOOD_PLAN, 8: 0x7FFFFFF0}),
    "plan-past-arena": lambda s: _sine_plan(s, {**SINE_GOOD_PLAN, 8: 64 << 20}),
    "plan-valid": lambda s: _sine_plan(s, SINE_GOOD_PLAN),
    "custom-detection-postprocess-no-options":
        lambda s: custom_op(s, "TFLite_Detection_PostProcess", None),
    "custom-signal-window-garbage-options":
        lambda s: custom_op(s, "SignalWindow", b"\xff\xff\xff\x7f\x01"),
    "gather-positions-from-input": gather,
    "gather-nd-indices-from-input": gather_nd,
    "slice-begin-from-input": slice_,
    "arg-max-axis-from-input": arg_max,
    "uint16-model-input": uint16_input,
    "constant-data-input": constant_input,
    "tensor-2g-elements": huge_tensor,
    "call-once-cycle": call_once_cycle,
}


def build_all() -> dict[str, bytes]:
    s = schema()
    return {name: make(s) for name, make in CRAFTED.items()}


def main(out: Path = REGRESSIONS) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in build_all().items():
        (out / name).write_bytes(data)
        print(f"{out / name}: {len(data)} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REGRESSIONS)
