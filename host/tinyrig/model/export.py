"""Export a model as C++ sources for the firmware (the contract in docs/architecture.md).

``export_model()`` writes exactly six files into ``out_dir``:

- ``model_data.h/.cc``: ``alignas(16) const unsigned char g_<sym>_model_data[]`` and
  ``const unsigned int g_<sym>_model_data_size``;
- ``model_ops.h/.cc``: ``using <Sym>OpResolver = tflite::MicroMutableOpResolver<N>`` with N the
  number of distinct ops and ``TfLiteStatus Register<Sym>Ops(<Sym>OpResolver&)`` adding exactly
  those ops;
- ``model_meta.h``: constexpr metadata in ``namespace <sym>_model`` (I/O tensors, arena bytes,
  SHA-256, TFLM version);
- ``tinyrig_model.h``: the binding macros the firmware includes.

Files whose content is unchanged are not rewritten, so incremental firmware builds stay cached.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tinyrig.model.errors import ExportError
from tinyrig.model.flatbuffer import Model, Tensor, TensorType, load_model
from tinyrig.model.ops import (
    CUSTOM_RESOLVER_METHODS,
    RESOLVER_METHODS,
    TFLM_VERSION,
    ResolvedOp,
    resolve_ops,
)

__all__ = ["ALL_OPS_FILES", "EXPORT_FILES", "ExportResult", "TensorMeta",
           "all_ops_resolver_sources", "export_model", "sanitize_symbol",
           "write_all_ops_resolver"]

EXPORT_FILES: Final = ("model_data.h", "model_data.cc", "model_ops.h", "model_ops.cc",
                       "model_meta.h", "tinyrig_model.h")
MAX_RANK: Final = 8

_TFLITE_TYPES: Final[dict[TensorType, str]] = {
    TensorType.FLOAT32: "kTfLiteFloat32", TensorType.FLOAT16: "kTfLiteFloat16",
    TensorType.INT32: "kTfLiteInt32", TensorType.UINT8: "kTfLiteUInt8",
    TensorType.INT64: "kTfLiteInt64", TensorType.STRING: "kTfLiteString",
    TensorType.BOOL: "kTfLiteBool", TensorType.INT16: "kTfLiteInt16",
    TensorType.COMPLEX64: "kTfLiteComplex64", TensorType.INT8: "kTfLiteInt8",
    TensorType.FLOAT64: "kTfLiteFloat64", TensorType.COMPLEX128: "kTfLiteComplex128",
    TensorType.UINT64: "kTfLiteUInt64", TensorType.RESOURCE: "kTfLiteResource",
    TensorType.VARIANT: "kTfLiteVariant", TensorType.UINT32: "kTfLiteUInt32",
    TensorType.UINT16: "kTfLiteUInt16", TensorType.INT4: "kTfLiteInt4",
    TensorType.BFLOAT16: "kTfLiteBFloat16", TensorType.INT2: "kTfLiteInt2",
    TensorType.UINT4: "kTfLiteUInt4", TensorType.FLOAT8_E4M3FN: "kTfLiteFloat8E4M3FN",
    TensorType.FLOAT8_E5M2: "kTfLiteFloat8E5M2",
}


@dataclass(frozen=True)
class TensorMeta:
    """An input or output tensor as recorded in ``model_meta.h``."""

    name: str
    dtype: TensorType
    shape: tuple[int, ...]
    scale: float
    zero_point: int
    bytes: int


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    files: tuple[Path, ...]
    written: tuple[Path, ...]  # the files whose content changed (others were left untouched)
    name: str
    symbol: str  # snake_case: g_<symbol>_model_data
    class_symbol: str  # CamelCase: <ClassSymbol>OpResolver, Register<ClassSymbol>Ops
    data_symbol: str
    size_symbol: str
    resolver_type: str
    register_function: str
    ops: tuple[str, ...]
    resolver_methods: tuple[str, ...]
    op_count: int  # N of MicroMutableOpResolver<N>
    model_bytes: int
    sha256: str
    model_id: str  # hex of the first 8 bytes of the SHA-256 (TINYRIG_MODEL_ID)
    arena_bytes: int
    tflm_version: str
    inputs: tuple[TensorMeta, ...]
    outputs: tuple[TensorMeta, ...]


def sanitize_symbol(name: str) -> str:
    """A lower snake_case C identifier fragment for ``name``.

    ``"123-my model.v2"`` -> ``"model_123_my_model_v2"``: runs of non-alphanumeric (or
    non-ASCII) characters become one ``_``; a leading digit gets a ``model_`` prefix; no leading,
    trailing or double underscores (reserved in C++).
    """
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)  # camelCase -> camel_Case
    snake = re.sub(r"[^0-9A-Za-z]+", "_", snake).strip("_").lower()
    if not snake:
        return "model"
    if snake[0].isdigit():
        snake = f"model_{snake}"
    return snake


def _camel(symbol: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in symbol.split("_") if part)


def _c_string(text: str) -> str:
    """A C string literal (ASCII, escaped) for arbitrary text."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~" and ch != "?":  # '?' escaped: no trigraphs
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def _float(value: float) -> str:
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        raise ExportError(f"quantization scale {text} cannot be exported")
    if "e" not in text and "." not in text:
        text += ".0"
    return text + "f"


