"""export_model() writes the six contract files; the C++ compiles with -Wall -Wextra -Werror
for the host and for Cortex-M4F against the pinned TFLM headers."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tinyrig.model.errors import ExportError, UnsupportedOpError
from tinyrig.model.export import EXPORT_FILES, export_model, sanitize_symbol
from tinyrig.model.flatbuffer import load_model

from .conftest import model_file

USE_MODEL = Path(__file__).parent / "data" / "use_model.cc"
SUPPORTED = ["hello_world_int8", "hello_world_float", "micro_speech_quantized",
             "trained_lstm_int8", "person_detect"]
FLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fno-rtti", "-fno-exceptions",
         "-fno-threadsafe-statics", "-Os", "-DTF_LITE_STATIC_MEMORY",
         "-DTF_LITE_DISABLE_X86_NEON", "-DNDEBUG"]
COMPILERS = {
    "g++": [],
    "arm-none-eabi-g++": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                          "-mfpu=fpv4-sp-d16"],
}


@pytest.mark.parametrize("name, symbol", [
    ("hello_world_int8", "hello_world_int8"),
    ("123-my model.v2", "model_123_my_model_v2"),
    ("MyModel", "my_model"),
    ("__x__y__", "x_y"),
    ("", "model"),
    ("ünïcode-модель", "n_code"),
    ("int", "int"),
])
def test_sanitize_symbol(name: str, symbol: str) -> None:
    assert sanitize_symbol(name) == symbol
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", symbol)


def test_writes_exactly_the_contract_files(tmp_path: Path) -> None:
    src = model_file("micro_speech_quantized")
    result = export_model(src, tmp_path, arena_bytes=8000, name="123-my model.v2")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(EXPORT_FILES)
    assert result.symbol == "model_123_my_model_v2"
    assert result.class_symbol == "Model123MyModelV2"
    # in the model's operator-code order
    assert result.ops == ("DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "RESHAPE", "SOFTMAX")
    assert result.op_count == 4
    model = load_model(src)
    assert result.sha256 == model.sha256 and result.model_id == model.sha256[:16]

    text = {p.name: p.read_text() for p in result.files}
    assert "alignas(16) const unsigned char g_model_123_my_model_v2_model_data[] = {" \
        in text["model_data.cc"]
    assert f"g_model_123_my_model_v2_model_data_size = {model.size}u;" in text["model_data.cc"]
    body = text["model_data.cc"].split("= {", 1)[1].split("};", 1)[0]
    assert bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", body)) == model.data
    assert ("using Model123MyModelV2OpResolver = tflite::MicroMutableOpResolver<4>;"
            in text["model_ops.h"])
    adds = re.findall(r"resolver\.(Add\w+)\(\)", text["model_ops.cc"])
    assert adds == ["AddDepthwiseConv2D", "AddFullyConnected", "AddReshape", "AddSoftmax"]
    binding = text["tinyrig_model.h"]
    sha = bytes.fromhex(model.sha256)
    assert f"#define TINYRIG_MODEL_ID {{{', '.join(f'0x{b:02x}' for b in sha[:8])}}}" in binding
    assert "#define TINYRIG_ARENA_BYTES 8000\n" in binding
    assert '#define TINYRIG_TFLM_VERSION "90b983c"' in binding
    assert "#define TINYRIG_MODEL_DATA g_model_123_my_model_v2_model_data\n" in binding
    assert "#define TINYRIG_MODEL_SIZE g_model_123_my_model_v2_model_data_size\n" in binding
    assert "using TinyrigOpResolver = Model123MyModelV2OpResolver;" in binding
    assert "#define TINYRIG_REGISTER_OPS RegisterModel123MyModelV2Ops\n" in binding
    meta = text["model_meta.h"]
    assert '{"Reshape_1", kTfLiteInt8, 2, {1, 1960}, 0.10171568393707275f, -128, 1960u}' in meta
    assert f'kSha256[] = "{model.sha256}"' in meta


def test_rewrites_only_changed_files(tmp_path: Path) -> None:
    src = model_file("hello_world_int8")
    first = export_model(src, tmp_path, arena_bytes=3000)
    assert first.written == first.files
    again = export_model(src, tmp_path, arena_bytes=3000)
    assert again.written == ()
    changed = export_model(src, tmp_path, arena_bytes=3008)
    assert {p.name for p in changed.written} == {"model_meta.h", "tinyrig_model.h"}


def test_rejects_bad_arena(tmp_path: Path) -> None:
    for bad in (0, -16, True):
        with pytest.raises(ExportError):
            export_model(model_file("hello_world_int8"), tmp_path, arena_bytes=bad)


def test_unsupported_ops_are_listed(tmp_path: Path,
                                    make_variant: Callable[[str, Callable[[Any], None]], bytes]
                                    ) -> None:
    def edit(m: Any) -> None:
        code = m.operatorCodes[0]
        code.builtinCode = 32  # CUSTOM
        code.deprecatedBuiltinCode = 32
        code.customCode = b"MyFancyOp"

    data = make_variant("hello_world_int8", edit)
    with pytest.raises(UnsupportedOpError, match=r"CUSTOM\(MyFancyOp\)") as info:
        export_model(data, tmp_path, arena_bytes=3000, name="x")
    assert info.value.ops == ("CUSTOM(MyFancyOp)",)
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- compiling

@pytest.fixture(scope="module")
def include_flags() -> list[str]:
    from tinyrig.builder.errors import SourceUnavailableError
    from tinyrig.builder.tflm import tflm_tree

    try:
        tree = tflm_tree()
    except SourceUnavailableError as exc:
        pytest.skip(f"pinned TFLM tree unavailable: {exc}")
    # TFLM's own headers are not -Wextra clean: system headers, so that -Werror judges only
    # the generated code.
    return [flag for d in tree.include_dirs for flag in ("-isystem", str(d))]


def _compile(cxx: str, out_dir: Path, include_flags: list[str]) -> list[str]:
    errors = []
    for src in (out_dir / "model_data.cc", out_dir / "model_ops.cc", USE_MODEL):
        cmd = [cxx, *FLAGS, *COMPILERS[cxx], f"-I{out_dir}", *include_flags, "-c", str(src),
               "-o", str(out_dir / f"{src.stem}.{cxx}.o")]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            errors.append(f"{cxx} {src.name}:\n{done.stderr[-3000:]}")
    return errors


def _compile_all(names: list[str], tmp_path: Path, include_flags: list[str]) -> None:
    jobs = []
    for name in names:
        out = tmp_path / name
        export_model(model_file(name), out, arena_bytes=100_000,
                     name="123-my model.v2" if name == "hello_world_int8" else None)
        for cxx in COMPILERS:
            if shutil.which(cxx) is None:
                pytest.skip(f"{cxx} not installed")
            jobs.append((cxx, out))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda job: _compile(job[0], job[1], include_flags), jobs)
        errors = [e for r in results for e in r]
    assert not errors, "\n".join(errors)


def test_generated_code_compiles_hello_world(tmp_path: Path, include_flags: list[str]) -> None:
    _compile_all(["hello_world_int8"], tmp_path, include_flags)


@pytest.mark.slow
def test_generated_code_compiles_every_model(tmp_path: Path, include_flags: list[str]) -> None:
    _compile_all(SUPPORTED[1:], tmp_path, include_flags)
