"""The upload ("runner") firmware targets declared in platformio.ini."""

from __future__ import annotations

from tinyrig.boards import board
from tinyrig.builder.firmware import available_targets, runner_arena_bytes


def test_every_target_has_a_runner_flavour() -> None:
    """Boards too small for a RAM model slot beside the firmware (the 16 KiB micro:bit) keep
    uploaded models in flash, with the kernels their flash holds."""
    targets = set(available_targets())
    debug = {t for t in targets if "-debug" in t}  # runner + every tensor kept (layer diff)
    plain = {t for t in targets if not t.endswith("-runner")} - debug
    assert {"native", "qemu-m4"} <= plain
    small = {t for t in plain if (ram := board(t).ram) is not None and ram.size < 64 * 1024}
    assert small == {"microbit"}
    assert {f"{t}-runner" for t in plain} <= targets
    for target in small:
        runner = board(f"{target}-runner")
        assert runner.model_slot is not None and runner.flash is not None
        assert runner.flash.contains(runner.model_slot.origin, runner.model_slot.size)
        assert runner.model_slot_bytes is not None
        assert runner.model_slot_bytes < runner.model_slot.size  # less the model's record
        assert runner.runner_ops is not None and "FULLY_CONNECTED" in runner.runner_ops
    # every other runner has every op and a RAM slot
    assert all(board(f"{t}-runner").runner_ops is None for t in plain - small)
    assert all(board(f"{t}-runner").model_slot is None for t in plain - small)
    assert {"native-debug", "qemu-m4-debug"} <= debug
    assert {t.split("-debug")[0] + "-runner" for t in debug} <= targets


def test_runner_arena_sizes() -> None:
    assert runner_arena_bytes("native") is None
    assert runner_arena_bytes("qemu-m4") is None
    assert runner_arena_bytes("native-runner") == 16 * 1024 * 1024
    assert runner_arena_bytes("native-debug") == 16 * 1024 * 1024
    for target in ("qemu-m4-runner", "qemu-m3-runner", "qemu-m7-runner", "qemu-m4-debug"):
        assert runner_arena_bytes(target) == 2 * 1024 * 1024
