"""SCons builder of the tinyrig-nrf5 platform, for
nRF51/nRF52 chips (QEMU's micro:bit, Arduino Nano 33 BLE):
all of it is the shared Cortex-M builder, firmware/platforms/cortex_m_builder.py."""

from SCons.Script import DefaultEnvironment

env = DefaultEnvironment()
env.SConscript(env.subst("$PROJECT_DIR/firmware/platforms/cortex_m_builder.py"), exports="env")
