"""The model zoo: one Synthesizer interface over TVAE, CTGAN, TabDDPM and flow matching.

``Synthesizer`` is imported eagerly (light); the registry functions load on first use, so that
importing one model module does not import every other model (and the ctgan package).
"""

from __future__ import annotations

from typing import Any

from synthpipe.models.base import ProgressFn, Synthesizer

__all__ = ["ProgressFn", "Synthesizer", "available_models", "create_model", "get_model"]


def __getattr__(name: str) -> Any:
    if name in ("available_models", "create_model", "get_model"):
        from synthpipe.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'synthpipe.models' has no attribute {name!r}")
