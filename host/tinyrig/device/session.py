"""Running a batch on a device and comparing it with the host reference: the library API
behind ``tinyrig run``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyrig.device.base import Array, Device, set_keep_state
from tinyrig.device.errors import InputError
from tinyrig.device.tensors import prepare_batch
from tinyrig.protocol import DeviceInfo


@dataclass(frozen=True)
class SampleResult:
    inputs: list[Array]
    outputs: list[Array]
    reference: list[Array] | None
    micros: int | None
    ticks: int | None

    @property
    def matches(self) -> bool | None:
        """Bit-exact equality with the reference (None when no reference was run)."""
        if self.reference is None:
            return None
        return all(np.array_equal(a, b) and a.dtype == b.dtype
                   for a, b in zip(self.outputs, self.reference, strict=True))


@dataclass(frozen=True)
class RunReport:
    device: str
    model: str
    info: DeviceInfo
    samples: list[SampleResult]
    # What the samples' ``ticks`` count ("instructions", "cycles", "ticks", "ns"; None when
    # the backend does not time invokes). Never call instructions cycles.
    tick_unit: str | None = None

    @property
    def mismatches(self) -> int:
        return sum(1 for s in self.samples if s.matches is False)

    @property
    def compared(self) -> bool:
        return any(s.reference is not None for s in self.samples)


def load_arrays(paths: Sequence[Path]) -> list[Array]:
    """Load ``.npy`` files (one per model input), or one ``.npz`` holding them in order."""
    arrays: list[Array] = []
    for path in paths:
        if not path.is_file():
            raise InputError(f"input file {path} does not exist")
        try:
            loaded = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputError(f"{path} is not a readable .npy/.npz file ({exc})") from None
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                arrays.extend(loaded[key] for key in loaded.files)
        else:
            arrays.append(loaded)
    return arrays


def run_batch(device: Device, arrays: Sequence[Array], *, reference: Device | None = None,
              quantize: bool = False, model_name: str = "", keep_state: bool = False
              ) -> RunReport:
    """Run every sample in ``arrays`` on ``device`` (and on ``reference`` when given), in
    order, under one state rule on both (:mod:`tinyrig.model.state`): stateless, or with
    ``keep_state`` the samples as one stream."""
    info = device.info()
    set_keep_state(device, keep_state)
    if reference is not None:
        set_keep_state(reference, keep_state)
    samples = prepare_batch(info.inputs, arrays, quantize=quantize)
    from tinyrig.device.sim import SimDevice

    if isinstance(device, SimDevice) and reference is None and samples:
        # the whole batch in one call: no per-sample Python beyond the interpreter
        stacked = [np.stack([s[j] for s in samples]) for j in range(len(samples[0]))]
        outs = device.infer_batch(stacked).outputs
        return RunReport(device.url, model_name, info, [
            SampleResult(sample, [o[k] for o in outs], None, None, None)
            for k, sample in enumerate(samples)])
    results = []
    for sample in samples:
        result = device.infer(sample)
        expected = reference.infer(sample).outputs if reference is not None else None
        results.append(SampleResult(sample, result.outputs, expected, result.micros,
                                    result.ticks))
    timed = any(result.ticks is not None for result in results)
    return RunReport(device.url, model_name, info, results,
                     info.tick_unit.label if timed else None)