def _tensor_meta(t: Tensor, role: str, index: int) -> TensorMeta:
    if len(t.shape) > MAX_RANK:
        raise ExportError(f"{role} {index} '{t.name}' has rank {len(t.shape)} (max {MAX_RANK})")
    return TensorMeta(
        name=t.name,
        dtype=t.dtype,
        shape=t.shape,
        scale=t.scale[0] if t.scale else 0.0,
        zero_point=t.zero_point[0] if t.zero_point else 0,
        bytes=t.nbytes,
    )


_HEADER = ("// Generated by tinyrig {what} from {src} (sha256 {sha}).\n"
           "// Do not edit: rerun `tinyrig export`.\n")


def _guard(symbol: str, file: str) -> str:
    return f"TINYRIG_{symbol.upper()}_{re.sub(r'[^0-9A-Za-z]', '_', file).upper()}_"


def _data_files(model: Model, sym: str, head: str) -> tuple[str, str]:
    guard = _guard(sym, "model_data.h")
    h = (f"{head}\n#ifndef {guard}\n#define {guard}\n\n"
         f"// The .tflite flatbuffer, 16-byte aligned as TFLM requires.\n"
         f"alignas(16) extern const unsigned char g_{sym}_model_data[];\n"
         f"extern const unsigned int g_{sym}_model_data_size;\n\n#endif  // {guard}\n")
    lines = []
    data = model.data
    for i in range(0, len(data), 12):
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in data[i:i + 12]) + ",")
    cc = (f'{head}\n#include "model_data.h"\n\n'
          f"alignas(16) const unsigned char g_{sym}_model_data[] = {{\n"
          + "\n".join(lines) + "\n};\n"
          f"const unsigned int g_{sym}_model_data_size = {len(data)}u;\n\n"
          f"static_assert(sizeof(g_{sym}_model_data) == {len(data)}u, \"model size\");\n")
    return h, cc


def _ops_files(ops: tuple[ResolvedOp, ...], sym: str, cls: str, head: str) -> tuple[str, str]:
    guard = _guard(sym, "model_ops.h")
    n = max(len(ops), 1)
    h = (f"{head}\n#ifndef {guard}\n#define {guard}\n\n"
         '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\n\n'
         f"// {len(ops)} distinct op{'s' if len(ops) != 1 else ''}: "
         f"{', '.join(op.name for op in ops) or '(none)'}\n"
         f"using {cls}OpResolver = tflite::MicroMutableOpResolver<{n}>;\n\n"
         f"// Adds exactly the model's ops; kTfLiteError if any Add* fails.\n"
         f"TfLiteStatus Register{cls}Ops({cls}OpResolver& resolver);\n\n#endif  // {guard}\n")
    body = [f"  if (resolver.{op.method}() != kTfLiteOk) return kTfLiteError;  // {op.name} "
            f"v{','.join(str(v) for v in op.versions)}" for op in ops]
    if not ops:
        body = ["  (void)resolver;"]
    cc = (f'{head}\n#include "model_ops.h"\n\n'
          f"TfLiteStatus Register{cls}Ops({cls}OpResolver& resolver) {{\n"
          + "\n".join(body) + "\n  return kTfLiteOk;\n}\n")
    return h, cc


