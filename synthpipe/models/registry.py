"""Explicit model registry: name -> Synthesizer class.

Every model is imported here by name, so an import error surfaces at once instead of a model
silently missing from ``synthpipe models``. There is no entry-point discovery.
"""

from __future__ import annotations

import inspect
from typing import Any

from synthpipe.errors import ModelError
from synthpipe.models.argn import AutoregressiveSynthesizer
from synthpipe.models.base import Synthesizer
from synthpipe.models.ctgan import CTGANSynthesizer
from synthpipe.models.flow import FlowMatching
from synthpipe.models.tabddpm import TabDDPM
from synthpipe.models.tvae import TVAE

_REGISTRY: dict[str, type[Synthesizer]] = {
    TVAE.name: TVAE,
    CTGANSynthesizer.name: CTGANSynthesizer,
    TabDDPM.name: TabDDPM,
    FlowMatching.name: FlowMatching,
    AutoregressiveSynthesizer.name: AutoregressiveSynthesizer,
}


def get_model(name: str) -> type[Synthesizer]:
    """The Synthesizer class registered as ``name``.

    Raises:
        ModelError: Unknown name (the message lists the available ones).
    """
    key = str(name).strip().lower()
    if key not in _REGISTRY:
        raise ModelError(
            f"unknown model {name!r}", hint=f"available models: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[key]


def available_models() -> dict[str, str]:
    """Registered model names and their one-line descriptions, sorted by name."""
    return {k: _REGISTRY[k].description for k in sorted(_REGISTRY)}


def create_model(name: str, **params: Any) -> Synthesizer:
    """Instantiate a registered model, checking parameter names first.

    Args:
        name: Registry name.
        **params: Constructor parameters (``epochs``, ``device``, model hyperparameters).

    Raises:
        ModelError: Unknown model or a parameter the model does not take.
    """
    cls = get_model(name)
    accepts_any = any(
        p.kind == p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values()
    )
    if not accepts_any:
        unknown = sorted(set(params) - set(cls.param_names()))
        if unknown:
            raise ModelError(
                f"model {name!r} has no parameter(s) {unknown}",
                hint=f"valid parameters: {', '.join(cls.param_names())}",
            )
    return cls(**params)
