"""A local RFC 2217 server in front of a serial port (pyserial's ``rfc2217.PortManager``), as
ser2net or a labgrid exporter provides one for a board on another host. Used by the tests to
reach an emulated board over ``rfc2217://``; also handy to share a board on a LAN:

    python -m tinyrig_hil.rfc2217 /dev/ttyACM0 4000
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from types import TracebackType

import serial
import serial.rfc2217


class _Lenient:
    """The port as PortManager sees it: modem lines a pty does not have read as False, and
    setting them is ignored (an emulated board's UART is a pty)."""

    def __init__(self, port: serial.SerialBase) -> None:
        object.__setattr__(self, "_port", port)

    def __getattr__(self, name: str) -> object:
        try:
            return getattr(self._port, name)
        except (OSError, serial.SerialException):
            return False

    def __setattr__(self, name: str, value: object) -> None:
        with contextlib.suppress(OSError, serial.SerialException):
            setattr(self._port, name, value)


class Rfc2217Server:
    """Serves ``port_url`` (any pyserial URL, e.g. a pty) on ``127.0.0.1:port`` (0: any free
    port), one client at a time, in background threads."""

    def __init__(self, port_url: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.port_url = port_url
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.2)
        self.address = self._listener.getsockname()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"rfc2217://{self.address[0]}:{self.address[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._session(connection)

    def _session(self, connection: socket.socket) -> None:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        port = serial.serial_for_url(self.port_url, baudrate=115200, timeout=0.05)
        lock = threading.Lock()

        class _Writer:  # PortManager answers option negotiation through .write()
            def write(self, data: bytes) -> None:
                with lock:
                    connection.sendall(data)

        writer = _Writer()
        manager = serial.rfc2217.PortManager(_Lenient(port), writer)
        done = threading.Event()

        def to_client() -> None:
            while not done.is_set() and not self._stop.is_set():
                try:
                    data = port.read(port.in_waiting or 1)
                    if data:
                        writer.write(b"".join(manager.escape(data)))
                except (OSError, serial.SerialException):
                    break
            done.set()

        pump = threading.Thread(target=to_client, daemon=True)
        pump.start()
        connection.settimeout(0.2)
        try:
            while not done.is_set() and not self._stop.is_set():
                try:
                    data = connection.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    break
                port.write(b"".join(manager.filter(data)))
        except OSError:
            pass
        finally:
            done.set()
            pump.join(timeout=2)
            connection.close()
            port.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=3)

    def __enter__(self) -> Rfc2217Server:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def main() -> None:
    if len(sys.argv) != 3:
        sys.stderr.write("usage: python -m tinyrig_hil.rfc2217 PORT_URL TCP_PORT\n")
        raise SystemExit(2)
    server = Rfc2217Server(sys.argv[1], host="0.0.0.0", port=int(sys.argv[2]))
    sys.stdout.write(f"serving {sys.argv[1]} on {server.url}\n")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.close()


if __name__ == "__main__":
    main()
