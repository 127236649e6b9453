"""The Debian packages tinyrig uses, read from the one list ``system_packages.txt``.

``tools/system-deps.sh`` installs from the same file, ``tinyrig doctor`` checks it and every
"install X" hint in tinyrig is built here, so the package names live in one place.
"""

from __future__ import annotations

import importlib.resources
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

# The groups `make demo` needs (tools/system-deps.sh without --all); `make test` needs all.
DEMO_GROUPS: Final = ("core", "arm", "qemu")


@dataclass(frozen=True)
class SystemPackage:
    name: str
    group: str
    purpose: str


@lru_cache(maxsize=1)
def system_packages() -> tuple[SystemPackage, ...]:
    """Every package of ``system_packages.txt``, in file order."""
    text = importlib.resources.files("tinyrig").joinpath("system_packages.txt").read_text()
    packages = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, group, purpose = line.split(maxsplit=2)
        packages.append(SystemPackage(name, group, purpose.strip()))
    return tuple(packages)


def packages_in(*groups: str) -> tuple[str, ...]:
    """The names of the packages in ``groups`` (file order)."""
    known = {p.group for p in system_packages()}
    unknown = sorted(set(groups) - known)
    if unknown:
        raise KeyError(f"no package group {', '.join(unknown)} in system_packages.txt")
    return tuple(p.name for p in system_packages() if p.group in groups)


def apt_command(packages: Iterable[str]) -> str:
    """The exact command a user without root runs to install ``packages``."""
    names = " ".join(packages)
    return (f"sudo apt-get update && sudo apt-get install -y --no-install-recommends {names}")


def install_hint(*groups: str) -> str:
    """``apt_command`` for the packages of ``groups``."""
    return apt_command(packages_in(*groups))


def is_installed(package: str) -> bool:
    """Whether dpkg has ``package`` installed (``dpkg-query -W -f='${Status}'``)."""
    dpkg_query = shutil.which("dpkg-query") or "/usr/bin/dpkg-query"
    try:
        result = subprocess.run([dpkg_query, "-W", "-f=${Status}", package],
                                capture_output=True, text=True, check=False)
    except FileNotFoundError:  # not a Debian system: nothing can be checked this way
        return False
    return result.returncode == 0 and result.stdout.strip().endswith(" installed")
