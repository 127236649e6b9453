"""Firmware builds: TFLM sources, an offline PlatformIO core, and ``build_firmware()``.

- :mod:`tinyrig.builder.tflm`: the pinned TFLM tree (``tflm_tree()``)
- :mod:`tinyrig.builder.platformio`: ``ensure_core()``, ``pio_environment()``
- :mod:`tinyrig.builder.firmware`: ``build_firmware()`` -> ``FirmwareImage``
"""
