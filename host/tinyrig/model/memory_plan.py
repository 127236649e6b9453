"""Offline memory plans for TFLM: tensor lifetimes, packing, lower bound, the metadata format.

Everything here is pure computation on the graph (no interpreter):

- :func:`tensor_lifetimes` replicates TFLM's ``AllocationInfoBuilder`` (pinned
  ``micro_allocation_info.cc``): which tensors the planner places (no constant data, not a
  variable, non-zero size), their sizes rounded up to ``MicroArenaBufferAlignment()`` (16) as
  ``CreatePlan`` does, and their lifetimes in allocation scopes (graph inputs live from scope 0;
  operator ``i`` is scope ``i + 1``; graph outputs live to the last scope).
- :func:`greedy_plan` replicates ``GreedyMemoryPlanner`` (offline buffers first, then the rest
  by decreasing size, ties by decreasing index, each at the lowest gap among the buffers it
  overlaps in time): the plan TFLM makes, and where it puts online buffers around ours.
- :func:`pack` finds offsets for the buffers: several first-fit orders, then (small graphs) an
  exact ILP with HiGHS; :func:`lower_bound` is the largest total size live at one scope.
- :func:`encode_offline_plan` / :func:`decode_offline_plan`: the ``OfflineMemoryAllocation``
  metadata buffer, int32 little endian ``[version=1, subgraph=0, n, offset_0 .. offset_n-1]``
  with -1 (``kOnlinePlannedBuffer``) for every tensor TFLM must not take from the plan
  (constants, variables, which stay persistent, and tensors of other subgraphs).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tinyrig.model.errors import ModelError
from tinyrig.model.flatbuffer import BuiltinOperator, Model

__all__ = [
    "BUFFER_ALIGNMENT",
    "OFFLINE_PLAN_METADATA",
    "ONLINE",
    "Buffer",
    "Packing",
    "PlanError",
    "decode_offline_plan",
    "encode_offline_plan",
    "greedy_plan",
    "lower_bound",
    "pack",
    "tensor_lifetimes",
]

OFFLINE_PLAN_METADATA: Final = "OfflineMemoryAllocation"
BUFFER_ALIGNMENT: Final = 16  # MicroArenaBufferAlignment()
ONLINE: Final = -1  # kOnlinePlannedBuffer
_PLAN_VERSION: Final = 1
_CONTROL_FLOW: Final = frozenset({BuiltinOperator.IF, BuiltinOperator.WHILE,
                                  BuiltinOperator.CALL_ONCE})


class PlanError(ModelError):
    """No offline memory plan can be made for this model (or a given plan is invalid)."""


@dataclass(frozen=True)
class Buffer:
    """One buffer the TFLM planner places: ``tensor`` (-1 for a scratch buffer), ``size``
    rounded up to 16, lifetime ``first..last`` in allocation scopes (inclusive)."""

    tensor: int
    size: int
    first: int
    last: int

    def overlaps(self, other: Buffer) -> bool:
        return not (self.first > other.last or other.first > self.last)


def _align(n: int) -> int:
    return (n + BUFFER_ALIGNMENT - 1) // BUFFER_ALIGNMENT * BUFFER_ALIGNMENT


def tensor_lifetimes(model: Model) -> tuple[Buffer, ...]:
    """The tensors of subgraph 0 TFLM's planner places, in tensor order (see module doc)."""
    if len(model.subgraphs) != 1:
        raise PlanError(f"the model has {len(model.subgraphs)} subgraphs; offline plans are "
                        "made for single-subgraph models only",
                        hint="run the model with TFLM's own planner")
    sg = model.main
    for op in sg.operators:
        if model.opcode(op).builtin in _CONTROL_FLOW:
            raise PlanError(f"operator {op.index} is {model.opcode(op).name} (control flow); "
                            "offline plans are made for models without control flow")
    sizes = model.buffer_sizes
    first = [-1] * len(sg.tensors)
    last = [-1] * len(sg.tensors)

    def created(t: int, scope: int) -> None:
        if first[t] == -1:
            first[t] = scope

    scope = 0
    for k in sg.inputs:
        created(k, scope)
        last[k] = scope
    for op in sg.operators:
        scope += 1
        for k in op.outputs:
            created(k, scope)
        for k in op.inputs:
            if k >= 0:
                last[k] = scope
        for k in op.outputs:
            last[k] = scope
    for k in sg.outputs:
        created(k, scope)
        last[k] = scope
    buffers = []
    for t in sg.tensors:
        constant = t.buffer < len(sizes) and sizes[t.buffer] > 0
        if constant or t.is_variable or t.nbytes == 0:
            continue
        if any(d < 0 for d in t.shape):
            raise PlanError(f"tensor {t.index} '{t.name}' has a dynamic shape "
                            f"{list(t.shape)}; TFLM plans static shapes only")
        buffers.append(Buffer(t.index, _align(t.nbytes), first[t.index], last[t.index]))
    for op in sg.operators:
        for k in op.intermediates:
            if k >= 0 and sg.tensors[k].nbytes:
                raise PlanError(f"operator {op.index} has a non-empty intermediate tensor "
                                f"{k}; TFLM refuses such models")
    return tuple(buffers)


