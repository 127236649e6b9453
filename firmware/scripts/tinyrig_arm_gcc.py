"""SCons fragment shared by the Cortex-M platforms (tinyrig-mps2, tinyrig-stm32f4): the
arm-none-eabi-gcc toolchain from PATH, newlib-nano, CPU flags from the board JSON.

Called by a platform builder as ``env.SConscript(path, exports="env")``.
"""

Import("env")  # noqa: F821  (SCons injects Import)

board = env.BoardConfig()  # noqa: F821


def _region_size(option):
    """The size of a board fact "<origin> <size>" (custom_tinyrig_flash, ...), 0 if absent."""
    parts = env.GetProjectOption(option, "").split()  # noqa: F821
    if len(parts) != 2:
        return 0
    size = parts[1].upper()
    scale = {"K": 1024, "M": 1024 * 1024}.get(size[-1:], 1)
    return int(size.rstrip("KM"), 0) * scale


# PlatformIO prints and checks sizes against these; the facts live in platformio.ini.
board.update("upload.maximum_size", _region_size("custom_tinyrig_flash"))
board.update("upload.maximum_ram_size",
             _region_size("custom_tinyrig_ram") + _region_size("custom_tinyrig_ccm"))

cpu_flags = ["-mcpu=%s" % board.get("build.cpu"), "-mthumb"]
if board.get("build.fpu", ""):
    cpu_flags += [
        "-mfloat-abi=%s" % board.get("build.float_abi", "hard"),
        "-mfpu=%s" % board.get("build.fpu"),
    ]
else:
    cpu_flags += ["-mfloat-abi=soft"]

env.Replace(  # noqa: F821
    AR="arm-none-eabi-gcc-ar",
    AS="arm-none-eabi-as",
    CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++",
    GDB="arm-none-eabi-gdb",
    OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-gcc-ranlib",
    SIZETOOL="arm-none-eabi-size",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
    SIZEPROGREGEXP=r"^(?:\.text|\.data|\.rodata|\.ARM\.exidx|\.ARM\.extab)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.noinit|\.stack|\.heap)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
)
env.Append(  # noqa: F821
    ASFLAGS=cpu_flags,
    ASPPFLAGS=cpu_flags + ["-x", "assembler-with-cpp"],
    CCFLAGS=cpu_flags,
    LINKFLAGS=cpu_flags + [
        "--specs=nano.specs",
        "--specs=nosys.specs",
        "-nostartfiles",
        "-Wl,--gc-sections",
        "-Wl,--print-memory-usage",
        "-Wl,-Map,${BUILD_DIR}/firmware.map",
    ],
    LIBS=["stdc++_nano", "m", "c_nano", "gcc"],
)
