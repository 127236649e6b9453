"""The model toolchain: parse, inspect, check, size the arena, export (and convert).

Modules (import what you need; only ``flatbuffer`` and ``errors`` load here):

- :mod:`~tinyrig.model.flatbuffer`  ``load_model()`` -> ``Model`` (strict flatbuffer reader)
- :mod:`~tinyrig.model.ops`         the pinned TFLM's op table (resolver methods)
- :mod:`~tinyrig.model.inspect`     ``inspect_model()`` -> ``ModelReport``
- :mod:`~tinyrig.model.check`       ``check_model()`` -> ``CheckReport``
- :mod:`~tinyrig.model.arena`       ``measure_arena()`` -> ``ArenaReport``
- :mod:`~tinyrig.model.plan`        ``plan_model()`` -> ``PlanReport`` (offline memory plans)
- :mod:`~tinyrig.model.export`      ``export_model()`` -> ``ExportResult``
- :mod:`~tinyrig.model.reference`   ``ReferenceInterpreter`` (host TFLM, the ``sim`` extra)
- :mod:`~tinyrig.model.convert`     ``convert_model()`` (the ``convert`` extra)
"""

from tinyrig.model.errors import (
    ArenaError,
    ExportError,
    InputError,
    InterpreterError,
    ModelError,
    ModelFileError,
    ModelFormatError,
    NotTfliteError,
    UnsupportedOpError,
)
from tinyrig.model.flatbuffer import Model, load_model

__all__ = [
    "ArenaError",
    "ExportError",
    "InputError",
    "InterpreterError",
    "Model",
    "ModelError",
    "ModelFileError",
    "ModelFormatError",
    "NotTfliteError",
    "UnsupportedOpError",
    "load_model",
]