def lower_bound(buffers: Sequence[Buffer]) -> int:
    """The largest total size of buffers live at one scope: no plan can be smaller."""
    if not buffers:
        return 0
    scopes = {b.first for b in buffers}
    return max(sum(b.size for b in buffers if b.first <= s <= b.last) for s in scopes)


def height(buffers: Sequence[Buffer], offsets: Sequence[int]) -> int:
    return max((o + b.size for b, o in zip(buffers, offsets, strict=True)), default=0)


def check_plan(buffers: Sequence[Buffer], offsets: Sequence[int]) -> None:
    """Raise PlanError unless every offset is aligned, non-negative, and no two buffers live
    at the same time share a byte."""
    for b, o in zip(buffers, offsets, strict=True):
        if o < 0 or o % BUFFER_ALIGNMENT:
            raise PlanError(f"tensor {b.tensor}: offset {o} is negative or not 16-aligned")
    order = sorted(range(len(buffers)), key=lambda i: offsets[i])
    for n, i in enumerate(order):
        end = offsets[i] + buffers[i].size
        for j in order[n + 1:]:
            if offsets[j] >= end:
                break
            if buffers[i].overlaps(buffers[j]):
                raise PlanError(f"tensors {buffers[i].tensor} and {buffers[j].tensor} are "
                                "live at the same time and overlap in the plan")


# --------------------------------------------------------------------------- TFLM greedy

def greedy_plan(buffers: Sequence[Buffer], offline: Sequence[int] | None = None) -> list[int]:
    """The offsets ``GreedyMemoryPlanner`` gives ``buffers`` (in AddBuffer order);
    ``offline[i] != ONLINE`` fixes buffer ``i`` there (placed first, as TFLM does)."""
    n = len(buffers)
    fixed = list(offline) if offline is not None else [ONLINE] * n
    if n == 0:
        return []
    head = [i for i in range(n) if fixed[i] != ONLINE]
    # online buffers enter the sort array from the tail (so in reverse index order), then a
    # stable sort by decreasing size
    tail = [i for i in reversed(range(n)) if fixed[i] == ONLINE]
    tail.sort(key=lambda i: -buffers[i].size)
    order = head + tail
    offsets = [ONLINE] * n
    placed: list[tuple[int, int]] = []  # (offset, buffer) sorted by offset, insertion-stable
    for k, i in enumerate(order):
        b = buffers[i]
        if fixed[i] != ONLINE:
            candidate = fixed[i]
        elif k == 0:
            candidate = 0
        else:
            candidate = 0
            for off, j in placed:
                if not b.overlaps(buffers[j]):
                    continue
                if off - candidate >= b.size:
                    break
                candidate = max(candidate, off + buffers[j].size)
        offsets[i] = candidate
        # TFLM inserts after every entry whose offset is <= candidate (a new first entry only
        # when strictly below the first)
        pos = len(placed)
        for idx, (off, _) in enumerate(placed):
            if off > candidate and (idx > 0 or placed[0][0] > candidate):
                pos = idx
                break
        placed.insert(pos, (candidate, i))
    return offsets


# --------------------------------------------------------------------------- packing

@dataclass(frozen=True)
class Packing:
    offsets: tuple[int, ...]
    height: int
    lower_bound: int
    method: str  # "first-fit:<order>" or "ilp"
    optimal: bool  # height == lower bound, or the ILP proved it
    seconds: float


def _first_fit(buffers: Sequence[Buffer], order: Sequence[int]) -> list[int]:
    offsets = [0] * len(buffers)
    placed: list[int] = []
    for i in order:
        b = buffers[i]
        busy = sorted((offsets[j], offsets[j] + buffers[j].size) for j in placed
                      if b.overlaps(buffers[j]))
        candidate = 0
        for start, end in busy:
            if start - candidate >= b.size:
                break
            candidate = max(candidate, end)
        offsets[i] = candidate
        placed.append(i)
    return offsets


_ORDERS: Final = {
    "size": lambda b: (-b.size, b.first),
    "area": lambda b: (-b.size * (b.last - b.first + 1), -b.size),
    "duration": lambda b: (-(b.last - b.first), -b.size),
    "start": lambda b: (b.first, -b.size),
    "peak": None,  # buffers live at the peak scope first, then by size
}


def _orders(buffers: Sequence[Buffer]) -> dict[str, list[int]]:
    idx = range(len(buffers))
    orders = {name: sorted(idx, key=lambda i, k=key: k(buffers[i]))  # type: ignore[misc]
              for name, key in _ORDERS.items() if key is not None}
    peak = lower_bound(buffers)
    scopes = [s for s in {b.first for b in buffers}
              if sum(b.size for b in buffers if b.first <= s <= b.last) == peak]
    if scopes:
        s = scopes[0]
        orders["peak"] = sorted(idx, key=lambda i: (not buffers[i].first <= s <= buffers[i].last,
                                                    -buffers[i].size))
    return orders


