"""The state rule, the same on every backend (host TFLM, ``sim``, every firmware).

Stateless by default: a model's variable tensors (LSTM/RNN hidden and cell state) and resource
variables go back to their initial values before every inference, so each result depends only
on its inputs and is the same whichever kernels run it. Keras' stateless LSTMs need exactly
this: the converter stores their zero initial state in variable tensors, and TFLM's reference
kernel carries whatever the last invoke left there into the next one, while CMSIS-NN's LSTM
never reads them (each invoke starts from zero).

``keep_state`` (streaming models): the state carries over from one inference to the next;
turning it on or off resets the state once. Only kernels that read and write the state
tensors can honour it: CMSIS-NN's int8/int16 UNIDIRECTIONAL_SEQUENCE_LSTM (Cortex-M builds)
ignores it and starts every invoke from zero (a kernel difference, docs/protocol.md §3.5).
"""

from __future__ import annotations

from tinyrig.model.flatbuffer import Model

__all__ = ["STATEFUL_OPS", "is_stateful"]

# Operators that keep resource variables between invokes.
STATEFUL_OPS = frozenset({"VAR_HANDLE", "ASSIGN_VARIABLE", "READ_VARIABLE"})


def is_stateful(model: Model) -> bool:
    """Whether inferences of ``model`` can depend on earlier ones (variable tensors or
    resource variables), i.e. whether the state rule changes anything for it."""
    if any(t.is_variable for sg in model.subgraphs for t in sg.tensors):
        return True
    return any(code.name in STATEFUL_OPS for code in model.distinct_ops())