def _tensor_init(t: TensorMeta) -> str:
    dims = ", ".join(str(d) for d in t.shape) or "0"
    return (f"    {{{_c_string(t.name)}, {_TFLITE_TYPES[t.dtype]}, {len(t.shape)}, {{{dims}}}, "
            f"{_float(t.scale)}, {t.zero_point}, {t.bytes}u}},")


def _meta_file(model: Model, sym: str, head: str, name: str, arena_bytes: int,
               inputs: tuple[TensorMeta, ...], outputs: tuple[TensorMeta, ...]) -> str:
    guard = _guard(sym, "model_meta.h")
    model_id = ", ".join(f"0x{b:02x}" for b in bytes.fromhex(model.sha256)[:8])
    return (
        f"{head}\n#ifndef {guard}\n#define {guard}\n\n"
        '#include "tensorflow/lite/c/common.h"\n\n'
        f"namespace {sym}_model {{\n\n"
        "struct TensorMeta {\n"
        "  const char* name;\n"
        "  TfLiteType type;\n"
        "  int rank;\n"
        f"  int dims[{MAX_RANK}];\n"
        "  float scale;       // 0 when not quantized (per-channel: channel 0)\n"
        "  int zero_point;\n"
        "  unsigned int bytes;\n"
        "};\n\n"
        f"inline constexpr char kName[] = {_c_string(name)};\n"
        f"inline constexpr unsigned int kModelSize = {model.size}u;\n"
        f"inline constexpr unsigned int kArenaBytes = {arena_bytes}u;\n"
        f'inline constexpr char kSha256[] = "{model.sha256}";\n'
        f"inline constexpr unsigned char kModelId[8] = {{{model_id}}};\n"
        f'inline constexpr char kTflmVersion[] = "{TFLM_VERSION}";\n'
        f"inline constexpr unsigned int kSchemaVersion = {model.version}u;\n"
        f"inline constexpr int kNumInputs = {len(inputs)};\n"
        f"inline constexpr int kNumOutputs = {len(outputs)};\n"
        f"inline constexpr TensorMeta kInputs[{max(len(inputs), 1)}] = {{\n"
        + "\n".join(_tensor_init(t) for t in inputs) + "\n};\n"
        f"inline constexpr TensorMeta kOutputs[{max(len(outputs), 1)}] = {{\n"
        + "\n".join(_tensor_init(t) for t in outputs) + "\n};\n\n"
        f"}}  // namespace {sym}_model\n\n#endif  // {guard}\n"
    )


def _binding_file(model: Model, sym: str, cls: str, head: str, name: str, arena_bytes: int,
                  n_ops: int) -> str:
    model_id = ", ".join(f"0x{b:02x}" for b in bytes.fromhex(model.sha256)[:8])
    return (
        f"{head}\n#ifndef TINYRIG_MODEL_H_\n#define TINYRIG_MODEL_H_\n\n"
        '#include "model_data.h"\n#include "model_meta.h"\n#include "model_ops.h"\n\n'
        f"#define TINYRIG_MODEL_NAME {_c_string(name)}\n"
        f"#define TINYRIG_MODEL_DATA g_{sym}_model_data\n"
        f"#define TINYRIG_MODEL_SIZE g_{sym}_model_data_size\n"
        f"#define TINYRIG_MODEL_ID {{{model_id}}}\n"
        f'#define TINYRIG_MODEL_SHA256 "{model.sha256}"\n'
        f"#define TINYRIG_ARENA_BYTES {arena_bytes}\n"
        f'#define TINYRIG_TFLM_VERSION "{TFLM_VERSION}"\n'
        f"#define TINYRIG_OP_COUNT {max(n_ops, 1)}\n"
        f"#define TINYRIG_REGISTER_OPS Register{cls}Ops\n\n"
        f"using TinyrigOpResolver = {cls}OpResolver;\n"
        f"namespace tinyrig_model_meta = {sym}_model;\n\n"
        "#endif  // TINYRIG_MODEL_H_\n"
    )


def _write_if_changed(path: Path, text: str) -> bool:
    data = text.encode("ascii")
    try:
        if path.is_file() and path.read_bytes() == data:
            return False
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return True


