"""No emulator outlives its host (issue 8, finding 10): a host process that opened the native
firmware and QEMU is killed — SIGTERM (handled as the CLI does) or SIGKILL (no cleanup at all)
— and both emulator processes must be gone within seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, build_image

HOST_SCRIPT = """
import sys, time
from pathlib import Path
from tinyrig.device.emulators import exit_on_sigterm, launch_native, launch_qemu
if sys.argv[3] == "cli":
    exit_on_sigterm()
boards = [launch_native(Path(sys.argv[1])), launch_qemu(Path(sys.argv[2]))]
print(" ".join(str(board.process.pid) for board in boards), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone: it runs no more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize(("how", "signum"), [("cli", signal.SIGTERM), ("library", signal.SIGKILL)])
def test_killed_host_leaves_no_emulator_running(firmware_images: dict[str, object],
                                                model_path: Path, how: str, signum: int) -> None:
    native = build_image(firmware_images, "native", model_path).elf  # type: ignore[attr-defined]
    qemu = build_image(firmware_images, "qemu-m4", model_path).elf  # type: ignore[attr-defined]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "host"), str(REPO)]))
    host = subprocess.Popen([sys.executable, "-c", HOST_SCRIPT, str(native), str(qemu), how],
                            stdout=subprocess.PIPE, env=env, text=True)
    assert host.stdout is not None
    try:
        line = host.stdout.readline()
        pids = [int(pid) for pid in line.split()]
        assert len(pids) == 2, f"the host did not start both emulators: {line!r}"
        assert all(_alive(pid) for pid in pids)
        host.send_signal(signum)
        host.wait(timeout=20)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in pids if _alive(pid)]
        for pid in left:  # do not leak them into the rest of the session
            os.kill(pid, signal.SIGKILL)
        assert not left, f"emulator processes {left} outlived their host ({how}, {signum!r})"
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
