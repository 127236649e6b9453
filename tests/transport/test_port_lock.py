"""One process per port (socket:// and rfc2217:// too), who holds a busy port, and a write
that can no longer hang on a device that stopped reading."""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tinyrig.transport import LinkStalledError, PortBusyError, SerialTransport
from tinyrig.transport.lock import canonical_url, holders, lock_path


@pytest.fixture
def listener() -> Iterator[str]:
    """A TCP server (a stand-in for ser2net or QEMU's -serial tcp:) accepting connections."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    try:
        yield f"socket://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def test_a_socket_port_is_locked_within_and_across_processes(listener: str) -> None:
    first = SerialTransport(listener)
    try:
        with pytest.raises(PortBusyError, match=rf"in use by pid {os.getpid()}"):
            SerialTransport(listener.upper().replace("SOCKET", "socket"))
        other = subprocess.run(
            [sys.executable, "-c", "from tinyrig.transport import SerialTransport as S; "
                                   f"S({listener!r})"],
            capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
        assert "PortBusyError" in other.stderr
        assert f"in use by pid {os.getpid()}" in other.stderr
    finally:
        first.close()
    SerialTransport(listener).close()  # released on close


def test_the_lock_dies_with_its_holder(listener: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from tinyrig.transport import "
                               f"SerialTransport as S; t = S({listener!r}); print('held', "
                               "flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(PortBusyError, match=rf"pid {holder.pid} \("):
            SerialTransport(listener)
    finally:
        holder.kill()
        holder.wait()
    SerialTransport(listener).close()


def test_device_nodes_share_one_lock_across_names(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    link = f"{tmp_path}/board"
    Path(link).symlink_to(name)
    try:
        assert canonical_url(link) == name
        assert lock_path(link) == lock_path(name)
        transport = SerialTransport(name)
        try:
            with pytest.raises(PortBusyError, match=f"in use by pid {os.getpid()}"):
                SerialTransport(link)
        finally:
            transport.close()
    finally:
        os.close(master)
        os.close(slave)


def test_holders_names_the_processes_with_a_device_open() -> None:
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    child = subprocess.Popen([sys.executable, "-c", f"f = open({name!r}, 'rb'); "
                              "print('open', flush=True); import time; time.sleep(60)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "open"
        found = holders(name)
        assert any(h.startswith(f"pid {child.pid} (") for h in found), found
    finally:
        child.kill()
        child.wait()
        os.close(master)
        os.close(slave)


def test_a_stopped_port_fails_the_write_within_the_stall_timeout() -> None:
    master, slave = pty.openpty()
    transport = SerialTransport(os.ttyname(slave), stall_timeout=0.5)
    try:
        transport._port.xonxoff = True  # the device side sends XOFF and never XON
        os.write(master, b"\x13")
        time.sleep(0.05)
        start = time.monotonic()
        with pytest.raises(LinkStalledError, match="still unsent"):
            transport.write(b"x" * 8192)
        assert time.monotonic() - start < 30  # bounded (a hang would hit the test timeout)
    finally:
        transport.close()
        os.close(master)
        os.close(slave)


class _WedgedPort:
    """A tty whose driver keeps bytes queued forever (a USB-CDC device that stopped ACKing):
    ``flush()`` (tcdrain) would block for good."""

    fd = -1
    out_waiting = 64
    write_timeout = 0.5

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        raise AssertionError("tcdrain would hang here")

    def close(self) -> None:
        pass


def test_a_wedged_device_does_not_hang_the_drain() -> None:
    transport = SerialTransport("/dev/ttyACM9", port=_WedgedPort(), stall_timeout=0.2)
    with pytest.raises(LinkStalledError, match="64 byte"):
        transport.write(b"frame")


def test_a_permission_problem_names_the_group_that_owns_the_port(tmp_path: Path) -> None:
    import errno
    import grp

    from tinyrig.transport import PortPermissionError
    from tinyrig.transport.serial_port import _classify

    node = tmp_path / "ttyACM0"
    node.write_bytes(b"")
    group = grp.getgrgid(node.stat().st_gid).gr_name
    error = _classify(str(node), PermissionError(errno.EACCES, "Permission denied"))
    assert isinstance(error, PortPermissionError)
    assert error.group == group
    assert error.hint is not None and f"usermod -aG {group} $USER" in error.hint
    assert "uucp" in error.hint


def test_loopback_ports_are_private_and_not_locked() -> None:
    first, second = SerialTransport("loop://"), SerialTransport("loop://")
    try:
        first.write(b"ping")
        assert first.read(4, timeout=1.0) == b"ping"
        assert second.read(4, timeout=0.05) == b""
    finally:
        first.close()
        second.close()


def test_a_dropped_transport_does_not_keep_its_pty_locked() -> None:
    """A transport collected without close() (a test or script that forgot it) releases the
    port: the next emulator that gets the same pty number must open it."""
    import gc

    master, slave = pty.openpty()
    name = os.ttyname(slave)
    try:
        SerialTransport(name)  # dropped at once, never closed
        gc.collect()
        SerialTransport(name).close()
    finally:
        os.close(master)
        os.close(slave)


def test_a_dropped_socket_transport_releases_its_lock_file(listener: str) -> None:
    import gc

    SerialTransport(listener)  # dropped at once, never closed
    gc.collect()
    SerialTransport(listener).close()
