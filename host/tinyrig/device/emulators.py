"""Start emulated boards: the native firmware as a host process, or QEMU running the
Cortex-M image. Both expose their UART on a pseudo-terminal, exactly like a USB serial port.

No emulator outlives its host: they run in their own session (a Ctrl-C in the terminal
reaches the host, which stops them in order), every board still running at interpreter exit is
stopped, and a host that dies without cleaning up (SIGKILL, or SIGTERM without a handler)
takes them along: the kernel sends them SIGTERM (PR_SET_PDEATHSIG, set when launched from the
main thread) and the native firmware also notices its parent is gone. The CLI turns SIGTERM
into a normal exit (:func:`exit_on_sigterm`)."""

from __future__ import annotations

import atexit
import ctypes
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tinyrig.boards import Board, UnknownEmulatorError, emulated_target
from tinyrig.device.errors import EmulatorError
from tinyrig.system_packages import install_hint

NATIVE_UART_LINE = re.compile(rb"tinyrig-uart: (/dev/\S+)")
QEMU_UART_LINE = re.compile(rb"char device redirected to (/dev/\S+)")
# The machine of the URL `qemu`. Which machines exist, and which target builds for each, are
# board facts (custom_tinyrig_emulator = qemu:<machine> in platformio.ini; tinyrig.boards).
DEFAULT_QEMU_MACHINE = "mps2-an386"


@dataclass
class EmulatedBoard:
    """A running emulator process and the pty its UART is on."""

    name: str
    process: subprocess.Popen[bytes]
    uart: str
    _output: deque[str] = field(default_factory=lambda: deque(maxlen=40))

    def output_tail(self) -> str:
        return "\n".join(self._output)

    def exit_description(self) -> str | None:
        """How the process ended, or None while it runs."""
        code = self.process.poll()
        if code is None:
            return None
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with status {code}"

    def stop(self) -> None:
        _LIVE.discard(self)
        _stop_process(self.process)

    def __hash__(self) -> int:
        return id(self)


# Boards started by this process and not stopped yet (stopped at exit).
_LIVE: set[EmulatedBoard] = set()
_PR_SET_PDEATHSIG = 1


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill; always reaped (no zombie)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


@atexit.register
def _stop_live_boards() -> None:
    for board in list(_LIVE):
        board.stop()


def exit_on_sigterm() -> None:
    """Make SIGTERM raise SystemExit in the main thread, so that `with`/`finally` blocks and
    the exit hook stop the emulators (the CLI calls this; a library leaves signals alone)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _load_prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


# Looked up here, in the parent: the child between fork and exec only calls it.
_PRCTL = _load_prctl() if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The child gets SIGTERM when the thread that forked it ends: only safe (and only set)
    when that is the main thread, which ends with the process."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def _start(name: str, argv: list[str], pattern: re.Pattern[bytes], timeout: float
           ) -> EmulatedBoard:
    on_main_thread = threading.current_thread() is threading.main_thread()
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if on_main_thread and _PRCTL is not None else None)
    except OSError as exc:
        raise EmulatorError(f"cannot start {name}: {exc}") from None
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    uart: str | None = None
    while uart is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(remaining):
            _stop_process(process)
            raise EmulatorError(f"{name} did not report its UART within {timeout:.0f} s",
                                hint=f"its output was: {seen[-400:].decode(errors='replace')}")
        chunk = os.read(process.stdout.fileno(), 4096)
        if not chunk:
            process.wait()
            board = EmulatedBoard(name, process, "")
            raise EmulatorError(
                f"{name} {board.exit_description()} before opening its UART",
                hint=seen[-400:].decode(errors="replace").strip() or None)
        seen += chunk
        match = pattern.search(seen)
        if match:
            uart = match.group(1).decode()
    selector.close()
    board = EmulatedBoard(name, process, uart)
    _LIVE.add(board)
    board._output.extend(seen.decode(errors="replace").splitlines())

    def drain() -> None:
        # Keep the pipe from filling up, and keep the last lines for error messages.
        assert process.stdout is not None
        for line in process.stdout:
            board._output.append(line.decode(errors="replace").rstrip())

    threading.Thread(target=drain, name=f"{name}-output", daemon=True).start()
    return board


def launch_native(elf: Path, *, timeout: float = 10.0) -> EmulatedBoard:
    """Run the firmware compiled for the host; it serves the protocol on a pty."""
    if not elf.is_file():
        raise EmulatorError(f"native firmware {elf} does not exist",
                            hint="build it with `tinyrig build --target native --model M`")
    return _start("native firmware", [str(elf)], NATIVE_UART_LINE, timeout)


def qemu_command(elf: Path, machine: str, serial: str = "pty", *, uart_index: int = 0,
                 icount: bool = False) -> list[str]:
    """The QEMU command line; a user or rig can run the same by hand.

    ``uart_index``: the board's protocol UART is QEMU's serial port number ``uart_index`` (the
    ports before it get ``-serial null``). ``icount``: ``-icount shift=0``, one virtual
    nanosecond per instruction, so timings count instructions and repeat exactly.
    """
    command = ["qemu-system-arm", "-M", machine, "-nographic", "-monitor", "none"]
    if icount:
        command += ["-icount", "shift=0"]
    command += ["-kernel", str(elf)]
    for _ in range(uart_index):
        command += ["-serial", "null"]
    return [*command, "-serial", serial]


def qemu_board(machine: str) -> Board:
    """The board facts of a QEMU machine; EmulatorError if no target runs on it."""
    try:
        return emulated_target(f"qemu:{machine}")
    except UnknownEmulatorError as exc:
        machines = [e.partition(":")[2] for e in exc.known if e.startswith("qemu:")]
        raise EmulatorError(f"unknown QEMU board '{machine}'",
                            hint=f"supported: {', '.join(machines)}") from None


def launch_qemu(elf: Path, *, machine: str = DEFAULT_QEMU_MACHINE, timeout: float = 15.0,
                icount: bool | None = None) -> EmulatedBoard:
    """Boot the Cortex-M image in QEMU with the board's protocol UART on a pty.

    ``icount``: run with ``-icount shift=0`` (instruction-exact timings); by default when the
    board's timing fact says ``instructions``. Without it the firmware reports timer ticks.
    """
    if shutil.which("qemu-system-arm") is None:
        raise EmulatorError("qemu-system-arm is not installed",
                            hint=install_hint("qemu"))
    board = qemu_board(machine)
    if not elf.is_file():
        raise EmulatorError(f"firmware image {elf} does not exist")
    command = qemu_command(elf, machine, uart_index=board.emulator_uart,
                           icount=board.timing == "instructions" if icount is None else icount)
    return _start(f"QEMU {machine}", command, QEMU_UART_LINE, timeout)
