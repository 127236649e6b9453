"""Exceptions of the model layer: one tree under :class:`tinyrig.errors.TinyrigError`.

::

    TinyrigError
     └── ModelError                    any problem with a model the user gave us
          ├── ModelFileError           cannot read the file (missing, a directory, no permission)
          ├── ModelFormatError         not a TFLite flatbuffer, or corrupt/truncated (.offset)
          ├── UnsupportedOpError       ops the pinned TFLM cannot run (.ops)
          ├── ArenaError               no arena size works, or the measurement itself failed
          ├── InputError               inputs of the wrong dtype/shape/count for the model
          ├── InterpreterError         the TFLM interpreter failed on a model it accepted
          └── ExportError              writing the exported C/C++ sources failed
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyrig.errors import TinyrigError


class ModelError(TinyrigError):
    """A problem with a model the user gave us."""


class ModelFileError(ModelError):
    """The model file cannot be read."""

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class ModelFormatError(ModelError):
    """The bytes are not a TFLite model, or the flatbuffer is corrupt or truncated.

    ``offset`` is the byte offset at which the reader found the problem (``None`` when the
    problem is not at one place, e.g. an empty file); ``size`` is the length of the input.
    """

    def __init__(self, message: str, *, offset: int | None = None, size: int | None = None,
                 hint: str | None = None) -> None:
        where = f" (at byte {offset}" + (f" of {size})" if size is not None else ")")
        super().__init__(message + (where if offset is not None else ""), hint=hint)
        self.reason = message
        self.offset = offset
        self.size = size


class NotTfliteError(ModelFormatError):
    """The file is not a TFLite flatbuffer at all (no ``TFL3`` identifier)."""


class UnsupportedOpError(ModelError):
    """The model uses ops the pinned TFLM cannot run (custom or missing kernels)."""

    def __init__(self, ops: Sequence[str], *, tflm_version: str, hint: str | None = None) -> None:
        listed = ", ".join(ops)
        super().__init__(
            f"TFLM {tflm_version} does not support op{'s' if len(ops) != 1 else ''}: {listed}",
            hint=hint or "rewrite the model with builtin ops TFLM implements "
                         "(tinyrig check lists what is supported)",
        )
        self.ops = tuple(ops)
        self.tflm_version = tflm_version


class ArenaError(ModelError):
    """The tensor arena could not be sized (no size works, or the probe itself failed)."""


class InputError(ModelError):
    """Inputs given to a model do not match its input tensors."""


class InterpreterError(ModelError):
    """The TFLM interpreter rejected or failed to run a model."""


class ExportError(ModelError):
    """Writing the exported model sources failed."""
