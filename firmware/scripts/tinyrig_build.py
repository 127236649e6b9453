"""PlatformIO pre-script: the TFLM library and the exported model, from outside the repo.

Inputs (environment variables, set by ``tinyrig.builder.firmware.build_firmware``):

- ``TINYRIG_TFLM_DIR``: a TFLM tree made by ``create_tflm_tree.py`` (reference or CMSIS-NN);
  ``tinyrig.builder.tflm.tflm_tree()`` resolves it. Never copied into the repo.
- ``TINYRIG_MODEL_DIR``: the output of ``tinyrig.model.export.export_model`` (``tinyrig_model.h``
  and friends).

The platform builder (``firmware/platforms/*``) sets the toolchain and CPU flags and then calls
``env.BuildProgram()``; this script wraps that call so the TFLM library is compiled with the
final toolchain but *before* the project's ``build_flags`` are applied. TFLM objects therefore
depend only on (TFLM tree, toolchain, CPU, the flags below), which keeps them shareable through
``build_cache_dir`` across models and build directories. Project option ``custom_tflm_kernels``
selects ``reference`` or ``cmsis_nn`` kernels (the latter needs ``TINYRIG_TFLM_CMSIS_NN_DIR``).

Which TFLM sources are compiled comes from the file ``TINYRIG_TFLM_SOURCES`` names (see
``tinyrig.builder.kernels``): a model's firmware compiles the core plus the kernels its resolver
registers (``TINYRIG_TFLM_KERNELS=model``), the runner firmware the whole library (``all``).
Objects keep their paths under ``$BUILD_DIR/tflm``, so both share the build cache.
"""

import os

from SCons.CacheDir import CacheDir
from SCons.Util import hash_collect

Import("env")  # noqa: F821  (SCons injects Import)


class BuildDirRelativeCacheDir(CacheDir):
    """SCons CacheDir whose keys do not depend on where the build directory is.

    Stock SCons mixes the target's path into the cache key, and our build directories are
    absolute and differ per model (PLATFORMIO_BUILD_DIR), so no object would ever be shared.
    Here the path is taken relative to $BUILD_DIR; the rest of the key (the command line, the
    contents of the sources and every header they include) is SCons's own.
    """

    build_dir = None

    def cachepath(self, node):
        if not self.is_enabled():
            return None, None
        try:
            sig = node.cachesig
        except AttributeError:
            sigs = [child.get_cachedir_csig() for child in node.children()]
            sigs.append(node.get_contents_sig())
            path = node.get_abspath()
            if self.build_dir and path.startswith(self.build_dir + os.sep):
                path = os.path.relpath(path, self.build_dir)
            else:
                path = node.get_internal_path()
            sigs.append(path)
            sig = node.cachesig = hash_collect(sigs)
        subdir = sig[: self.config["prefix_len"]].upper()
        cachedir = os.path.join(self.path, subdir)
        return cachedir, os.path.join(cachedir, sig)


if env.subst("$BUILD_CACHE_DIR"):
    BuildDirRelativeCacheDir.build_dir = os.path.realpath(env.subst("$BUILD_DIR"))
    env.CacheDir("$BUILD_CACHE_DIR", custom_class=BuildDirRelativeCacheDir)

# Flags TFLM was verified with (0 warnings). TF_LITE_STATIC_MEMORY changes TfLiteTensor's layout,
# so it goes to every translation unit, ours included.
TFLM_ABI_DEFINES = ["TF_LITE_STATIC_MEMORY", "TF_LITE_DISABLE_X86_NEON", "NDEBUG"]
# -ffp-contract=off: no fused multiply-add, so float kernels round exactly like the host
# reference build and float models are bit-exact too, not only int8 ones.
TFLM_CCFLAGS = ["-Os", "-ffunction-sections", "-fdata-sections", "-ffp-contract=off"]
TFLM_CXXFLAGS = ["-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics"]
def _required_dir(variable):
    value = os.environ.get(variable, "")
    if not value or not os.path.isdir(value):
        sys_exit("tinyrig: set %s to a directory (got %r); build through "
                 "`tinyrig build` or tinyrig.builder.firmware.build_firmware()" % (variable, value))
    return os.path.realpath(value)


def sys_exit(message):
    print("Error: " + message)
    env.Exit(1)


def _kernels():
    kernels = env.GetProjectOption("custom_tflm_kernels", "reference")
    if kernels not in ("reference", "cmsis_nn"):
        sys_exit("custom_tflm_kernels must be reference or cmsis_nn, not %r" % kernels)
    return kernels


def _tflm_root():
    if _kernels() == "cmsis_nn":
        return _required_dir("TINYRIG_TFLM_CMSIS_NN_DIR")
    return _required_dir("TINYRIG_TFLM_DIR")


