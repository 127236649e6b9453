"""``tinyrig plan``: an offline memory plan written into the model, measured against TFLM.

:func:`plan_model` computes the tensor placement (:mod:`tinyrig.model.memory_plan`), writes it
as ``OfflineMemoryAllocation`` metadata (:mod:`tinyrig.model.metadata_edit`) and, with
``measure=True``, bisects the smallest arena of the original model (TFLM's greedy planner) and
of the planned one with the real allocator (:func:`tinyrig.model.arena.measure_arena`). The
lower bound is the persistent bytes (the allocator's tail) plus the larger of the largest total
of 16-aligned tensor bytes live at one scope and the temporary memory TFLM needs while it
initialises (measured; plan-independent, it dominates tiny models); the scratch buffers the
kernels request are placed by TFLM around the plan and counted in the measured arena.

A plan is only written when TFLM would place every tensor where the plan says (the greedy
planner is replayed with the offline offsets) and no two tensors live at the same time overlap;
offsets are fixed only where they beat TFLM's own placement (see :func:`plan_model`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tinyrig.model.flatbuffer import Model, load_model
from tinyrig.model.memory_plan import (
    OFFLINE_PLAN_METADATA,
    PlanError,
    check_plan,
    decode_offline_plan,
    encode_offline_plan,
    greedy_plan,
    height,
    pack,
    tensor_lifetimes,
)
from tinyrig.model.metadata_edit import read_metadata, set_metadata

__all__ = ["PlanReport", "TensorPlacement", "plan_model", "read_plan", "write_plan"]


@dataclass(frozen=True)
class TensorPlacement:
    tensor: int
    name: str
    offset: int
    bytes: int  # rounded up to 16, as TFLM's planner sizes it
    first: int  # allocation scopes: 0 = graph inputs, op i = i + 1
    last: int


@dataclass(frozen=True)
class PlanReport:
    model: str
    model_sha256: str
    planned_sha256: str
    output: str | None
    tensors: tuple[TensorPlacement, ...]
    planned_head_bytes: int  # our plan: highest byte of any tensor
    greedy_head_bytes: int  # TFLM's greedy plan of the same tensors
    lower_bound_head_bytes: int  # largest total live at once
    method: str
    optimal: bool  # the head equals the lower bound, or the ILP proved it minimal
    plan_seconds: float
    fixed: bool  # the plan fixes offsets (False: TFLM's greedy is as good; left to TFLM)
    # measured with the real allocator (measure=True), else None
    greedy_arena_bytes: int | None = None
    planned_arena_bytes: int | None = None
    persistent_bytes: int | None = None
    init_bytes: int | None = None  # non-persistent bytes TFLM needs while it initialises
    lower_bound_arena_bytes: int | None = None

    @property
    def saving_bytes(self) -> int | None:
        if self.greedy_arena_bytes is None or self.planned_arena_bytes is None:
            return None
        return self.greedy_arena_bytes - self.planned_arena_bytes

    @property
    def over_lower_bound(self) -> float | None:
        """planned arena / lower bound - 1."""
        if self.planned_arena_bytes is None or not self.lower_bound_arena_bytes:
            return None
        return self.planned_arena_bytes / self.lower_bound_arena_bytes - 1


def read_plan(model: Model | bytes | str | os.PathLike[str]) -> tuple[int, ...] | None:
    """The offline offsets stored in a model (None when it has no plan)."""
    m = load_model(model)
    payload = read_metadata(m.data, OFFLINE_PLAN_METADATA)
    return None if payload is None else decode_offline_plan(payload)


def write_plan(model: Model, offsets: dict[int, int]) -> bytes:
    """``model``'s bytes with ``offsets`` (tensor -> arena offset) as its offline plan."""
    n = sum(len(sg.tensors) for sg in model.subgraphs)
    return set_metadata(model.data, OFFLINE_PLAN_METADATA, encode_offline_plan(n, offsets))


def plan_model(model: Model | bytes | str | os.PathLike[str], output: Path | None = None, *,
               measure: bool = False, time_limit: float = 20.0,
               fix_ties: bool = False) -> PlanReport:
    """Plan ``model`` (see module doc); write the planned model to ``output`` when given.

    When TFLM's own greedy placement is already as small as ours, the plan leaves every tensor
    to TFLM (all offsets ONLINE, ``fixed=False``): fixed offsets would gain nothing, and the
    scratch buffers of optimized kernels (CMSIS-NN), which TFLM places around fixed tensors,
    can then land higher than in TFLM's joint placement. ``fix_ties`` writes our offsets anyway.
    """
    src = model if isinstance(model, str | os.PathLike) else None
    m = load_model(model)
    buffers = tensor_lifetimes(m)
    packing = pack(buffers, time_limit=time_limit)
    greedy = greedy_plan(buffers)
    greedy_head = height(buffers, greedy)
    fixed = fix_ties or packing.height < greedy_head
    chosen = packing.offsets if fixed else tuple(greedy)
    offsets = {b.tensor: o for b, o in zip(buffers, chosen, strict=True)}
    # TFLM must place every tensor exactly where we say (offline buffers are never moved)
    replay = greedy_plan(buffers, [offsets[b.tensor] for b in buffers])
    if list(replay) != list(chosen):
        raise PlanError("TFLM's planner would not keep the offline offsets (internal error)")
    check_plan(buffers, chosen)
    planned = write_plan(m, offsets if fixed else {})
    if output is not None:
        try:
            Path(output).write_bytes(planned)
        except OSError as exc:
            raise PlanError(f"cannot write {output}: {exc.strerror or exc}") from None
    names = m.main.tensors
    placements = tuple(TensorPlacement(b.tensor, names[b.tensor].name, offsets[b.tensor],
                                       b.size, b.first, b.last) for b in buffers)
    report = PlanReport(
        model=os.fspath(src) if src is not None else "", model_sha256=m.sha256,
        planned_sha256=load_model(planned).sha256,
        output=os.fspath(output) if output is not None else None, tensors=placements,
        planned_head_bytes=height(buffers, chosen), greedy_head_bytes=greedy_head,
        lower_bound_head_bytes=packing.lower_bound,
        method=packing.method if fixed else "tflm-greedy (left to TFLM)",
        optimal=packing.optimal, plan_seconds=packing.seconds, fixed=fixed)
    if not measure:
        return report
    from dataclasses import replace

    from tinyrig.model.arena import measure_arena

    tflm = measure_arena(m)
    ours = measure_arena(planned)
    persistent = ours.breakdown.persistent_bytes if ours.breakdown is not None else 0
    # Before any plan exists, TFLM takes temporary memory beside the persistent tail (the
    # per-tensor AllocationInfo array, the planner's own lists, kernels' temporary tensors):
    # the same for every plan. Where the greedy model's minimum exceeds its head + tail, that
    # excess is this floor; no offline plan can go below it.
    init = 0
    if tflm.breakdown is not None:
        init = max(0, tflm.minimum_bytes - tflm.breakdown.persistent_bytes)
        if init <= tflm.breakdown.non_persistent_bytes:
            init = 0  # the head, not the initialisation, set the minimum
    return replace(report, greedy_arena_bytes=tflm.minimum_bytes,
                   planned_arena_bytes=ours.minimum_bytes, persistent_bytes=persistent,
                   init_bytes=init,
                   lower_bound_arena_bytes=max(packing.lower_bound, init) + persistent)
