"""`tinyrig doctor`: real checks on this machine; missing rows from a stripped PATH or a
package that does not exist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyrig.doctor import (
    DoctorError,
    Status,
    _package_check,
    compile_probe,
    known_targets,
    run_doctor,
)
from tinyrig.system_packages import apt_command, install_hint

REPO = Path(__file__).resolve().parents[2]


def _doctor_cli(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "tinyrig", "doctor", *args],
                          capture_output=True, text=True, check=False, env=env, cwd=REPO)


def test_targets_are_the_firmware_environments_plus_board_and_fuzz() -> None:
    targets = known_targets()
    assert {"native", "qemu-m4", "qemu-m4-runner", "board", "fuzz"} <= set(targets)


def test_qemu_m4_has_everything_here() -> None:
    """make test installed the packages first: every row of the demo's target is found."""
    report = run_doctor(["qemu-m4"])
    assert report.targets == ("qemu-m4",)
    names = {c.name for c in report.checks}
    assert {"apt: libstdc++-arm-none-eabi-newlib", "arm-none-eabi-g++ (cortex-m4)",
            "qemu-system-arm", "TFLM sources", "PlatformIO core", "SCons"} <= names
    assert report.ok, [(c.name, c.detail) for c in report.missing]
    assert all(c.targets == ("qemu-m4",) for c in report.checks)


def test_shared_checks_run_once_and_name_every_target() -> None:
    report = run_doctor(["native", "qemu-m4", "qemu-m3"])
    gpp = [c for c in report.checks if c.name == "apt: g++"]
    assert len(gpp) == 1 and gpp[0].targets == ("native", "qemu-m4", "qemu-m3")
    cpus = {c.name for c in report.checks if c.name.startswith("arm-none-eabi-g++")}
    assert cpus == {"arm-none-eabi-g++ (cortex-m4)", "arm-none-eabi-g++ (cortex-m3)"}


def test_probe_compiles_with_the_target_flags() -> None:
    assert compile_probe("arm-none-eabi-g++", ["-mcpu=cortex-m7", "-mthumb",
                                               "-mfloat-abi=hard", "-mfpu=fpv5-d16"]) is None
    error = compile_probe("arm-none-eabi-g++", ["-mcpu=cortex-m4", "-nostdinc++"])
    assert error is not None and "cstddef" in error


def test_a_missing_package_gets_its_apt_command() -> None:
    check = _package_check("tinyrig-no-such-package", "a fake")
    assert check.status is Status.MISSING
    assert check.fix == apt_command(["tinyrig-no-such-package"])


def test_stripped_path_makes_compilers_and_qemu_missing(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    report = run_doctor(["qemu-m4", "native"])
    missing = {c.name: c for c in report.missing}
    assert {"arm-none-eabi-g++ (cortex-m4)", "libc_nano.a", "qemu-system-arm",
            "g++ (host)"} <= set(missing)
    assert missing["arm-none-eabi-g++ (cortex-m4)"].fix == install_hint("arm")
    assert missing["qemu-system-arm"].fix == install_hint("qemu")
    assert "not on PATH" in missing["arm-none-eabi-g++ (cortex-m4)"].detail
    assert not report.ok


def test_missing_tflm_source_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYRIG_TFLM_SOURCE", str(tmp_path / "absent.tar.gz"))
    tflm = next(c for c in run_doctor(["native"]).checks if c.name == "TFLM sources")
    assert tflm.status is Status.MISSING
    assert tflm.fix is not None and "TINYRIG_TFLM_SOURCE" in tflm.fix


def test_unknown_target_is_an_error() -> None:
    with pytest.raises(DoctorError, match="unknown target"):
        run_doctor(["no-such-board"])


def test_cli_table_and_exit_zero() -> None:
    result = _doctor_cli("--target", "qemu-m4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "arm-none-eabi-g++ (cortex-m4)" in result.stdout
    assert "everything the requested targets need is here" in result.stdout


def test_cli_json_and_exit_one_when_something_is_missing(tmp_path: Path) -> None:
    # Only python itself on PATH: no compilers, no QEMU.
    result = _doctor_cli("--target", "qemu-m4", "--json", path=str(tmp_path))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    rows = {row["name"]: row for row in report["checks"]}
    assert rows["qemu-system-arm"]["status"] == "MISSING"
    assert rows["qemu-system-arm"]["fix"] == install_hint("qemu")
    assert rows["apt: qemu-system-arm"]["status"] == "FOUND"  # dpkg knows better than PATH


def test_cli_unknown_target_is_one_error_line() -> None:
    result = _doctor_cli("--target", "nope")
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown target nope")
    assert "Traceback" not in result.stderr