def _ilp(buffers: Sequence[Buffer], start: list[int], lb: int, ub: int,
         time_limit: float) -> tuple[list[int], bool] | None:
    """Exact packing in 16-byte units: offsets x_i, height H, one order binary per pair of
    buffers live together (big-M disjunction). Returns (offsets, proven optimal) or None."""
    import numpy as np

    try:
        import highspy  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return None
    unit = BUFFER_ALIGNMENT
    n = len(buffers)
    s = [b.size // unit for b in buffers]
    top = ub // unit
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    inf = highspy.kHighsInf
    # columns: x_0..x_{n-1}, H, then z per conflicting pair
    lower = [0.0] * n + [float(lb // unit)]
    upper = [float(top - s[i]) for i in range(n)] + [float(top)]
    cost = [0.0] * n + [1.0]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)
             if buffers[i].overlaps(buffers[j])]
    lower += [0.0] * len(pairs)
    upper += [1.0] * len(pairs)
    cost += [0.0] * len(pairs)
    ncol = len(cost)
    h.addVars(ncol, lower, upper)
    h.changeColsCost(ncol, list(range(ncol)), cost)
    h.changeColsIntegrality(ncol, np.arange(ncol, dtype=np.int32),
                            np.full(ncol, int(highspy.HighsVarType.kInteger), dtype=np.uint8))
    hcol = n
    for i in range(n):  # x_i + s_i <= H
        h.addRow(-inf, float(-s[i]), 2, [i, hcol], [1.0, -1.0])
    for k, (i, j) in enumerate(pairs):
        z = n + 1 + k
        # z=1: i below j: x_i + s_i <= x_j ; z=0: j below i: x_j + s_j <= x_i
        h.addRow(-inf, float(top - s[i]), 3, [i, j, z], [1.0, -1.0, float(top)])
        h.addRow(-inf, float(-s[j]), 3, [j, i, z], [1.0, -1.0, -float(top)])
    # warm start from the best heuristic
    sol = [float(start[i] // unit) for i in range(n)] + [float(ub // unit)]
    sol += [1.0 if start[i] < start[j] else 0.0 for i, j in pairs]
    hs = highspy.HighsSolution()
    hs.col_value = sol
    hs.value_valid = True
    h.setSolution(hs)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if info.primal_solution_status != 2:  # no feasible solution
        return None
    values = h.getSolution().col_value
    offsets = [round(values[i]) * unit for i in range(n)]
    return offsets, status == highspy.HighsModelStatus.kOptimal


def pack(buffers: Sequence[Buffer], *, ilp_max_pairs: int = 400,
         time_limit: float = 20.0) -> Packing:
    """The smallest packing found: first-fit over several orders (and TFLM's greedy), then an
    exact ILP when the graph is small (at most ``ilp_max_pairs`` overlapping pairs) and the
    heuristics did not reach the lower bound."""
    began = time.monotonic()
    lb = lower_bound(buffers)
    if not buffers:
        return Packing((), 0, 0, "empty", True, 0.0)
    candidates: list[tuple[int, str, list[int]]] = []
    tflm = greedy_plan(buffers)
    candidates.append((height(buffers, tflm), "tflm-greedy", tflm))
    for name, order in _orders(buffers).items():
        offsets = _first_fit(buffers, order)
        candidates.append((height(buffers, offsets), f"first-fit:{name}", offsets))
    best_height, method, best = min(candidates, key=lambda c: c[0])
    optimal = best_height == lb
    n_pairs = sum(1 for i in range(len(buffers)) for j in range(i + 1, len(buffers))
                  if buffers[i].overlaps(buffers[j]))
    if not optimal and n_pairs <= ilp_max_pairs:
        solved = _ilp(buffers, best, lb, best_height, time_limit)
        if solved is not None:
            offsets, proven = solved
            h = height(buffers, offsets)
            check_plan(buffers, offsets)
            if h < best_height or (h == best_height and proven):
                best, best_height, method, optimal = offsets, h, "ilp", proven or h == lb
    check_plan(buffers, best)
    return Packing(tuple(best), best_height, lb, method, optimal,
                   round(time.monotonic() - began, 3))


# --------------------------------------------------------------------------- metadata format

def encode_offline_plan(n_tensors: int, offsets: dict[int, int]) -> bytes:
    """The ``OfflineMemoryAllocation`` buffer: ``offsets`` maps tensor index -> arena offset;
    every other tensor is ONLINE."""
    values = [offsets.get(t, ONLINE) for t in range(n_tensors)]
    return struct.pack(f"<3I{n_tensors}i", _PLAN_VERSION, 0, n_tensors, *values)


def decode_offline_plan(payload: bytes) -> tuple[int, ...]:
    """The per-tensor offsets of an ``OfflineMemoryAllocation`` buffer (-1: online)."""
    if len(payload) < 12 or len(payload) % 4:
        raise PlanError(f"offline plan of {len(payload)} bytes: expected 12 + 4 per tensor")
    _version, _subgraph, n = struct.unpack_from("<3I", payload)
    if len(payload) != 12 + 4 * n:
        raise PlanError(f"offline plan names {n} tensors but holds {(len(payload) - 12) // 4}")
    return tuple(struct.unpack_from(f"<{n}i", payload, 12))
