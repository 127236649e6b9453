"""`tinyrig flash --via gdb://...` end to end: an EMPTY emulated board (QEMU started halted with
its gdbstub and no -kernel) is flashed over GDB, verified, reset, and then answers on its UART
with the model it was flashed with. A byte patched through the gdbstub afterwards makes
verification fail with a clear error."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, missing_tool_reason
from tests.firmware.images import HELLO_WORLD, HELLO_WORLD_ARENA, hello_world_image
from tinyrig.flash.image import load_image

pytestmark = [pytest.mark.qemu]


def tinyrig(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "tinyrig", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env, check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmptyBoard:
    target: str
    process: subprocess.Popen[bytes]
    gdb_port: int
    uart: str


# target -> (QEMU machine, the -serial options before the protocol UART's). The STM32F405
# board (netduinoplus2, USART2 = QEMU's second serial) joins with ("netduinoplus2", ["-serial",
# "null"]) once its target and images exist; flashing it this way was tried by hand.
def _empty_board(target: str) -> tuple[str, list[str]]:
    """(QEMU machine, the -serial null options before the protocol UART), from the board facts."""
    from tinyrig.boards import board

    facts = board(target)
    assert facts.emulator is not None and facts.emulator.startswith("qemu:")
    return facts.emulator.partition(":")[2], ["-serial", "null"] * facts.emulator_uart


# The Arm reference board and the STM32 one (flash at 0x08000000, UART behind -serial null).
EMPTY_BOARDS: dict[str, tuple[str, list[str]]] = {
    target: _empty_board(target) for target in ("qemu-m4", "netduinoplus2")}


@pytest.fixture(params=sorted(EMPTY_BOARDS))
def empty_board(request: pytest.FixtureRequest) -> Iterator[EmptyBoard]:
    """An emulated board with nothing loaded, halted, its gdbstub and UART on TCP."""
    target = str(request.param)
    machine, serial_before = EMPTY_BOARDS[target]
    reason = missing_tool_reason(target) or (
        None if shutil.which("gdb-multiarch") else "gdb-multiarch not installed")
    if reason:
        pytest.skip(reason)
    gdb_port, uart_port = free_port(), free_port()
    process = subprocess.Popen(
        ["qemu-system-arm", "-M", machine, "-nographic", "-monitor", "none", "-S",
         "-gdb", f"tcp:127.0.0.1:{gdb_port}", *serial_before,
         "-serial", f"tcp:127.0.0.1:{uart_port},server=on,wait=off"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:  # wait for the gdbstub to listen
        try:
            socket.create_connection(("127.0.0.1", gdb_port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("QEMU's gdbstub did not come up")
            time.sleep(0.05)
    try:
        yield EmptyBoard(target, process, gdb_port, f"socket://127.0.0.1:{uart_port}")
    finally:
        process.kill()
        process.wait()


def test_flash_over_gdb_then_info_shows_the_model(empty_board: EmptyBoard) -> None:
    target = empty_board.target
    elf = hello_world_image(target).image.elf  # what --model builds: the shared image
    via = f"gdb://127.0.0.1:{empty_board.gdb_port}"
    result = tinyrig("flash", "--target", target, "--model", str(HELLO_WORLD),
                     "--arena", str(HELLO_WORLD_ARENA), "--via", via,
                     "--port", empty_board.uart, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    model_id = report["model_id"]
    assert report["method"] == "gdb"
    assert report["image"] == str(elf)
    assert report["bytes_written"] == load_image(elf).size
    assert report["verified"] is True
    assert report["reset"] == "hard"
    assert report["info"]["model_id"] == model_id

    # The board keeps running the flashed image: `tinyrig info` reaches it on its UART.
    info = tinyrig("info", "--device", empty_board.uart, "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["model_id"] == model_id

    # A board that answers with another model than the one flashed is an error, not a pass.
    from tinyrig.flash import BoardCheckError, board_entry
    from tinyrig.flash.api import _check_board

    with pytest.raises(BoardCheckError, match=f"reports model {model_id} after flashing"):
        _check_board(empty_board.uart, board_entry(target), "00" * 8, 115200, 10.0)

    # A byte patched through the gdbstub: verification names where the memory differs.
    image = load_image(elf)
    address = image.segments[0].address + 0x200
    original = image.segments[0].data[0x200]
    patch = subprocess.run(
        ["gdb-multiarch", "-nx", "-batch", "-ex", f"target remote :{empty_board.gdb_port}",
         "-ex", f"set *(unsigned char *){address:#x} = {original ^ 0xFF}", "-ex", "detach"],
        capture_output=True, text=True, timeout=60, check=False)
    assert patch.returncode == 0, patch.stdout + patch.stderr
    check = tinyrig("flash", "--target", target, "--image", str(elf), "--via", via,
                    "--verify-only")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "verification failed" in check.stderr
    assert f"first difference at {address:#010x}, 1 byte(s) differ" in check.stderr
    assert "Traceback" not in check.stderr


def test_no_gdb_server_is_one_clear_line(tmp_path: Path) -> None:
    if missing_tool_reason("qemu-m4") or shutil.which("gdb-multiarch") is None:
        pytest.skip("needs the qemu-m4 toolchain and gdb-multiarch")
    elf = hello_world_image("qemu-m4").image.elf
    port = free_port()  # nobody listens there
    result = tinyrig("flash", "--target", "qemu-m4", "--image", str(elf), "--via",
                     f"gdb://127.0.0.1:{port}")
    assert result.returncode == 1
    assert f"no GDB server answers at 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_emulated_target_flash_boots_the_image_and_checks_the_model() -> None:
    if missing_tool_reason("qemu-m4"):
        pytest.skip(str(missing_tool_reason("qemu-m4")))
    hello_world_image("qemu-m4")
    result = tinyrig("flash", "--target", "qemu-m4", "--model", str(HELLO_WORLD),
                     "--arena", str(HELLO_WORLD_ARENA), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["method"] == "emulated"
    assert report["info"]["model_id"] == report["model_id"]


def test_pyocd_with_no_probe_says_so_and_lists_none() -> None:
    pytest.importorskip("pyocd")
    if missing_tool_reason("qemu-m4"):
        pytest.skip(str(missing_tool_reason("qemu-m4")))
    from tinyrig.flash.pyocd_method import list_probes

    if list_probes():
        pytest.skip("a debug probe is attached")
    elf = hello_world_image("qemu-m4").image.elf
    result = tinyrig("flash", "--target", "qemu-m4", "--image", str(elf), "--via", "pyocd")
    assert result.returncode == 1
    assert "error: pyOCD found no debug probe (found: none)" in result.stderr
    assert "Traceback" not in result.stderr
