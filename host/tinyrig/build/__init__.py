"""Firmware builds: TFLM sources, an offline PlatformIO core, and ``build_firmware()``.

- :mod:`tinyrig.build.tflm`: the pinned TFLM tree (``tflm_tree()``)
- :mod:`tinyrig.build.platformio`: ``ensure_core()``, ``pio_environment()``
- :mod:`tinyrig.build.firmware`: ``build_firmware()`` -> ``FirmwareImage``
"""
