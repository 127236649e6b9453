"""Pre-flight check of a model against the pinned TFLM and a target's memory budget.

``check_model()`` lists problems instead of raising on the first one:

- ``unsupported-op``: ops the pinned TFLM cannot register (custom or missing kernels);
- ``schema-version``: a flatbuffer schema other than 3;
- ``tflm-rejects``: the real TFLM interpreter (in a child process) refuses the model, e.g. an
  op version or type combination a kernel does not implement (TFLM registers kernels by op
  code and checks versions/types in Prepare, so this is the authoritative version check);
- ``quantization``: broken per-tensor/per-channel parameters (scale <= 0 or not finite, scale
  and zero-point counts not matching the quantized dimension, zero point out of range,
  non-zero zero points where TFLM's int8/int16 kernels need symmetric quantization);
- ``float-model`` / ``float-op``: float32 compute in a model offered as int8, or float ops
  mixed into an int8 model;
- ``flash-budget`` / ``ram-budget``: estimated flash (model + runtime code) and RAM (arena +
  firmware) above the target's (warning above 90 %).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from enum import Enum
from typing import Final, Literal

from tinyrig.errors import MissingExtraError
from tinyrig.model.errors import InterpreterError, ModelError
from tinyrig.model.flatbuffer import (
    SCHEMA_VERSION,
    BuiltinOperator,
    Model,
    Tensor,
    TensorType,
    load_model,
)
from tinyrig.model.ops import TFLM_VERSION, unsupported_ops

__all__ = [
    "CATALOG",
    "CheckReport",
    "MemoryEstimate",
    "Problem",
    "Severity",
    "Target",
    "budget_problems",
    "check_model",
    "estimate_flash_bytes",
    "target_named",
    "targets",
]

KIB: Final = 1024
MIB: Final = 1024 * KIB


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    flash_bytes: int
    ram_bytes: int
    # RAM the firmware needs besides the arena (stack, protocol buffers, .data/.bss): measured
    # on the board's images where its board entry says (custom_tinyrig_firmware_ram), else a
    # generous default.
    firmware_ram_bytes: int = 16 * KIB
    # Flash of the firmware besides the model and its kernels, likewise
    # (custom_tinyrig_firmware_flash), else the Cortex-M4 estimate.
    runtime_flash_bytes: int = 48 * KIB


# Boards tinyrig has no firmware target for (yet); the firmware targets themselves come from
# their board entries (tinyrig.boards, platformio.ini), see target_named().
CATALOG: Final[dict[str, Target]] = {t.name: t for t in (
    Target("nucleo-l4r5zi", "ST NUCLEO-L4R5ZI, Cortex-M4F 120 MHz (MLPerf Tiny reference)",
           2 * MIB, 640 * KIB),
    Target("disco-f746ng", "ST 32F746GDISCOVERY, Cortex-M7 216 MHz", 1 * MIB, 320 * KIB),
    Target("nrf52840", "Nordic nRF52840 (Arduino Nano 33 BLE), Cortex-M4F 64 MHz",
           1 * MIB, 256 * KIB),
    Target("rp2040", "Raspberry Pi RP2040 (Pico), Cortex-M0+ 133 MHz", 2 * MIB, 264 * KIB),
    Target("esp32-s3", "Espressif ESP32-S3, Xtensa LX7 240 MHz (internal SRAM)",
           8 * MIB, 512 * KIB),
    Target("apollo3", "Ambiq Apollo3 (SparkFun Edge), Cortex-M4F 48 MHz", 1 * MIB, 384 * KIB),
)}



def _firmware_targets() -> dict[str, Target]:
    from tinyrig.boards import boards

    found: dict[str, Target] = {}
    for b in boards().values():
        if b.flash is not None and b.ram is not None and not b.is_runner:
            where = f", {b.emulator}" if b.emulator else ""
            found[b.target] = Target(b.target, f"firmware target ({b.cpu}{where})",
                                     b.flash.size, b.ram.size,
                                     b.firmware_ram_bytes or FIRMWARE_RAM_BYTES,
                                     b.firmware_flash_bytes or RUNTIME_FLASH_BYTES)
    return found


def targets() -> dict[str, Target]:
    """Every board ``check --target`` knows: the firmware targets, then the catalog."""
    return {**CATALOG, **_firmware_targets()}


def target_named(name: str) -> Target:
    known = targets()
    if name not in known:
        raise ModelError(f"unknown target '{name}'", hint=f"known targets: {', '.join(known)}")
    return known[name]


def budget_problems(flash_bytes: int, ram_bytes: int, target: Target) -> list[Problem]:
    """ERROR when a need exceeds the board, WARNING above 90 % of it."""
    problems: list[Problem] = []
    for kind, need, have in (("flash", flash_bytes, target.flash_bytes),
                             ("ram", ram_bytes, target.ram_bytes)):
        if need > have:
            problems.append(Problem(Severity.ERROR, f"{kind}-budget",
                                    f"needs ~{need:,} B of {kind.upper()}, {target.name} "
                                    f"has {have:,} B"))
        elif need > 0.9 * have:
            problems.append(Problem(Severity.WARNING, f"{kind}-budget",
                                    f"needs ~{need:,} B of {kind.upper()}, over 90% of "
                                    f"{target.name}'s {have:,} B"))
    return problems


def estimate_flash_bytes(model: Model, runtime_bytes: int | None = None) -> int:
    """Model + TFLM runtime (``runtime_bytes``: a board's measured figure, default the
    Cortex-M4 estimate) + its kernels (rough, -Os Cortex-M)."""
    runtime = RUNTIME_FLASH_BYTES if runtime_bytes is None else runtime_bytes
    return model.size + runtime + KERNEL_FLASH_BYTES * len(model.distinct_ops())


# Rough costs of the firmware around the model (Cortex-M4, -Os, newlib-nano): TFLM interpreter
# and the tinyrig runtime; each kernel adds code. hello_world linked at ~49 KB text.
RUNTIME_FLASH_BYTES: Final = 48 * KIB
KERNEL_FLASH_BYTES: Final = 8 * KIB
FIRMWARE_RAM_BYTES: Final = 16 * KIB  # stack, protocol buffers, .data/.bss of the runtime

_INT_RANGES: Final[dict[TensorType, tuple[int, int]]] = {
    TensorType.INT8: (-128, 127), TensorType.UINT8: (0, 255), TensorType.INT16: (-32768, 32767),
    TensorType.INT4: (-8, 7),
}
# ops whose weights TFLM's int8 kernels require to be symmetric (zero point 0)
_WEIGHT_OPS: Final = {BuiltinOperator.CONV_2D, BuiltinOperator.DEPTHWISE_CONV_2D,
                      BuiltinOperator.FULLY_CONNECTED, BuiltinOperator.TRANSPOSE_CONV}
_BOUNDARY_OPS: Final = {BuiltinOperator.QUANTIZE, BuiltinOperator.DEQUANTIZE}


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Problem:
    severity: Severity
    code: str
    message: str


@dataclass(frozen=True)
class MemoryEstimate:
    flash_bytes: int  # model + runtime code estimate
    ram_bytes: int  # arena + firmware estimate
    arena_bytes: int
    arena_measured: bool  # False: a static estimate (no tflite_micro)


@dataclass(frozen=True)
class CheckReport:
    sha256: str
    size_bytes: int
    tflm_version: str
    schema_version: int
    ops: tuple[str, ...]
    unsupported_ops: tuple[str, ...]
    compute_dtype: str  # "int8", "int16", "float32", "mixed"
    interpreter_checked: bool  # the real TFLM initialized and invoked it
    target: Target | None
    memory: MemoryEstimate
    problems: tuple[Problem, ...]
    ok: bool  # no ERROR problems

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)


def _quant_problems(model: Model) -> list[Problem]:
    problems: list[Problem] = []
    weight_inputs: set[int] = set()
    sg = model.main
    for op in sg.operators:
        if model.opcode(op).builtin in _WEIGHT_OPS and len(op.inputs) > 1 and op.inputs[1] >= 0:
            weight_inputs.add(op.inputs[1])
    for sg_ in model.subgraphs:
        for t in sg_.tensors:
            problems.extend(_tensor_quant_problems(t, t.index in weight_inputs and sg_ is sg))
    return problems


def _tensor_quant_problems(t: Tensor, is_weight: bool) -> list[Problem]:
    where = f"tensor {t.index} '{t.name}'"
    out: list[Problem] = []
    if not t.scale:
        if t.dtype in (TensorType.INT8, TensorType.INT16) and not t.zero_point:
            out.append(Problem(Severity.WARNING, "quantization",
                               f"{where} is {t.dtype.name.lower()} without quantization "
                               "parameters"))
        return out
    bad = [s for s in t.scale if not (math.isfinite(s) and s > 0)]
    if bad:
        out.append(Problem(Severity.ERROR, "quantization",
                           f"{where} has invalid scale(s) {bad[:3]} (must be finite and > 0)"))
    if t.zero_point and len(t.zero_point) != len(t.scale):
        out.append(Problem(Severity.ERROR, "quantization",
                           f"{where} has {len(t.scale)} scales but {len(t.zero_point)} "
                           "zero points"))
    if len(t.scale) > 1:
        qd = t.quantized_dimension
        if not 0 <= qd < len(t.shape):
            if len(t.shape) == 1 and t.shape[0] == len(t.scale):
                # seen in upstream's person_detect biases: TFLM ignores it, LiteRT refuses it
                out.append(Problem(Severity.WARNING, "quantization",
                                   f"{where}: quantized_dimension {qd} outside its rank 1 "
                                   "(TFLM runs it; LiteRT/TFLite refuses it)"))
            else:
                out.append(Problem(Severity.ERROR, "quantization",
                                   f"{where}: quantized_dimension {qd} outside its rank "
                                   f"{len(t.shape)}"))
        elif t.shape[qd] != len(t.scale):
            out.append(Problem(Severity.ERROR, "quantization",
                               f"{where}: {len(t.scale)} per-channel scales for dimension {qd} "
                               f"of size {t.shape[qd]}"))
    lo_hi = _INT_RANGES.get(t.dtype)
    if lo_hi is not None:
        outside = [z for z in t.zero_point if not lo_hi[0] <= z <= lo_hi[1]]
        if outside:
            out.append(Problem(Severity.ERROR, "quantization",
                               f"{where}: zero point {outside[0]} outside the "
                               f"{t.dtype.name.lower()} range {lo_hi}"))
    if is_weight and t.dtype in (TensorType.INT8, TensorType.INT4) and any(t.zero_point):
        out.append(Problem(Severity.ERROR, "quantization",
                           f"{where}: weights with non-zero zero points; TFLM's int8 kernels "
                           "need symmetric weights"))
    if t.dtype is TensorType.INT16 and any(t.zero_point):
        out.append(Problem(Severity.WARNING, "quantization",
                           f"{where}: int16 with non-zero zero point; TFLM's 16x8 kernels "
                           "expect symmetric int16"))
    return out


def _collapse(problems: list[Problem], keep: int = 3) -> list[Problem]:
    """At most ``keep`` problems per (severity, code), then one 'and N more' line."""
    out: list[Problem] = []
    extra: dict[tuple[Severity, str], int] = {}
    for p in problems:
        key = (p.severity, p.code)
        if sum(1 for q in out if (q.severity, q.code) == key) < keep:
            out.append(p)
        else:
            extra[key] = extra.get(key, 0) + 1
    for (severity, code), n in extra.items():
        out.append(Problem(severity, code, f"... and {n} more {code} {severity.value}s like "
                                           "the above"))
    return out


def _compute_dtypes(model: Model) -> tuple[str, list[Problem]]:
    """The dtype the model computes in, and float ops found inside a quantized model."""
    sg = model.main
    float_ops: list[str] = []
    quant_ops = 0
    floats = (TensorType.FLOAT32, TensorType.FLOAT16, TensorType.FLOAT64)
    for op in sg.operators:
        code = model.opcode(op)
        if code.builtin in _BOUNDARY_OPS:
            continue
        ids = [i for i in (*op.inputs, *op.outputs) if i >= 0]
        types = {sg.tensors[i].dtype for i in ids}
        if types & set(floats):
            float_ops.append(f"{op.index}:{code.name}")
        elif types & {TensorType.INT8, TensorType.INT16, TensorType.UINT8}:
            quant_ops += 1
    if float_ops and quant_ops:
        listed = ", ".join(float_ops[:8]) + (" ..." if len(float_ops) > 8 else "")
        return "mixed", [Problem(Severity.WARNING, "float-op",
                                 f"{len(float_ops)} op(s) compute in float inside a quantized "
                                 f"model: {listed}")]
    if float_ops:
        return "float32", []
    activations = [sg.tensors[i].dtype for i in (*sg.inputs, *sg.outputs)]
    if TensorType.INT16 in activations and TensorType.INT8 not in activations:
        return "int16", []
    return "int8", []


def _estimate_arena(model: Model, *, run_interpreter: bool,
                    problems: list[Problem]) -> tuple[int, bool, bool]:
    """(arena bytes, measured?, interpreter accepted the model?)"""
    from tinyrig.model.arena import _peak_op, measure_arena

    if run_interpreter:
        try:
            report = measure_arena(model)
            return report.arena_bytes, True, True
        except MissingExtraError as exc:
            problems.append(Problem(Severity.INFO, "interpreter-skipped",
                                    f"not run on the real TFLM: {exc.message}"))
        except InterpreterError as exc:
            problems.append(Problem(Severity.ERROR, "tflm-rejects", exc.message))
        except ModelError as exc:
            problems.append(Problem(Severity.WARNING, "arena", exc.message))
    # static estimate, calibrated on the shared test models (measured within ~15 % above):
    # planned activations at the peak op (+10 % fragmentation), per-tensor and per-op structs,
    # per-channel quantization data, allocator overhead
    peak = _peak_op(model)
    sg = model.main
    channels = sum(len(t.scale) for t in sg.tensors if len(t.scale) > 1)
    static = (int((peak.live_bytes if peak else 0) * 1.1) + 64 * len(sg.tensors)
              + 192 * len(sg.operators) + 4 * channels + 1024)
    return (static + 15) // 16 * 16, False, False


def check_model(model: Model | bytes | str | os.PathLike[str], target: str | Target | None = None,
                *, expect: Literal["int8", "float32"] | None = None,
                run_interpreter: bool = True) -> CheckReport:
    """Check ``model`` for the pinned TFLM and, with ``target`` (a TARGETS key or a Target),
    for that board's flash and RAM. ``expect="int8"`` makes float compute an error."""
    m = load_model(model)
    if isinstance(target, str):
        target = target_named(target)
    problems: list[Problem] = []
    if m.version != SCHEMA_VERSION:
        problems.append(Problem(Severity.ERROR, "schema-version",
                                f"schema version {m.version}; TFLM reads version "
                                f"{SCHEMA_VERSION}"))
    missing = unsupported_ops(m)
    for name in missing:
        problems.append(Problem(Severity.ERROR, "unsupported-op",
                                f"op {name} is not supported by TFLM {TFLM_VERSION}"))
    if len(m.subgraphs) > 1:
        problems.append(Problem(Severity.INFO, "subgraphs",
                                f"{len(m.subgraphs)} subgraphs (control flow); only subgraph 0 "
                                "is checked for dtypes"))
    problems.extend(_collapse(_quant_problems(m)))
    dtype, dtype_problems = _compute_dtypes(m)
    problems.extend(dtype_problems)
    if expect == "int8" and dtype in ("float32", "mixed"):
        problems.append(Problem(Severity.ERROR, "float-model",
                                f"expected an int8 model, but it computes in {dtype} "
                                "(quantize it: tinyrig convert --quantize int8)"))
    elif expect == "float32" and dtype != "float32":
        problems.append(Problem(Severity.ERROR, "float-model",
                                f"expected a float32 model, but it computes in {dtype}"))
    elif expect is None and dtype == "float32":
        problems.append(Problem(Severity.WARNING, "float-model",
                                "float32 model: no int8 kernels (about 4x the weights and "
                                "several times slower on a microcontroller)"))

    can_run = not missing and m.version == SCHEMA_VERSION
    arena, measured, accepted = _estimate_arena(m, run_interpreter=run_interpreter and can_run,
                                                problems=problems)
    memory = MemoryEstimate(
        flash_bytes=estimate_flash_bytes(m, target.runtime_flash_bytes if target else None),
        ram_bytes=arena + (target.firmware_ram_bytes if target else FIRMWARE_RAM_BYTES),
        arena_bytes=arena,
        arena_measured=measured,
    )
    if target is not None:
        problems.extend(budget_problems(memory.flash_bytes, memory.ram_bytes, target))
    return CheckReport(
        sha256=m.sha256,
        size_bytes=m.size,
        tflm_version=TFLM_VERSION,
        schema_version=m.version,
        ops=tuple(c.name for c in m.distinct_ops()),
        unsupported_ops=tuple(missing),
        compute_dtype=dtype,
        interpreter_checked=accepted,
        target=target,
        memory=memory,
        problems=tuple(problems),
        ok=not any(p.severity is Severity.ERROR for p in problems),
    )
