"""The explicit model registry."""

from __future__ import annotations

import pytest

from synthpipe.errors import ModelError
from synthpipe.models import Synthesizer, available_models, create_model, get_model, registry
from synthpipe.models.argn import AutoregressiveSynthesizer
from synthpipe.models.ctgan import CTGANSynthesizer
from synthpipe.models.flow import FlowMatching
from synthpipe.models.tabddpm import TabDDPM
from synthpipe.models.tvae import TVAE


def test_all_five_families_are_registered_explicitly():
    assert registry._REGISTRY == {
        "tvae": TVAE, "ctgan": CTGANSynthesizer, "tabddpm": TabDDPM, "flow": FlowMatching,
        "argn": AutoregressiveSynthesizer,
    }
    listed = available_models()
    assert list(listed) == sorted(listed) == ["argn", "ctgan", "flow", "tabddpm", "tvae"]
    for name, line in listed.items():
        cls = get_model(name)
        assert issubclass(cls, Synthesizer) and cls.name == name
        assert line == cls.description and line and "\n" not in line
        assert cls.supports_conditions


def test_get_model_is_forgiving_about_case_and_lists_names_when_unknown():
    assert get_model(" TVAE ") is TVAE
    with pytest.raises(ModelError) as err:
        get_model("gan9000")
    assert "gan9000" in err.value.message
    assert all(n in err.value.hint for n in ("ctgan", "flow", "tabddpm", "tvae"))


def test_create_model_checks_parameter_names():
    m = create_model("tvae", epochs=3, latent_dim=8, seed=2)
    assert isinstance(m, TVAE) and m.latent_dim == 8 and m.epochs == 3
    with pytest.raises(ModelError) as err:
        create_model("tvae", latnet_dim=8)
    assert "latnet_dim" in err.value.message and "latent_dim" in err.value.hint