def export_model(model_path: str | os.PathLike[str] | bytes | Model,
                 out_dir: str | os.PathLike[str], *, arena_bytes: int,
                 name: str | None = None) -> ExportResult:
    """Write the model's C++ sources (see module doc) into ``out_dir``.

    ``name`` defaults to the file's stem ("model" for bytes); symbols are derived from it by
    :func:`sanitize_symbol`. Raises ModelFormatError/ModelFileError for bad input,
    UnsupportedOpError when the pinned TFLM lacks an op, ExportError for a bad arena size or
    unwritable output.
    """
    if isinstance(arena_bytes, bool) or not isinstance(arena_bytes, int) or arena_bytes <= 0:
        raise ExportError(f"arena_bytes must be a positive integer, got {arena_bytes!r}")
    model = load_model(model_path)
    if name is None:
        name = (Path(os.fspath(model_path)).stem
                if isinstance(model_path, str | os.PathLike) else "model")
    sym = sanitize_symbol(name)
    cls = _camel(sym)
    ops = resolve_ops(model)
    sg = model.main
    inputs = tuple(_tensor_meta(t, "input", i) for i, t in enumerate(sg.input_tensors))
    outputs = tuple(_tensor_meta(t, "output", i) for i, t in enumerate(sg.output_tensors))

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {out}: {exc.strerror or exc}") from None

    src = _c_string(name)[1:-1].replace("*/", "*\\/")
    head = _HEADER.format(what=f"export ({TFLM_VERSION})", src=src, sha=model.sha256)
    data_h, data_cc = _data_files(model, sym, head)
    ops_h, ops_cc = _ops_files(ops, sym, cls, head)
    texts = {
        "model_data.h": data_h,
        "model_data.cc": data_cc,
        "model_ops.h": ops_h,
        "model_ops.cc": ops_cc,
        "model_meta.h": _meta_file(model, sym, head, name, arena_bytes, inputs, outputs),
        "tinyrig_model.h": _binding_file(model, sym, cls, head, name, arena_bytes, len(ops)),
    }
    files = tuple(out / f for f in EXPORT_FILES)
    written = tuple(p for p in files if _write_if_changed(p, texts[p.name]))
    return ExportResult(
        out_dir=out,
        files=files,
        written=written,
        name=name,
        symbol=sym,
        class_symbol=cls,
        data_symbol=f"g_{sym}_model_data",
        size_symbol=f"g_{sym}_model_data_size",
        resolver_type=f"{cls}OpResolver",
        register_function=f"Register{cls}Ops",
        ops=tuple(op.name for op in ops),
        resolver_methods=tuple(op.method for op in ops),
        op_count=max(len(ops), 1),
        model_bytes=model.size,
        sha256=model.sha256,
        model_id=model.sha256[:16],
        arena_bytes=arena_bytes,
        tflm_version=TFLM_VERSION,
        inputs=inputs,
        outputs=outputs,
    )


ALL_OPS_FILES: Final = ("all_ops_resolver.h", "all_ops_resolver.cc")


# Custom ops the upload ("runner") firmware does not register. Their Init parses
# `custom_options` with flexbuffers::GetRoot / FlexbufferWrapper without a length check (and
# reads address -1 when the options are absent), then sizes buffers and loops from the values
# without checking them against the tensors: an uploaded model could take the device down
# (issue 8, finding 2). Running the flexbuffers verifier first would stop the first part only.
# TFLM_DECODE is left out for the same reason: its Eval indexes value tables with the encoded
# data of the model's ancillary tensors. Firmware built for one model (`tinyrig build`) still
# registers every op that model uses: its model is trusted, it is compiled in.
UPLOAD_EXCLUDED_CUSTOM_OPS: Final = frozenset({
    "TFLite_Detection_PostProcess", "TFLM_DECODE", "SignalDelay", "SignalEnergy",
    "SignalFftAutoScale", "SignalFilterBank", "SignalFilterBankLog",
    "SignalFilterBankSpectralSubtraction", "SignalFilterBankSquareRoot", "SignalFramer",
    "SignalIrfft", "SignalOverlapAdd", "SignalPCAN", "SignalRfft", "SignalStacker",
    "SignalWindow"})


