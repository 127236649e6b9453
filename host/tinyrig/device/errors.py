"""Exceptions of the device layer: sessions, replies, emulators and inputs."""

from __future__ import annotations

from tinyrig.errors import TinyrigError
from tinyrig.protocol.messages import ErrorCode, MessageType


class DeviceError(TinyrigError):
    """Talking to a device failed."""


class DeviceTimeoutError(DeviceError):
    """No valid reply arrived in time, after every retry."""

    def __init__(self, request: str, seconds: float, attempts: int, *, url: str) -> None:
        super().__init__(
            f"{url}: no reply to {request} after {attempts} attempt(s) "
            f"({seconds:.1f} s each)",
            hint="is the device running tinyrig firmware at the right baud rate? "
                 "`tinyrig info --device URL` checks the link",
        )
        self.request = request
        self.seconds = seconds
        self.attempts = attempts


class DeviceResetError(DeviceError):
    """The device rebooted during the session; state sent before the reset is gone."""

    def __init__(self, url: str, during: str) -> None:
        super().__init__(f"{url}: the device reset during {during}",
                         hint="check its power and watchdog, then retry")
        self.during = during


class DeviceRejectedError(DeviceError):
    """The device answered with a typed ERROR reply."""

    def __init__(self, code: ErrorCode | int, request: MessageType | int, arg: int,
                 detail: str, *, url: str) -> None:
        name = code.name if isinstance(code, ErrorCode) else f"code {code}"
        request_name = request.name if isinstance(request, MessageType) else f"{request:#04x}"
        text = f"{url}: device rejected {request_name}: {name}"
        if detail:
            text += f" ({detail})"
        super().__init__(text, hint=_HINTS.get(code))
        self.code = code
        self.request = request
        self.arg = arg
        self.detail = detail


_HINTS: dict[ErrorCode | int, str] = {
    ErrorCode.ARENA_TOO_SMALL: "rebuild with the size `tinyrig arena MODEL` measures",
    ErrorCode.NO_MODEL: "flash firmware built with a model, or upload one",
    ErrorCode.MODEL_INVALID: "run `tinyrig check MODEL` to see what the firmware cannot run",
    ErrorCode.BAD_VERSION: "flash firmware built by this version of tinyrig",
    ErrorCode.MODEL_TOO_LARGE: "the model is larger than the firmware's model slot (arg): "
                               "build it into the firmware with `tinyrig build`",
}


class ModelMismatchError(DeviceError):
    """The device runs another model than the one the user asked for."""


class UploadRefusedError(DeviceError):
    """The model cannot go to this upload firmware: it is larger than the model slot, or uses
    ops the firmware does not have. Refused on the host, before any byte is sent."""

    def __init__(self, message: str, *, target: str, problems: tuple[str, ...],
                 hint: str) -> None:
        super().__init__(message, hint=hint)
        self.target = target
        self.problems = problems


class EmulatorError(DeviceError):
    """An emulated board (native process or QEMU) failed to start or died."""


class InputError(DeviceError):
    """Input arrays that do not fit the model's input tensors."""


class ModelNotLoadedError(DeviceError):
    """The firmware's model did not load (INFO's ``model_status`` is not OK, or an upload was
    refused): ``status`` says why, ``detail`` is the device's own explanation."""

    def __init__(self, message: str, *, url: str, status: ErrorCode, detail: str,
                 hint: str | None) -> None:
        super().__init__(message, hint=hint)
        self.url = url
        self.status = status
        self.detail = detail


class ArenaTooSmallError(ModelNotLoadedError):
    """The model does not fit the firmware's tensor arena.

    ``arena_bytes`` is the arena the firmware has; ``minimum_bytes`` what the model needs on
    this target when known (``minimum_source`` says how it was measured); ``bytes_needed`` the
    device's own lower bound (TFLM's "missing: N"), if it gave one; ``rebuild`` the command
    that builds firmware with enough arena (None when the target is unknown).
    """

    def __init__(self, message: str, *, url: str, detail: str, hint: str | None,
                 arena_bytes: int, bytes_needed: int | None, minimum_bytes: int | None,
                 minimum_source: str | None, target: str | None,
                 rebuild: str | None) -> None:
        super().__init__(message, url=url, status=ErrorCode.ARENA_TOO_SMALL, detail=detail,
                         hint=hint)
        self.arena_bytes = arena_bytes
        self.bytes_needed = bytes_needed
        self.minimum_bytes = minimum_bytes
        self.minimum_source = minimum_source
        self.target = target
        self.rebuild = rebuild

    def details(self) -> list[str]:
        return [f"the device says: {self.detail}"] if self.detail else []
