"""A failed build shows the compiler's and linker's errors first, wherever they are in the log.

The parser is checked on the line formats of gcc and GNU ld; then a real failing build (the
firmware's static_assert on its arena, reached by skipping the pre-build floor check) must name
that assertion in its one-line message and keep the whole log on disk.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.firmware.images import HELLO_WORLD, missing_compiler
from tinyrig.builder import firmware
from tinyrig.builder.diagnostics import build_failure, extract, parse_line
from tinyrig.builder.errors import ArenaBelowFloorError, BuildFailedError, ToolchainMissingError


@pytest.mark.parametrize("line,kind,file,number", [
    ("firmware/src/runner/model_runner.cc:57:27: error: static assertion failed: "
     "TINYRIG_ARENA_BYTES cannot hold TFLM", "compiler", "firmware/src/runner/model_runner.cc",
     57),
    ("firmware/src/main.cc:3:10: fatal error: tinyrig_model.h: No such file or directory",
     "compiler", "firmware/src/main.cc", 3),
    ("/usr/bin/ld: main.o: in function `main': main.cc:(.text+0x1c): undefined reference to "
     "`tinyrig::Missing()'", "linker", None, None),
    ("arm-none-eabi/bin/ld: firmware.elf section `.bss' will not fit in region `RAM'",
     "linker", None, None),
    ("arm-none-eabi/bin/ld: region `RAM' overflowed by 1048 bytes", "linker", None, None),
    ("Error: Unknown development platform 'tinyrig-nope'", "platformio", None, None),
])
def test_error_lines_are_recognised(line: str, kind: str, file: str | None,
                                    number: int | None) -> None:
    found = parse_line(line)
    assert found is not None
    assert (found.kind, found.file, found.line) == (kind, file, number)


@pytest.mark.parametrize("line", [
    "Compiling .pio/build/native/src/main.o",
    "Retrieved `/x/tflm/signal/src/square_root_32.o' from cache",
    "*** [/x/pio/qemu-m4/src/runner/model_runner.o] Error 1",
    "firmware/src/main.cc:12:5: warning: unused variable 'x' [-Wunused-variable]",
    "collect2: error: ld returned 1 exit status",
    "In file included from firmware/src/main.cc:1:",
])
def test_other_lines_are_not_errors(line: str) -> None:
    assert parse_line(line) is None


def test_errors_far_above_the_tail_come_first(tmp_path: Path) -> None:
    error = "firmware/src/app/protocol_server.cc:10:3: error: 'Frobnicate' was not declared"
    lines = ["Compiling a.o", error, error] + [
        f"Retrieved `tflm/signal/src/file{i}.o' from cache" for i in range(200)] + [
        "*** [model_runner.o] Error 1"]
    log = tmp_path / "build.log"
    log.write_text("\n".join(lines) + "\n")
    assert [d.text for d in extract(lines)] == [error]
    failure = build_failure("native", 1, log)
    assert failure.message == f"building native failed: {error}"
    assert failure.diagnostics == (error,)
    details = failure.details()
    assert details[:2] == ["compiler and linker errors:", f"  {error}"]
    assert details[-1] == f"full build log: {log}"
    assert "*** [model_runner.o] Error 1" in details  # the tail follows the errors


@pytest.mark.slow
def test_real_failed_build_names_the_compiler_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Firmware with a 16-byte arena: the pre-build check refuses it; without that check the
    compiler's static_assert stops the build, and the error says so first."""
    if missing_compiler("native") is not None:
        pytest.skip(str(missing_compiler("native")))
    with pytest.raises(ArenaBelowFloorError):
        firmware.build_firmware("native", HELLO_WORLD, arena_bytes=16)
    monkeypatch.setattr(firmware, "check_arena_floor", lambda *args: None)
    try:
        with pytest.raises(BuildFailedError) as failed:
            firmware.build_firmware("native", HELLO_WORLD, arena_bytes=16)
    except ToolchainMissingError as exc:
        pytest.skip(str(exc))
    error = failed.value
    assert "static assertion failed: TINYRIG_ARENA_BYTES cannot hold TFLM" in error.message
    assert error.message.startswith("building native failed: firmware/src/runner/model_runner.cc:")
    assert error.log_path is not None and error.log_path.name == "build.log"
    assert "TINYRIG_ARENA_BYTES cannot hold TFLM" in error.log_path.read_text()