def all_ops_resolver_sources() -> dict[str, str]:
    """C++ sources of the op table of the upload ("runner") firmware: every op the pinned
    TFLM offers, one at a time.

    ``all_ops_resolver.h`` declares ``kAllOpsCount`` (the entries of :data:`RESOLVER_METHODS`
    plus :data:`CUSTOM_RESOLVER_METHODS` minus :data:`UPLOAD_EXCLUDED_CUSTOM_OPS`) and
    ``AddRunnerOp()``, a switch over the op code that adds that one op (TFLM's own
    ``MicroMutableOpResolver::Add*``: its kernel registration and option parser) to a
    one-op resolver. ``runner/lazy_op_resolver.h`` calls it for the ops a model uses, so the
    firmware keeps only those registrations in RAM. A board whose flash cannot hold every
    kernel lists its ops as ``-DTINYRIG_RUNNER_OPS_ONLY -DTINYRIG_RUNNER_OP_<NAME>``
    (platformio.ini; ``tinyrig.boards.Board.runner_ops``): every case is compiled only when
    its op is listed, so the linker drops the other kernels.
    """
    entries = [(method, builtin.name) for builtin, method in RESOLVER_METHODS.items()]
    custom = {code: method for code, method in CUSTOM_RESOLVER_METHODS.items()
              if code not in UPLOAD_EXCLUDED_CUSTOM_OPS}
    count = len(entries) + len(custom)
    head = ("// Generated by tinyrig.model.export.write_all_ops_resolver from the op table of "
            f"TFLM {TFLM_VERSION}.\n// Do not edit: rerun write_all_ops_resolver() "
            "(tests/builder/test_all_ops_resolver.py checks it).\n")
    header = (
        f"{head}#pragma once\n\n"
        '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\n\n'
        "namespace tinyrig {\n\n"
        f"// {len(RESOLVER_METHODS)} builtin + {len(custom)} custom ops (the others parse their\n"
        "// options unchecked: tinyrig.model.export.UPLOAD_EXCLUDED_CUSTOM_OPS).\n"
        f"inline constexpr unsigned int kAllOpsCount = {count};\n\n"
        "// Adds op `op` (a CUSTOM op: the one named `custom`) to `resolver`; kTfLiteError when\n"
        "// this firmware does not have it (not in the pinned TFLM, an excluded custom op, or not\n"
        "// in the board's TINYRIG_RUNNER_OP_* list).\n"
        "TfLiteStatus AddRunnerOp(tflite::BuiltinOperator op, const char* custom,\n"
        "                         tflite::MicroMutableOpResolver<1>& resolver);\n\n"
        "}  // namespace tinyrig\n"
    )

    def guard(name: str) -> str:
        return (f"#if !defined(TINYRIG_RUNNER_OPS_ONLY) || "
                f"defined(TINYRIG_RUNNER_OP_{name})\n")

    cases = "".join(
        f"{guard(name)}    case tflite::BuiltinOperator_{name}:\n"
        f"      return resolver.{method}();\n#endif\n"
        for method, name in entries)
    customs = "".join(
        f"{guard(code)}      if (std::strcmp(custom, \"{code}\") == 0) "
        f"return resolver.{method}();\n#endif\n"
        for code, method in custom.items())
    source = (
        f"{head}#include \"runner/all_ops_resolver.h\"\n\n#include <cstring>\n\n"
        "namespace tinyrig {\n\n"
        "TfLiteStatus AddRunnerOp(tflite::BuiltinOperator op, const char* custom,\n"
        "                         tflite::MicroMutableOpResolver<1>& resolver) {\n"
        "  (void)resolver;\n"
        "  switch (op) {\n"
        f"{cases}"
        "    case tflite::BuiltinOperator_CUSTOM:\n"
        "      if (custom == nullptr) return kTfLiteError;\n"
        f"{customs}"
        "      return kTfLiteError;\n"
        "    default:\n"
        "      return kTfLiteError;\n"
        "  }\n"
        "}\n\n"
        "}  // namespace tinyrig\n"
    )
    return {"all_ops_resolver.h": header, "all_ops_resolver.cc": source}


def write_all_ops_resolver(out_dir: str | os.PathLike[str]) -> tuple[Path, ...]:
    """Write :func:`all_ops_resolver_sources` into ``out_dir`` (``firmware/src/runner`` in the
    repo); returns the files whose content changed."""
    out = Path(out_dir)
    return tuple(out / name for name, text in all_ops_resolver_sources().items()
                 if _write_if_changed(out / name, text))
