"""Board facts (platformio.ini custom_tinyrig_*, read through tinyrig.boards) and the device
backends that resolve emulated URLs through them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tinyrig.boards import (
    TIMING_UNITS,
    BoardError,
    UnknownEmulatorError,
    UnknownTargetError,
    board,
    boards,
    emulated_target,
    parse_size,
)
from tinyrig.builder.errors import BuildError, ModelTooLargeError
from tinyrig.builder.firmware import (
    TOOLCHAINS,
    build_firmware,
    check_kernel_set,
    default_kernel_set,
)
from tinyrig.device.backends import emulated_board, emulator_of, scheme_of
from tinyrig.device.emulators import qemu_board, qemu_command
from tinyrig.device.errors import DeviceError, EmulatorError
from tinyrig.paths import project_dir

REAL_BOARDS = ("nucleo-f446re", "nucleo-f411re", "disco-f407vg", "nano33ble")


def test_every_target_declares_its_facts() -> None:
    known = boards()
    assert {"native", "qemu-m4", "netduinoplus2", "microbit", *REAL_BOARDS} <= set(known)
    for facts in known.values():
        assert facts.toolchain in TOOLCHAINS, facts.target
        assert facts.timing in TIMING_UNITS, facts.target
        if facts.toolchain == "arm-none-eabi":
            assert facts.cpu is not None and facts.cpu.startswith("cortex-m"), facts.target
            assert facts.flash is not None and facts.ram is not None, facts.target
            assert facts.clock_hz > 0, facts.target


def test_stm32_memory_maps() -> None:
    f407 = board("disco-f407vg")
    assert f407.flash is not None and f407.ram is not None and f407.ccm is not None
    assert (f407.flash.origin, f407.flash.size) == (0x0800_0000, 1024 * 1024)
    assert (f407.ram.origin, f407.ram.size) == (0x2000_0000, 128 * 1024)
    assert (f407.ccm.origin, f407.ccm.size) == (0x1000_0000, 64 * 1024)
    # The F405 under QEMU: the same flash and SRAM; QEMU 7.2 maps no CCM.
    f405 = board("netduinoplus2")
    assert (f405.flash, f405.ram, f405.ccm) == (f407.flash, f407.ram, None)
    for target in ("nucleo-f446re", "nucleo-f411re"):
        facts = board(target)
        assert facts.flash is not None and facts.flash.size == 512 * 1024
        assert facts.ccm is None
        assert facts.uart == "usart2"
        assert facts.timing == "cycles"  # DWT CYCCNT on a real M4


def test_linker_scripts_take_the_memory_map_from_the_facts() -> None:
    """No linker script writes a memory map by hand: each INCLUDEs the one the Cortex-M builder
    generates from the board facts (firmware/platforms/cortex_m_builder.py)."""
    scripts = sorted((project_dir() / "firmware" / "src" / "hal").glob("*/*.ld"))
    assert {path.parent.name for path in scripts} >= {"mps2", "stm32f4", "nrf5"}
    for path in scripts:
        script = path.read_text()
        assert "INCLUDE tinyrig_memory.ld" in script, path
        assert not re.search(r"^\s*MEMORY\b", script, re.MULTILINE), path


def test_arena_probe_only_in_emulated_runners() -> None:
    """ARENA_LIMIT can crash TFLM just under the minimum arena: never on a real board."""
    for facts in boards().values():
        if facts.emulator is None:
            assert not facts.arena_probe, f"{facts.target} is a real board with ARENA_LIMIT"
            assert "TINYRIG_ARENA_PROBE" not in facts.build_flags, facts.target
        elif facts.is_runner:
            assert facts.arena_probe, facts.target
    real_runners = [b for b in boards().values() if b.is_runner and b.emulator is None]
    assert {b.target for b in real_runners} == {f"{t}-runner" for t in REAL_BOARDS}


def test_runner_fits_in_ram() -> None:
    for facts in boards().values():
        if facts.is_runner and facts.ram is not None:
            slot, arena = facts.model_slot_bytes, facts.runner_arena_bytes
            assert slot is not None and arena is not None
            if facts.model_slot is not None:  # a flash slot: only the arena is in RAM
                assert facts.flash is not None
                assert facts.flash.contains(facts.model_slot.origin, slot), facts.target
                slot = 0
            assert slot + arena < facts.ram.size, facts.target


def test_emulated_urls_resolve_through_the_board_entries() -> None:
    assert emulated_target("qemu:netduinoplus2").target == "netduinoplus2"
    assert emulated_target("qemu:netduinoplus2", runner=True).target == "netduinoplus2-runner"
    plain = emulated_board("qemu")
    runner = emulated_board("qemu:mps2-an500", runner=True)
    native = emulated_board("native")
    assert plain is not None and runner is not None and native is not None
    assert (plain.target, runner.target, native.target) == ("qemu-m4", "qemu-m7-runner",
                                                            "native")
    for url in ("sim", "/dev/ttyACM0", "socket://localhost:4321", "rfc2217://h:1", "COM3"):
        assert emulated_board(url) is None, url
    assert [scheme_of(u) for u in ("sim", "native", "qemu:x", "socket://q:1", "/dev/ttyUSB0")] \
        == ["sim", "native", "qemu", "serial", "serial"]
    assert emulator_of("qemu") == "qemu:mps2-an386"


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(UnknownTargetError, match="unknown firmware target 'nucleo-f999'") as err:
        board("nucleo-f999")
    assert "netduinoplus2" in (err.value.hint or "")
    with pytest.raises(UnknownEmulatorError):
        emulated_target("qemu:nope")
    with pytest.raises(DeviceError, match="unknown QEMU board 'nope'") as dev_err:
        emulated_board("qemu:nope")
    assert "qemu:netduinoplus2" in (dev_err.value.hint or "")
    with pytest.raises(EmulatorError, match="unknown QEMU board 'nope'"):
        qemu_board("nope")
    with pytest.raises(BoardError, match="not a size"):
        parse_size("12Q")


def test_qemu_command_reaches_usart2_and_counts_instructions() -> None:
    facts = board("netduinoplus2")
    command = qemu_command(Path("f.elf"), "netduinoplus2", uart_index=facts.emulator_uart,
                           icount=facts.timing == "instructions")
    joined = " ".join(command)
    assert "-icount shift=0" in joined
    assert joined.endswith("-serial null -serial pty")
    assert " ".join(qemu_command(Path("f.elf"), "mps2-an386")).endswith("-kernel f.elf -serial pty")


def test_malformed_board_entry_is_a_board_error(tmp_path: Path) -> None:
    (tmp_path / "firmware").mkdir()
    (tmp_path / "platformio.ini").write_text(
        "[env:x]\nplatform = symlink://${PROJECT_DIR}/p\ncustom_tinyrig_timing = fortnights\n")
    with pytest.raises(BoardError, match="custom_tinyrig_timing must be one of"):
        boards(tmp_path)


def test_model_too_large_is_refused_before_building() -> None:
    model = project_dir().parent / "shared" / "models" / "person_detect.tflite"
    if not model.is_file():
        model = project_dir() / "models" / "sine" / "sine_int8.tflite"
    with pytest.raises(ModelTooLargeError, match="does not fit nucleo-f411re") as caught:
        build_firmware("nucleo-f411re", model, arena_bytes=200_000)
    assert caught.value.problems == (
        "its arena alone needs 200,000 B of RAM, nucleo-f411re has 131,072 B",)


def test_kernel_sets() -> None:
    """CMSIS-NN by default where the core has DSP, reference elsewhere; never on the host."""
    for facts in boards().values():
        assert default_kernel_set(facts) == ("cmsis-nn" if facts.has_dsp else "reference"), (
            facts.target)
    assert check_kernel_set(board("qemu-m3"), "cmsis-nn") == "cmsis-nn"  # allowed, not default
    with pytest.raises(BuildError, match="'native' cannot use CMSIS-NN kernels"):
        build_firmware("native", project_dir() / "platformio.ini", arena_bytes=4096,
                       kernel_set="cmsis-nn")
    with pytest.raises(BuildError, match="unknown kernel set 'fast'"):
        check_kernel_set(board("qemu-m4"), "fast")


def test_small_board_facts_feed_the_checks() -> None:
    """The micro:bit's measured own RAM (custom_tinyrig_firmware_ram) is what `check --target`
    adds to a model's arena: hello_world fits its 16 KiB, as it does on the board."""
    from tinyrig.builder.firmware import runner_op_methods
    from tinyrig.model.check import check_model, target_named

    facts = board("microbit")
    assert facts.firmware_ram_bytes is not None and facts.ram is not None
    assert target_named("microbit").firmware_ram_bytes == facts.firmware_ram_bytes
    assert target_named("microbit").runtime_flash_bytes == facts.firmware_flash_bytes
    hello = Path(__file__).resolve().parents[3] / "shared" / "models" / "hello_world_int8.tflite"
    if hello.is_file():
        report = check_model(hello, "microbit", run_interpreter=False)
        assert report.memory.ram_bytes == report.memory.arena_bytes + facts.firmware_ram_bytes
        assert not [p for p in report.problems if p.code == "ram-budget"], report.problems
    # every op the upload firmware lists is an op of the pinned TFLM; a typo is a BuildError
    ops = board("microbit-runner").runner_ops
    assert ops is not None
    assert len(runner_op_methods(ops)) == len(ops)
    with pytest.raises(BuildError, match="TINYRIG_RUNNER_OP_FULLY_CONECTED"):
        runner_op_methods(frozenset({"FULLY_CONECTED"}))
