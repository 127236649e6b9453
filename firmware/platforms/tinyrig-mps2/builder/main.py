"""SCons builder of the tinyrig-mps2 platform: arm-none-eabi-gcc from PATH, newlib-nano.

The CPU comes from the board (``build.cpu``, ``build.fpu``, ``build.float_abi``); the linker
script and startup code belong to the firmware (``board_build.ldscript``).
"""

from SCons.Script import Default, DefaultEnvironment

env = DefaultEnvironment()
board = env.BoardConfig()

cpu_flags = ["-mcpu=%s" % board.get("build.cpu"), "-mthumb"]
if board.get("build.fpu", ""):
    cpu_flags += [
        "-mfloat-abi=%s" % board.get("build.float_abi", "hard"),
        "-mfpu=%s" % board.get("build.fpu"),
    ]
else:
    cpu_flags += ["-mfloat-abi=soft"]

env.Replace(
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
env.Append(
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

program = env.BuildProgram()
Default([program])
