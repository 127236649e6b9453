"""``emulated``: an emulated board has no flash to write; "flashing" boots the image."""

from __future__ import annotations

from tinyrig.device.emulators import launch_native, launch_qemu
from tinyrig.flash.base import FlashJob, Progress, WriteResult
from tinyrig.flash.errors import FlashError


class EmulatedMethod:
    """Boot the image in its emulator (QEMU, or the native firmware as a process)."""

    name = "emulated"

    def run(self, job: FlashJob, progress: Progress) -> WriteResult:
        emulator = job.board.emulator
        if emulator is None:
            raise FlashError(f"{job.board.target} is a real board, not an emulated one",
                             method=self.name, hint="pick a method with --via")
        if not job.write:
            raise FlashError("an emulated board has nothing to verify: it boots the image",
                             method=self.name)
        progress(completed=0, total=job.image.size, description="booting")
        board = (launch_native(job.image.elf) if emulator == "native"
                 else launch_qemu(job.image.elf, machine=emulator))
        progress(completed=job.image.size, total=job.image.size, description="booted")
        return WriteResult(bytes_written=job.image.size, verified=False,
                           destination=board.name, uart=board.uart, board=board)
