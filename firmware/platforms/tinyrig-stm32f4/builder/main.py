"""SCons builder of the tinyrig-stm32f4 platform, for
STM32F4 chips (Nucleo-F446RE/F411RE, F4DISCOVERY, QEMU netduinoplus2).

Everything is the shared Cortex-M builder's (firmware/platforms/cortex_m_builder.py): the CPU
comes from the board JSON, the memory map from the environment's board facts, the linker script
and startup code from the firmware (``board_build.ldscript``, firmware/src/hal/).
"""

import os

from SCons.Script import DefaultEnvironment

env = DefaultEnvironment()
env.SConscript(os.path.join(env.subst("$PROJECT_DIR"), "firmware", "platforms",
                            "cortex_m_builder.py"), exports="env")
