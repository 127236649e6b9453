"""`tinyrig devices` and `--port auto`: what pyserial reports, VID:PID guesses, and picking
(or refusing to pick) a board."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tinyrig.transport import AmbiguousPortError, PortNotFoundError
from tinyrig.transport.discovery import PortInfo, annotate, known_usb, pick_auto, resolve_port

NUCLEO = PortInfo("/dev/ttyACM0", by_id="/dev/serial/by-id/usb-STMicroelectronics_STM32_"
                  "STLink_066DFF49-if02", vid=0x0483, pid=0x374B, serial_number="066DFF49")
PICO = PortInfo("/dev/ttyACM1", vid=0x2E8A, pid=0x000A, serial_number="E66058")
CH340 = PortInfo("/dev/ttyUSB0", vid=0x1A86, pid=0x7523)
MOUSE = PortInfo("/dev/ttyUSB1", vid=0x046D, pid=0xC077)
LEGACY = PortInfo("/dev/ttyS0")


@pytest.mark.parametrize("vid,pid,name", [
    (0x0483, 0x374B, "ST-Link V2-1"), (0x0483, 0x374E, "ST-Link V3"),
    (0x1366, 0x1015, "J-Link"), (0x0D28, 0x0204, "CMSIS-DAP"),
    (0x2341, 0x805A, "Nano 33 BLE"), (0x2E8A, 0x000A, "Raspberry Pi Pico"),
    (0x303A, 0x1001, "Espressif USB-JTAG"), (0x10C4, 0xEA60, "CP210x"),
    (0x1A86, 0x7523, "CH340"), (0x0403, 0x6001, "FTDI"),
])
def test_known_usb_ids(vid: int, pid: int, name: str) -> None:
    known = known_usb(vid, pid)
    assert known is not None and name in known.name


def test_unknown_usb_ids_are_not_guessed() -> None:
    assert known_usb(0x046D, 0xC077) is None
    assert known_usb(None, None) is None
    assert known_usb(0x0483, 0x5740) is None  # an STM32 CDC app, not an ST-Link


def test_board_entries_name_the_target_behind_a_port() -> None:
    ports = annotate([NUCLEO, MOUSE], {"nucleo-f446re": [(0x0483, 0x374B)]})
    assert ports[0].targets == ("nucleo-f446re",)
    assert ports[0].guess is not None and "ST-Link" in ports[0].guess
    assert ports[1].guess is None and ports[1].targets == ()


def test_auto_picks_the_only_board() -> None:
    assert pick_auto(annotate([LEGACY, NUCLEO, MOUSE])).device == "/dev/ttyACM0"
    assert resolve_port("auto", ports=[LEGACY, PICO]) == "/dev/ttyACM1"
    assert resolve_port("/dev/ttyACM7", ports=[]) == "/dev/ttyACM7"


def test_auto_prefers_the_boards_own_usb_id() -> None:
    ports = [NUCLEO, PICO, CH340]
    assert resolve_port("auto", usb_ids=[(0x2E8A, 0x000A)], ports=ports) == "/dev/ttyACM1"


def test_auto_refuses_to_guess_between_several_and_names_them() -> None:
    with pytest.raises(AmbiguousPortError) as caught:
        resolve_port("auto", ports=[NUCLEO, PICO, MOUSE])
    message = str(caught.value)
    assert "found 2 boards" in message
    assert "usb-STMicroelectronics_STM32_STLink_066DFF49-if02 (ST-Link V2-1" in message
    assert "/dev/ttyACM1 (Raspberry Pi Pico, 2e8a:000a)" in message


def test_auto_with_no_board_lists_the_ports_it_saw() -> None:
    with pytest.raises(PortNotFoundError) as caught:
        resolve_port("auto", ports=[LEGACY, MOUSE])
    assert caught.value.available == ["/dev/ttyS0", "/dev/ttyUSB1"]
    assert "no board with a known USB id" in str(caught.value)


def test_devices_json_lists_what_pyserial_reports() -> None:
    from serial.tools import list_ports

    master, slave = pty.openpty()  # a pty of our own, present while the command runs
    try:
        result = subprocess.run([sys.executable, "-m", "tinyrig", "devices", "--json"],
                                capture_output=True, text=True, cwd=REPO, timeout=120,
                                check=False)
        reported = {p.device: p for p in list_ports.comports()}
    finally:
        pty_name = os.ttyname(slave)
        os.close(master)
        os.close(slave)
    assert result.returncode == 0, result.stderr
    listed = {p["device"]: p for p in json.loads(result.stdout)["ports"]}
    assert set(listed) == set(reported)
    assert (pty_name in listed) == (pty_name in reported)  # ptys: where pyserial reports them
    for device, port in reported.items():
        assert listed[device]["vid"] == port.vid
        assert listed[device]["serial_number"] == port.serial_number


def test_device_auto_on_the_cli_is_one_clear_line() -> None:
    from tinyrig.transport.discovery import annotate, scan_ports

    if any(p.guess for p in annotate(scan_ports())):
        pytest.skip("a board with a known USB id is attached")
    result = subprocess.run([sys.executable, "-m", "tinyrig", "info", "--device", "auto"],
                            capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: no board with a known USB id is attached (auto)" in result.stderr
