"""Why a board's model did not load, and what to do about it.

Every command that talks to a board checks INFO's ``model_status`` first (:func:`open_device`
does, :meth:`RemoteDevice.infer` does again): a model that did not load otherwise shows up as
a confusing symptom later ("the model has 0 inputs"). The error names the status, the device's
own explanation (the ERROR reply to an INVOKE carries the firmware's load message), and the fix:
for ARENA_TOO_SMALL the arena the firmware has, what the model needs on this target when that is
known (``tinyrig arena --on-device``'s cache, else the host measurement, said so), and the
command that builds firmware with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tinyrig.device.base import Device
from tinyrig.device.errors import ArenaTooSmallError, DeviceRejectedError, ModelNotLoadedError
from tinyrig.device.open import DEBUG_SUFFIX, RUNNER_SUFFIX
from tinyrig.device.remote import RemoteDevice
from tinyrig.errors import TinyrigError
from tinyrig.protocol import ErrorCode

_MEANING: Final[dict[ErrorCode, str]] = {
    ErrorCode.NO_MODEL: "the firmware has no model",
    ErrorCode.MODEL_INVALID: "the firmware refused the model",
    ErrorCode.ARENA_TOO_SMALL: "the model does not fit the firmware's tensor arena",
    ErrorCode.MODEL_TOO_LARGE: "the model is larger than the firmware's model slot",
    ErrorCode.MODEL_CRC_MISMATCH: "the uploaded model arrived corrupted",
}


def _base_target(target: str | None) -> str | None:
    """The per-model target of a runner or debug-runner target (qemu-m4-runner -> qemu-m4)."""
    return target.removesuffix(RUNNER_SUFFIX).removesuffix(DEBUG_SUFFIX) if target else None


def _takes_uploads(target: str | None) -> bool:
    return target is not None and target.endswith((RUNNER_SUFFIX, DEBUG_SUFFIX))


@dataclass(frozen=True)
class ArenaNeed:
    """What a model needs on a target and how that is known."""

    bytes: int
    source: str
    on_device: bool


def _placeholder(model: Path | None) -> str:
    return str(model) if model is not None else "MODEL.tflite"


def _ask_why(device: RemoteDevice) -> tuple[str, int | None]:
    """(detail, arg) of the ERROR the device answers to INVOKE while its model is not loaded
    (the firmware puts its load message there; INFO carries only the status)."""
    try:
        device.client.invoke()
    except DeviceRejectedError as rejected:
        name = rejected.code.name if isinstance(rejected.code, ErrorCode) else ""
        return ("" if rejected.detail == name else rejected.detail), rejected.arg
    except TinyrigError:
        pass
    return "", None


def _model_sha(model: Path | None) -> str | None:
    try:
        return hashlib.sha256(model.read_bytes()).hexdigest() if model is not None else None
    except OSError:
        return None


def arena_need(model: Path | None, model_id: bytes, target: str | None,
               emulated_url: str = "qemu") -> ArenaNeed | None:
    """What the model needs on ``target``: the on-device measurement when one was made, else
    the host measurement (when the model file is at hand; its note names the command that
    measures on ``emulated_url``), else None."""
    if target is not None:
        from tinyrig.device.target_arena import known_target_minimum

        measured = known_target_minimum(_model_sha(model) or model_id.hex(), target)
        if measured is not None:
            return ArenaNeed(measured.minimum_bytes,
                             f"measured on {measured.target} by `tinyrig arena --on-device "
                             f"{measured.device}`", on_device=True)
    if model is None:
        return None
    from tinyrig.model.arena import measure_arena

    try:
        host = measure_arena(model)
    except TinyrigError:
        return None
    return ArenaNeed(host.arena_bytes,
                     f"host TFLM measurement + {host.margin_bytes} B margin; the exact figure for "
                     f"this target: `tinyrig arena {model} --on-device {emulated_url}`",
                     on_device=False)


def _arena_error(device: RemoteDevice, detail: str, needed: int | None, *, model: Path | None,
                 target: str | None) -> ArenaTooSmallError:
    info = device.info()
    arena = info.arena_size
    base = _base_target(target)
    where = device.url if device.board is not None else "qemu"
    need = arena_need(model, info.model_id, base, where)
    if need is not None and need.bytes <= arena:
        need = None  # a measurement the device contradicts is no fix
    head = (f"{device.url}: the model did not load (ARENA_TOO_SMALL): the firmware's tensor "
            f"arena is {arena:,} B")
    size: int | None = None
    if need is not None:
        size = need.bytes
        head += f", the model needs {need.bytes:,} B on {base or 'this target'} ({need.source})"
    elif needed is not None and needed > arena:
        head += f", the device says it needs at least {needed:,} B"
    rebuild = None
    if size is not None:
        rebuild = (f"tinyrig build --target {base or 'TARGET'} --model {_placeholder(model)} "
                   f"--arena {size}")
        if device.board is not None and _takes_uploads(target):
            hint = (f"rerun with --arena {size} on firmware built for the model instead of the "
                    f"runner (no --runner), or `{rebuild}`")
        elif device.board is not None:
            hint = (f"rerun with --arena {size} (rebuilds the emulated firmware), or `{rebuild}`")
        else:
            hint = f"rebuild with it and flash the image: `{rebuild}`"
    else:
        hint = ("measure what the model needs on the target: "
                f"`tinyrig arena {_placeholder(model)} --on-device {where}`, then rebuild with "
                "`tinyrig build --target TARGET --model MODEL --arena N`")
    return ArenaTooSmallError(head, url=device.url, detail=detail, hint=hint, arena_bytes=arena,
                              bytes_needed=needed if needed else None,
                              minimum_bytes=need.bytes if need else None,
                              minimum_source=need.source if need else None, target=base,
                              rebuild=rebuild)


def _fix(status: ErrorCode, model: Path | None, target: str | None) -> str:
    base = _base_target(target) or "TARGET"
    name = _placeholder(model)
    if status == ErrorCode.NO_MODEL:
        return (f"flash firmware built with the model (`tinyrig build --target {base} --model "
                f"{name}`), or runner firmware and pass --model to upload it")
    if status == ErrorCode.MODEL_INVALID:
        return (f"`tinyrig check {name}` shows what TFLM cannot run in it (ops, types, "
                f"shapes); firmware built for the model (`tinyrig build --target {base} "
                f"--model {name}`) registers every op it uses")
    if status == ErrorCode.MODEL_TOO_LARGE:
        return f"build the model into the firmware's flash: `tinyrig build --target {base} " \
               f"--model {name}`"
    return "rebuild the firmware with `tinyrig build` and check the model with `tinyrig check`"


def diagnose(device: RemoteDevice, *, status: ErrorCode | None = None,
             detail: str | None = None, arg: int | None = None) -> ModelNotLoadedError | None:
    """The error for ``device``'s model not being loaded, or None when it is.

    ``status``/``detail``/``arg`` come from a refused upload; without them the device's INFO
    status is checked and, when not OK, the device is asked why (an INVOKE, which a device
    without a loaded model refuses with its load message).
    """
    status = device.info().model_status if status is None else status
    if status == ErrorCode.OK:
        return None
    if detail is None:
        detail, arg = _ask_why(device)
    model, target = device.model_path, device.target
    if status == ErrorCode.ARENA_TOO_SMALL:
        return _arena_error(device, detail, arg, model=model, target=target)
    meaning = _MEANING.get(status, "the model is not usable")
    message = f"{device.url}: the model did not load ({status.name}): {meaning}"
    if detail:
        message += f": {detail}"
    return ModelNotLoadedError(message, url=device.url, status=status, detail=detail,
                               hint=_fix(status, model, target))


def model_problem(device: Device) -> ModelNotLoadedError | None:
    """Why ``device``'s model is not loaded, or None (always None for the in-process sim)."""
    return diagnose(device) if isinstance(device, RemoteDevice) else None
