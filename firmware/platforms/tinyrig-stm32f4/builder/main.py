"""SCons builder of the tinyrig-stm32f4 platform, for
STM32F4 chips (Nucleo-F446RE/F411RE, F4DISCOVERY, QEMU's netduinoplus2):
all of it is the shared Cortex-M builder, firmware/platforms/cortex_m_builder.py."""

from SCons.Script import DefaultEnvironment

env = DefaultEnvironment()
env.SConscript(env.subst("$PROJECT_DIR/firmware/platforms/cortex_m_builder.py"), exports="env")
