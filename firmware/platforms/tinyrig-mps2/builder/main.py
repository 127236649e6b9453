"""SCons builder of the tinyrig-mps2 platform, for
the Arm MPS2 boards QEMU emulates (an385/an386/an500):
all of it is the shared Cortex-M builder, firmware/platforms/cortex_m_builder.py."""

from SCons.Script import DefaultEnvironment

env = DefaultEnvironment()
env.SConscript(env.subst("$PROJECT_DIR/firmware/platforms/cortex_m_builder.py"), exports="env")
