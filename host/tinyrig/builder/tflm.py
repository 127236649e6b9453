"""The pinned TFLite Micro C++ sources: where they come from and where they are unpacked.

Resolution order:

1. ``TINYRIG_TFLM_SOURCE``: a directory (a ``create_tflm_tree.py`` output, or a folder holding
   ``tflm-ref/``), or a ``.tar.gz`` of one. Air-gapped labs point this at a local copy.
2. A previously unpacked copy in the cache.
3. Upstream: the tflite-micro archive at the pinned commit, turned into a tree with upstream's
   own ``create_tflm_tree.py`` (needs network access to GitHub and its third-party mirrors).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tinyrig import TFLM_COMMIT, TFLM_COMMIT_FULL
from tinyrig.builder.errors import SourceUnavailableError
from tinyrig.paths import cache_dir

UPSTREAM_ARCHIVE = (
    f"https://github.com/tensorflow/tflite-micro/archive/{TFLM_COMMIT_FULL}.tar.gz"
)
# A file every usable tree has; used to recognise a tree inside a directory or tarball.
_MARKER = Path("tensorflow/lite/micro/micro_interpreter.h")


@dataclass(frozen=True)
class TflmTree:
    """An unpacked TFLM source tree (reference kernels), plus the CMSIS-NN one when present."""

    root: Path
    cmsis_nn_root: Path | None
    commit: str = TFLM_COMMIT

    @property
    def include_dirs(self) -> list[Path]:
        third = self.root / "third_party"
        return [self.root, third / "flatbuffers/include", third / "gemmlowp",
                third / "kissfft", third / "ruy"]


def _find_tree(base: Path, flavour: str) -> Path | None:
    for candidate in (base / flavour, base, *base.glob(f"*/{flavour}")):
        if (candidate / _MARKER).is_file():
            return candidate
    return None


def _tree_from_dir(base: Path) -> TflmTree:
    ref = _find_tree(base, "tflm-ref")
    if ref is None:
        raise SourceUnavailableError(
            f"{base} holds no TFLM tree (no {_MARKER})",
            hint="point TINYRIG_TFLM_SOURCE at a create_tflm_tree.py output or its tarball",
        )
    return TflmTree(root=ref, cmsis_nn_root=_find_tree(base, "tflm-cortex-m-cmsisnn"))


def _unpack(tarball: Path, dest: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tflm-", dir=dest.parent))
    try:
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        tmp.rename(dest)
    except (tarfile.TarError, OSError) as exc:
        raise SourceUnavailableError(f"cannot unpack {tarball}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetch_upstream(dest: Path) -> None:
    """Download the pinned commit and generate the tree with upstream's own script."""
    work = Path(tempfile.mkdtemp(prefix="tflm-fetch-", dir=dest.parent))
    try:
        archive = work / "tflite-micro.tar.gz"
        try:
            urllib.request.urlretrieve(UPSTREAM_ARCHIVE, archive)
        except (urllib.error.URLError, OSError) as exc:
            raise SourceUnavailableError(
                f"cannot download TFLM {TFLM_COMMIT} from GitHub ({exc})",
                hint="offline? set TINYRIG_TFLM_SOURCE to a local TFLM tree or tarball",
            ) from exc
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
        repo = work / f"tflite-micro-{TFLM_COMMIT_FULL}"
        script = repo / "tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py"
        out = work / "out"
        result = subprocess.run(
            [sys.executable, str(script), "-e", "hello_world", str(out / "tflm-ref")],
            cwd=repo, capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise SourceUnavailableError(
                f"create_tflm_tree.py failed: {result.stderr.strip().splitlines()[-1:]}",
                hint="set TINYRIG_TFLM_SOURCE to a pre-generated tree",
            )
        out.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def tflm_tree() -> TflmTree:
    """Return the pinned TFLM tree, unpacking or fetching it into the cache the first time."""
    unpacked = cache_dir() / "tflm-src" / TFLM_COMMIT
    source = os.environ.get("TINYRIG_TFLM_SOURCE")
    if source:
        path = Path(source).expanduser()
        if path.is_dir():
            return _tree_from_dir(path)
        if not path.is_file():
            raise SourceUnavailableError(
                f"TINYRIG_TFLM_SOURCE={source} does not exist",
                hint="give a TFLM tree directory or a .tar.gz of one",
            )
        stamp = unpacked / ".source"
        if not (stamp.is_file() and stamp.read_text() == f"{path.resolve()}:{path.stat().st_size}"):
            shutil.rmtree(unpacked, ignore_errors=True)
            unpacked.parent.mkdir(parents=True, exist_ok=True)
            _unpack(path, unpacked)
            stamp.write_text(f"{path.resolve()}:{path.stat().st_size}")
        return _tree_from_dir(unpacked)
    if unpacked.is_dir():
        return _tree_from_dir(unpacked)
    unpacked.parent.mkdir(parents=True, exist_ok=True)
    _fetch_upstream(unpacked)
    return _tree_from_dir(unpacked)
