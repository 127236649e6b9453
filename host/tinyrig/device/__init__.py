"""Devices: one interface, several backends (sim, native, qemu, serial boards)."""

from tinyrig.device.base import Device, Inference
from tinyrig.device.errors import (
    DeviceError,
    DeviceRejectedError,
    DeviceResetError,
    DeviceTimeoutError,
    EmulatorError,
    InputError,
    ModelMismatchError,
)
from tinyrig.device.open import build_target, open_device
from tinyrig.device.tensors import dequantize, prepare_batch

__all__ = [
    "Device", "DeviceError", "DeviceRejectedError", "DeviceResetError", "DeviceTimeoutError",
    "EmulatorError", "Inference", "InputError", "ModelMismatchError", "build_target",
    "dequantize", "open_device", "prepare_batch",
]
