"""tinyrig: take a TinyML model from Python to a microcontroller and back.

Layers, each a subpackage, each depending only on the ones before it:

- ``tinyrig.model``     model toolchain: parse, inspect, check, size the arena, export, convert
- ``tinyrig.protocol``  sans-IO wire codec (no I/O inside)
- ``tinyrig.transport`` byte streams behind one ``Transport`` protocol (serial, pty, TCP)
- ``tinyrig.device``    ``Device`` backends: sim, native, qemu, serial boards
- ``tinyrig.builder``     TFLM sources, PlatformIO provisioning and firmware builds
- ``tinyrig.cli``       the thin typer front end
"""

from tinyrig.errors import TinyrigError

__version__ = "0.1.0"
TFLM_COMMIT = "90b983c"
TFLM_COMMIT_FULL = "90b983c2b3f1480642e040bbd2ddb37b998f3424"

__all__ = ["TFLM_COMMIT", "TFLM_COMMIT_FULL", "TinyrigError", "__version__"]