def _include_dirs(root):
    third = os.path.join(root, "third_party")
    dirs = [root] + [os.path.join(third, d) for d in ("flatbuffers/include", "gemmlowp",
                                                       "kissfft", "ruy")]
    if _kernels() == "cmsis_nn":
        dirs += [
            os.path.join(third, "cmsis_nn"),
            os.path.join(third, "cmsis_nn/Include"),
            os.path.join(third, "cmsis"),
            os.path.join(third, "cmsis/CMSIS/Core/Include"),
            os.path.join(third, "cmsis/Cortex_DFP/Device", _cmsis_device(), "Include"),
        ]
    return dirs


def _cmsis_device():
    return env.BoardConfig().get("build.cmsis_device")


def _kernel_defines():
    if _kernels() != "cmsis_nn":
        return []
    device = _cmsis_device()  # e.g. ARMCM4
    core = device.replace("ARMCM", "")
    return [
        "CMSIS_NN",
        "KERNELS_OPTIMIZED_FOR_SPEED",
        ("CPU_M%s" % core, 1),
        device,
        ("CMSIS_DEVICE_ARM_CORTEX_M_XX_HEADER_FILE", env.StringifyMacro("%s.h" % device)),
        ("ARM_NN_ENABLE_F16", 0),
        ("ARM_NN_ENABLE_F32", 0),
    ]


def _build_tflm(program_env):
    root = _tflm_root()
    lib_env = program_env.Clone()
    lib_env.Append(
        CPPDEFINES=TFLM_ABI_DEFINES + _kernel_defines(),
        CCFLAGS=TFLM_CCFLAGS,
        CXXFLAGS=TFLM_CXXFLAGS,
        CFLAGS=["-std=c11"],
        CPPPATH=_include_dirs(root),
    )
    src_filter = ["-<*>"] + ["+<%s>" % path for path in _tflm_sources()]
    library = lib_env.BuildLibrary(os.path.join("$BUILD_DIR", "tflm"), root, src_filter)
    return root, library


def _tflm_sources():
    """The TFLM sources to compile, one path (relative to the tree) per line of the file
    ``TINYRIG_TFLM_SOURCES`` names: the core plus the model's kernels, or the whole library
    (runner firmware). Written by build_firmware from ``tinyrig.builder.kernels``."""
    listing = os.environ.get("TINYRIG_TFLM_SOURCES", "")
    if not listing or not os.path.isfile(listing):
        sys_exit("tinyrig: set TINYRIG_TFLM_SOURCES to the file listing the TFLM sources (got "
                 "%r); build through `tinyrig build`" % listing)
    with open(listing) as stream:
        sources = [line.strip() for line in stream if line.strip()]
    if not sources:
        sys_exit("tinyrig: %s lists no TFLM sources" % listing)
    return sources


def _build_model(program_env, tflm_root):
    model_dir = _required_dir("TINYRIG_MODEL_DIR")
    if not os.path.isfile(os.path.join(model_dir, "tinyrig_model.h")):
        sys_exit("TINYRIG_MODEL_DIR=%s has no tinyrig_model.h" % model_dir)
    model_env = program_env.Clone()
    model_env.Append(
        CPPDEFINES=TFLM_ABI_DEFINES + _kernel_defines(),
        CCFLAGS=TFLM_CCFLAGS,
        CXXFLAGS=TFLM_CXXFLAGS,
        CPPPATH=[model_dir] + _include_dirs(tflm_root),
    )
    library = model_env.BuildLibrary(os.path.join("$BUILD_DIR", "model"), model_dir, "+<*.cc>")
    return model_dir, library


_platform_build_program = env.BuildProgram


def build_program_with_tflm(program_env):
    tflm_root, tflm_library = _build_tflm(program_env)
    model_dir, model_library = _build_model(program_env, tflm_root)
    # Our sources include TFLM headers as system headers: -Werror applies to our code only.
    system_includes = []
    for directory in _include_dirs(tflm_root):
        system_includes += ["-isystem", directory]
    board = program_env.subst("$BOARD") or program_env.subst("$PIOPLATFORM")
    program_env.Append(
        CPPDEFINES=TFLM_ABI_DEFINES + _kernel_defines()
        + [("TINYRIG_BOARD_NAME", program_env.StringifyMacro(board))],
        CPPPATH=[model_dir],
        CCFLAGS=system_includes,
        CXXFLAGS=TFLM_CXXFLAGS,
    )
    # Model first: it references TFLM symbols (op registrations).
    program_env.Prepend(LIBS=[model_library, tflm_library])
    if os.environ.get("TINYRIG_TFLM_KERNELS") == "model":
        # Only the model's kernels are compiled: the all-ops resolver (runner firmware, every
        # op) would reference the others.
        src_filter = program_env.get("SRC_FILTER") or "+<*>"
        if not isinstance(src_filter, str):
            src_filter = " ".join(src_filter)
        program_env.Replace(SRC_FILTER=src_filter + " -<runner/all_ops_resolver.cc>")
    return _platform_build_program()


env.AddMethod(build_program_with_tflm, "BuildProgram")
# One .sconsign per build directory: the default puts it in the shared build cache, where two
# concurrent builds would overwrite each other's records.
env.SConsignFile(os.path.join("$BUILD_DIR", ".sconsign-tinyrig"))
