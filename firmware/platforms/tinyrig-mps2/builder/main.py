"""SCons builder of the tinyrig-mps2 platform: arm-none-eabi-gcc from PATH, newlib-nano.

The CPU comes from the board (``build.cpu``, ``build.fpu``, ``build.float_abi``); the linker
script and startup code belong to the firmware (``board_build.ldscript``).
"""

import os

from SCons.Script import Default, DefaultEnvironment

env = DefaultEnvironment()
env.SConscript(os.path.join(env.subst("$PROJECT_DIR"), "firmware", "scripts",
                            "tinyrig_arm_gcc.py"), exports="env")

program = env.BuildProgram()
Default([program])
