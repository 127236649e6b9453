"""Devices: one interface, several backends (sim, native, qemu, serial boards)."""

from tinyrig.device.base import Device, Inference
from tinyrig.device.errors import (
    ArenaTooSmallError,
    DeviceError,
    DeviceRejectedError,
    DeviceResetError,
    DeviceTimeoutError,
    EmulatorError,
    InputError,
    ModelMismatchError,
    ModelNotLoadedError,
)
from tinyrig.device.open import build_target, open_device
from tinyrig.device.tensors import dequantize, prepare_batch

__all__ = [
    "ArenaTooSmallError", "Device", "DeviceError", "DeviceRejectedError", "DeviceResetError",
    "DeviceTimeoutError", "EmulatorError", "Inference", "InputError", "ModelMismatchError",
    "ModelNotLoadedError", "build_target", "dequantize", "open_device", "prepare_batch",
]
