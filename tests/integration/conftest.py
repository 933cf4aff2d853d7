"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

from tests.integration._server import start_server


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A real `prefect server start` for the session; the environment that points at it."""
    with start_server(tmp_path_factory.mktemp("prefect-home")) as env:
        yield env
