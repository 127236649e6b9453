"""A model's firmware compiles the TFLM core plus only its kernels, derived from the tree.

The derivation (``tinyrig.builder.kernels``) is tied to the pinned tree here: every resolver
method of the op table maps to the kernel defining its registration, in both trees; and every
example model builds and links for native and qemu-m4 with only its kernels compiled.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from tests.conftest import REPO, SHARED_MODELS, missing_tool_reason
from tinyrig.builder.errors import BuildError
from tinyrig.builder.firmware import build_firmware
from tinyrig.builder.kernels import (
    KERNEL_DIRS,
    core_sources,
    library_sources,
    model_sources,
    resolver_registrations,
)
from tinyrig.builder.tflm import tflm_tree
from tinyrig.model.export import export_model
from tinyrig.model.ops import CUSTOM_RESOLVER_METHODS, RESOLVER_METHODS

EXAMPLE_MODELS = sorted([*REPO.glob("models/*/*_int8.tflite"), *SHARED_MODELS.glob("*.tflite")])
# Large enough for every example model; the arena only sizes a static array.
ARENA = 160 * 1024
FC_CMSIS = "tensorflow/lite/micro/kernels/cmsis_nn/fully_connected.cc"


@pytest.fixture(scope="module", params=["reference", "cmsis_nn"])
def root(request: pytest.FixtureRequest) -> Path:
    tree = tflm_tree()
    if request.param == "reference":
        return tree.root
    if tree.cmsis_nn_root is None:
        pytest.skip("the TFLM source has no CMSIS-NN tree")
    return tree.cmsis_nn_root


def test_every_op_table_method_has_registrations(root: Path) -> None:
    table = resolver_registrations(root)
    methods = set(RESOLVER_METHODS.values()) | set(CUSTOM_RESOLVER_METHODS.values())
    assert methods <= set(table)
    assert all(table[m] for m in methods), [m for m in methods if not table[m]]
    assert table["AddFullyConnected"] == ("Register_FULLY_CONNECTED",)


def test_every_method_selects_the_kernel_defining_its_registration(root: Path) -> None:
    core = set(core_sources(root))
    library = set(library_sources(root))
    table = resolver_registrations(root)
    for method in sorted(set(RESOLVER_METHODS.values()) | set(CUSTOM_RESOLVER_METHODS.values())):
        selected = set(model_sources(root, [method]))
        assert core <= selected <= library, method
        kernels = [s for s in selected - core if s.startswith(KERNEL_DIRS)]
        for registration in table[method]:
            assert any(f"{registration}()" in (root / k).read_text() for k in kernels), (
                method, registration)


def test_a_one_op_model_compiles_a_fraction_of_the_library(root: Path) -> None:
    selected = model_sources(root, ["AddFullyConnected"])
    assert "tensorflow/lite/micro/micro_interpreter.cc" in selected
    assert "tensorflow/lite/micro/kernels/fully_connected_common.cc" in selected
    assert not any("conv" in s and "kernels" in s for s in selected), selected
    assert len(selected) * 3 < len(library_sources(root))
    if "cmsis" in root.name:
        assert FC_CMSIS in selected
        assert ("third_party/cmsis_nn/Source/FullyConnectedFunctions/arm_fully_connected_s8.c"
                in selected)


def test_platform_sources_are_never_compiled(root: Path) -> None:
    library = library_sources(root)
    assert "tensorflow/lite/micro/debug_log.cc" not in library
    assert not any(s.startswith("tensorflow/lite/micro/cortex_m_generic/") for s in library)


def test_unknown_method_is_a_build_error(root: Path) -> None:
    with pytest.raises(BuildError, match="no AddNoSuchOp"):
        model_sources(root, ["AddNoSuchOp"])


def _defined_symbols(elf: Path) -> set[str]:
    with elf.open("rb") as stream:
        names: set[str] = set()
        for section in ELFFile(stream).iter_sections():
            if isinstance(section, SymbolTableSection):
                names.update(s.name for s in section.iter_symbols()
                             if s["st_shndx"] != "SHN_UNDEF")
        return names


@pytest.mark.slow
@pytest.mark.parametrize("target", ["native", "qemu-m4"])
@pytest.mark.parametrize("model", EXAMPLE_MODELS, ids=lambda p: p.stem)
def test_example_model_builds_with_only_its_kernels(model: Path, target: str,
                                                    tmp_path: Path) -> None:
    reason = missing_tool_reason(target)
    if reason:
        pytest.skip(reason)
    image = build_firmware(target, model, arena_bytes=ARENA)
    listing = image.elf.parents[2] / "tflm_sources.txt"
    compiled = listing.read_text().split()
    methods = export_model(model, tmp_path, arena_bytes=ARENA).resolver_methods
    tree = tflm_tree()
    root = tree.cmsis_nn_root if target == "qemu-m4" and tree.cmsis_nn_root else tree.root
    assert compiled == model_sources(root, methods)
    # Registrations of ops the model does not use are not in the image.
    symbols = " ".join(_defined_symbols(image.elf))
    table = resolver_registrations(root)
    for method, registrations in table.items():
        for registration in registrations:
            present = registration in symbols
            if method in methods:
                assert present, (method, registration)
    assert "Register_CONV_2D" in symbols or "AddConv2D" not in methods
    if "AddConv2D" not in methods and "AddDepthwiseConv2D" not in methods:
        assert "Register_CONV_2D" not in symbols
