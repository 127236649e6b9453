"""The runner firmware's all-ops resolver is generated from the pinned TFLM's op table."""

from __future__ import annotations

import re
from pathlib import Path

from tinyrig.model.export import (
    ALL_OPS_FILES,
    UPLOAD_EXCLUDED_CUSTOM_OPS,
    all_ops_resolver_sources,
)
from tinyrig.model.ops import CUSTOM_RESOLVER_METHODS, RESOLVER_METHODS

RUNNER_DIR = Path(__file__).resolve().parents[2] / "firmware" / "src" / "runner"


def test_checked_in_resolver_is_up_to_date() -> None:
    sources = all_ops_resolver_sources()
    assert tuple(sources) == ALL_OPS_FILES
    for name, text in sources.items():
        assert (RUNNER_DIR / name).read_text() == text, (
            f"{name} is stale: run tinyrig.model.export.write_all_ops_resolver("
            f"'firmware/src/runner')")


def test_every_op_has_one_case_guarded_by_its_name() -> None:
    """kAllOpsCount counts the cases; each adds its own op, and is compiled in unless a board
    lists its ops (-DTINYRIG_RUNNER_OPS_ONLY) without it."""
    sources = all_ops_resolver_sources()
    found = re.search(r"kAllOpsCount = (\d+);", sources["all_ops_resolver.h"])
    assert found is not None
    count = int(found[1])
    source = sources["all_ops_resolver.cc"]
    builtin = re.findall(r"defined\(TINYRIG_RUNNER_OP_(\w+)\)\n    case "
                         r"tflite::BuiltinOperator_(\w+):\n      return resolver\.(Add\w+)\(\);",
                         source)
    custom = re.findall(r"defined\(TINYRIG_RUNNER_OP_(\w+)\)\n      if \(std::strcmp\(custom, "
                        r'"(\w+)"\) == 0\) return resolver\.(Add\w+)\(\);', source)
    assert all(guard == name for guard, name, _ in builtin + custom)
    assert {(name, method) for _, name, method in builtin} == {
        (op.name, method) for op, method in RESOLVER_METHODS.items()}
    kept = {code: method for code, method in CUSTOM_RESOLVER_METHODS.items()
            if code not in UPLOAD_EXCLUDED_CUSTOM_OPS}
    assert {(code, method) for _, code, method in custom} == set(kept.items())
    assert count == len(builtin) + len(custom) == len(RESOLVER_METHODS) + len(kept)


def test_ops_that_parse_options_unchecked_are_not_registered() -> None:
    """Issue 8, finding 2: the upload firmware leaves out the custom ops whose Init parses
    `custom_options` without bounds (the names must exist in the pinned TFLM's table)."""
    assert set(CUSTOM_RESOLVER_METHODS) >= UPLOAD_EXCLUDED_CUSTOM_OPS
    source = all_ops_resolver_sources()["all_ops_resolver.cc"]
    for code in UPLOAD_EXCLUDED_CUSTOM_OPS:
        assert f'"{code}"' not in source
    assert '"CIRCULAR_BUFFER"' in source
