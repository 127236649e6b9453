"""Run the real firmware (native executable or QEMU image) and talk to it over its pty.

Uses the host codec (tinyrig.protocol) for framing and tinyrig's emulator launchers to start
the boards, but not the device client: these tests exercise the firmware's own behaviour.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import termios
import time
import tty
from pathlib import Path

from tinyrig.device.emulators import launch_native, launch_qemu
from tinyrig.protocol.frame import Frame, FrameDecoder, encode_frame
from tinyrig.protocol.messages import MessageType


class DeviceLink:
    """A raw frame link to a running firmware over a pseudo-terminal."""

    def __init__(self, process: subprocess.Popen[bytes], pty_path: str, started: float) -> None:
        self.process = process
        self.pty_path = pty_path
        self.started = started
        self.fd = os.open(pty_path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd, termios.TCSANOW)  # TCSAFLUSH would drop a pending BOOT
        self.decoder = FrameDecoder()
        self.pending: list[Frame] = []
        self.seq = 0

    def send_raw(self, data: bytes) -> None:
        os.write(self.fd, data)

    def send(self, message: MessageType | int, payload: bytes = b"", *, seq: int | None = None
             ) -> int:
        if seq is None:
            self.seq = self.seq % 0xFFFF + 1
            seq = self.seq
        self.send_raw(encode_frame(Frame(type=int(message), seq=seq, payload=payload)))
        return seq

    def receive(self, timeout: float = 5.0) -> Frame:
        deadline = time.monotonic() + timeout
        while not self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no frame within {timeout} s")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                for item in self.decoder.feed(os.read(self.fd, 4096)):
                    if isinstance(item, Frame):
                        self.pending.append(item)
                    else:
                        raise AssertionError(f"device sent a bad frame: {item}")
        return self.pending.pop(0)

    def request(self, message: MessageType | int, payload: bytes = b"", timeout: float = 5.0
                ) -> Frame:
        """Send a request and return its reply (skipping LOG frames, which carry seq 0)."""
        seq = self.send(message, payload)
        while True:
            frame = self.receive(timeout)
            if frame.seq == seq:
                return frame
            assert frame.type in (MessageType.LOG, MessageType.BOOT), frame

    def close(self) -> None:
        os.close(self.fd)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_native(elf: Path) -> DeviceLink:
    started = time.monotonic()
    board = launch_native(elf)
    return DeviceLink(board.process, board.uart, started)


def qemu_missing() -> str | None:
    return None if shutil.which("qemu-system-arm") else "qemu-system-arm is not installed"


def start_qemu(elf: Path, machine: str = "mps2-an386") -> DeviceLink:
    started = time.monotonic()
    board = launch_qemu(elf, machine=machine)
    return DeviceLink(board.process, board.uart, started)
