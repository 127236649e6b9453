"""A device that runs tinyrig firmware and speaks the wire protocol over a Transport."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from tinyrig.device.base import Array, Inference, decode_outputs
from tinyrig.device.client import DeviceClient
from tinyrig.device.emulators import EmulatedBoard
from tinyrig.device.errors import EmulatorError
from tinyrig.device.tensors import check_sample
from tinyrig.errors import TinyrigError
from tinyrig.protocol import DeviceInfo, DeviceStats, ErrorCode, ProfileEntry
from tinyrig.transport import Transport


class RemoteDevice:
    """Firmware on the other end of a transport; may own the process emulating the board.

    ``target`` (the firmware's build target) and ``model_path`` (the model it should run), when
    known, make the error for a model that did not load name the exact fix."""

    def __init__(self, transport: Transport, *, url: str | None = None,
                 board: EmulatedBoard | None = None,
                 connect_timeout: float = 10.0, target: str | None = None,
                 model_path: Path | None = None) -> None:
        self._url = url or transport.url
        self.transport = transport
        self.board = board
        self.target = target
        self.model_path = model_path
        self.client = DeviceClient(transport)
        try:
            with self._guard("connect"):
                self.client.connect(timeout=connect_timeout)
        except BaseException:
            self.close()
            raise

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Explain link failures by the emulator's death when that is what happened."""
        try:
            yield
        except TinyrigError:
            ended = self.board.exit_description() if self.board else None
            if self.board is None or ended is None:
                raise
            raise EmulatorError(f"{self.board.name} {ended} during {what}",
                                hint=self.board.output_tail()[-600:] or None) from None

    @property
    def url(self) -> str:
        return self._url

    def info(self) -> DeviceInfo:
        return self.client.info

    def check_model(self) -> None:
        """Raise ModelNotLoadedError (ArenaTooSmallError, ...) unless the model is loaded."""
        if self.client.info.model_status == ErrorCode.OK:
            return
        from tinyrig.device.model_status import diagnose

        problem = diagnose(self)
        if problem is not None:
            raise problem

    def infer(self, inputs: Sequence[Array]) -> Inference:
        self.check_model()
        info = self.client.info
        raw = [array.tobytes() for array in check_sample(info.inputs, inputs)]
        with self._guard("inference"):
            timing, outputs = self.client.infer(raw)
        return Inference(decode_outputs(info, outputs), timing.ticks, timing.micros)

    @property
    def keep_state(self) -> bool:
        return self.client.keep_state

    def set_keep_state(self, keep: bool) -> None:
        """Stateless (the default of every session) or keep the model's state across
        inferences (STATE); resets the state now (:mod:`tinyrig.model.state`)."""
        with self._guard("STATE"):
            self.client.set_state(keep)

    def profile(self) -> list[ProfileEntry]:
        self.check_model()
        with self._guard("PROFILE"):
            return self.client.profile()

    def stats(self) -> DeviceStats:
        with self._guard("STATS"):
            return self.client.stats()

    def close(self) -> None:
        self.transport.close()
        if self.board is not None:
            self.board.stop()

    def __enter__(self) -> RemoteDevice:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
