"""The root of every exception tree in tinyrig.

Each layer derives its own tree from :class:`TinyrigError` (``tinyrig.model.errors``,
``tinyrig.protocol.errors``, ...). A ``TinyrigError`` is a problem the user can act on: bad
input, a missing tool, a board that does not answer. The CLI prints it as one line (plus an
optional hint) and exits non-zero. Any other exception is a bug in tinyrig.
"""

from __future__ import annotations


class TinyrigError(Exception):
    """A user-actionable failure with a one-line message and an optional hint."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def details(self) -> list[str]:
        """Lines shown after the message and hint (e.g. a compiler's errors): by default the
        last lines of a ``log`` attribute (a tool's output), if the error has one."""
        log = getattr(self, "log", None)
        if isinstance(log, str) and log.strip():
            return log.strip().splitlines()[-12:]
        return []


class MissingExtraError(TinyrigError):
    """An optional dependency group is not installed."""

    def __init__(self, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} requires the '{extra}' extra",
            hint=f"pip install 'tinyrig[{extra}]'",
        )
        self.extra = extra
        self.feature = feature
