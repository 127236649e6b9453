"""The one list of Debian packages: the script, the hints and the README all read it."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tinyrig.builder.firmware import _toolchain_for
from tinyrig.system_packages import (
    DEMO_GROUPS,
    apt_command,
    install_hint,
    is_installed,
    packages_in,
    system_packages,
)

REPO = Path(__file__).resolve().parents[2]
LIST = REPO / "host" / "tinyrig" / "system_packages.txt"
SYSTEM_DEPS = REPO / "tools" / "system-deps.sh"
CHECK_ARM_CXX = REPO / "tools" / "check-arm-cxx.sh"
FAKE = "tinyrig-no-such-package"


def test_list_parses_into_groups() -> None:
    packages = system_packages()
    names = [p.name for p in packages]
    assert len(names) == len(set(names))
    assert {p.group for p in packages} >= set(DEMO_GROUPS) | {"fuzz"}
    assert all(p.purpose for p in packages)
    # The package whose absence broke a fresh machine (issue 7) is in the demo's groups.
    assert "libstdc++-arm-none-eabi-newlib" in packages_in(*DEMO_GROUPS)


def test_unknown_group_is_refused() -> None:
    with pytest.raises(KeyError, match="no package group"):
        packages_in("no-such-group")


def test_hints_come_from_the_list() -> None:
    arm = _toolchain_for("qemu-m4", "symlink://x/tinyrig-mps2").install_hint
    assert arm == install_hint("arm") == apt_command(packages_in("arm"))
    for name in packages_in("arm"):
        assert name in arm
    native = _toolchain_for("native", "symlink://x/tinyrig-native").install_hint
    assert "g++" in native.split()
    source = (REPO / "host" / "tinyrig" / "device" / "emulators.py").read_text()
    assert 'install_hint("qemu")' in source and "apt-get" not in source


def test_no_other_package_names_in_code() -> None:
    """Only the list names Debian packages: hints elsewhere are built from it."""
    offenders = []
    for path in [*(REPO / "host").rglob("*.py"), *(REPO / "tools").glob("*")]:
        if path.name == "system_packages.py":
            continue
        text = path.read_text(errors="replace")
        named = r"\b(gcc-arm|qemu-system|libnewlib|g\+\+|gdb-multiarch|\{)"
        if re.search(r"apt-get install[^\n\"']*" + named, text):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_dpkg_sees_installed_and_missing_packages() -> None:
    if not is_installed("dpkg"):
        pytest.skip("not a Debian system")
    assert not is_installed(FAKE)


def _run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})


def test_system_deps_reports_a_missing_package(tmp_path: Path) -> None:
    listing = tmp_path / "packages.txt"
    listing.write_text(f"# a list\ndpkg core the package manager\n{FAKE} arm a fake\n")
    result = _run(SYSTEM_DEPS, "--check", "core", "arm",
                  env={"TINYRIG_SYSTEM_PACKAGES": str(listing)})
    assert result.returncode == 1
    assert f"needs these Debian packages: {FAKE}" in result.stderr
    assert (f"run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends "
            f"{FAKE}") in result.stderr
    # Only the groups asked for.
    assert _run(SYSTEM_DEPS, "--check", "core",
                env={"TINYRIG_SYSTEM_PACKAGES": str(listing)}).returncode == 0


def test_system_deps_refuses_an_unknown_group() -> None:
    result = _run(SYSTEM_DEPS, "--check", "nonsense")
    assert result.returncode == 2
    assert "no group 'nonsense'" in result.stderr


def test_system_deps_passes_on_this_machine() -> None:
    """make test ran it (--all) before pytest: everything is installed and the probe compiles."""
    result = _run(SYSTEM_DEPS, "--check", "--all")
    assert result.returncode == 0, result.stderr


def test_arm_cxx_probe_compiles_for_the_cortex_m4() -> None:
    result = _run(CHECK_ARM_CXX)
    assert result.returncode == 0, result.stderr


def test_arm_cxx_probe_names_the_packages_when_headers_are_missing(tmp_path: Path) -> None:
    """The failure of issue 7: arm-none-eabi-g++ without its C++ headers."""
    compiler = tmp_path / "arm-g++-without-cxx-headers"
    compiler.write_text('#!/bin/sh\nexec arm-none-eabi-g++ -nostdinc++ "$@"\n')
    compiler.chmod(compiler.stat().st_mode | stat.S_IEXEC)
    result = _run(CHECK_ARM_CXX, env={"TINYRIG_ARM_CXX": str(compiler)})
    assert result.returncode == 1
    assert "cstddef: No such file or directory" in result.stderr
    assert install_hint("arm") in result.stderr


def test_arm_cxx_probe_without_a_compiler(tmp_path: Path) -> None:
    result = _run(CHECK_ARM_CXX, env={"TINYRIG_ARM_CXX": str(tmp_path / "absent-g++")})
    assert result.returncode == 1
    assert "is not installed" in result.stderr and install_hint("arm") in result.stderr


def test_readme_points_at_the_list() -> None:
    readme = (REPO / "README.md").read_text()
    assert "host/tinyrig/system_packages.txt" in readme
    assert "tinyrig doctor" in readme
    for name in packages_in(*DEMO_GROUPS):
        assert f"`{name}`" in readme, name


def test_ruff_and_mypy_cover_every_python_file() -> None:
    """No folder of the package or the tests escapes the linters (ruff's default excludes
    once hid a folder named build)."""
    import shutil

    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    listed = subprocess.run([ruff, "check", "--show-files", "host", "hil", "tests", "tools",
                             "bench", "models"], capture_output=True, text=True, check=True,
                            cwd=REPO).stdout
    checked = {Path(line.strip()).resolve() for line in listed.splitlines() if line.strip()}
    every = {p.resolve() for top in ("host", "hil", "tests", "tools", "bench", "models")
             for p in (REPO / top).rglob("*.py") if "__pycache__" not in p.parts}
    assert sorted(str(p) for p in every - checked) == []
    found = re.search(r"^files = \[(.*)\]$", (REPO / "pyproject.toml").read_text(), re.M)
    assert found is not None, "[tool.mypy] files = [...] in pyproject.toml"
    mypy_files = {name.strip().strip('"') for name in found[1].split(",")}
    assert {"host", "hil", "tests", "tools", "bench"} <= mypy_files
