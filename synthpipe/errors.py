"""Errors a user can act on.

Every error synthpipe raises on purpose derives from :class:`SynthpipeError`. Each carries a
message that names the problem and, where there is one, a ``hint`` with the fix. The CLI prints
``message`` and ``hint`` on one or two lines and exits with ``exit_code`` (no traceback unless
``--debug``).
"""

from __future__ import annotations


class SynthpipeError(Exception):
    """Base class of all errors synthpipe raises deliberately.

    Args:
        message: What went wrong, in words a data owner understands.
        hint: What to do about it (optional).
    """

    exit_code: int = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(SynthpipeError):
    """The input table is missing, unreadable, empty or of an unsupported shape."""


class ConfigError(SynthpipeError):
    """The run configuration (CLI options, config file, environment) is invalid."""


class ContractError(SynthpipeError):
    """The input table failed its Great Expectations contract.

    Args:
        message: Summary line.
        failures: One readable line per failed expectation.
        hint: What to do about it.
    """

    def __init__(self, message: str, failures: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.failures = list(failures)

    def __str__(self) -> str:
        lines = [self.message, *(f"  - {f}" for f in self.failures)]
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


class ModelError(SynthpipeError):
    """A model could not be built, trained, saved, loaded or sampled."""
