"""The upload ("runner") firmware targets declared in platformio.ini."""

from __future__ import annotations

from tinyrig.builder.firmware import available_targets, runner_arena_bytes


def test_every_target_has_a_runner_flavour() -> None:
    targets = set(available_targets())
    debug = {t for t in targets if "-debug" in t}  # runner + every tensor kept (layer diff)
    plain = {t for t in targets if not t.endswith("-runner")} - debug
    assert {"native", "qemu-m4"} <= plain
    assert {f"{t}-runner" for t in plain} <= targets
    assert {"native-debug", "qemu-m4-debug"} <= debug
    assert {t.split("-debug")[0] + "-runner" for t in debug} <= targets


def test_runner_arena_sizes() -> None:
    assert runner_arena_bytes("native") is None
    assert runner_arena_bytes("qemu-m4") is None
    assert runner_arena_bytes("native-runner") == 16 * 1024 * 1024
    assert runner_arena_bytes("native-debug") == 16 * 1024 * 1024
    for target in ("qemu-m4-runner", "qemu-m3-runner", "qemu-m7-runner", "qemu-m4-debug"):
        assert runner_arena_bytes(target) == 2 * 1024 * 1024
