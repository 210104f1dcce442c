"""API fixtures: a JSON client, tokens of each role and clinic, a pinned clock."""

from __future__ import annotations

import pytest

from tests.support.api import Api, make_token


@pytest.fixture(autouse=True)
def pinned_clock(clock):
    return clock


@pytest.fixture
def api(app, clinic) -> Api:
    return Api(app.test_client(), make_token(clinic))


@pytest.fixture
def auditor_api(app, clinic) -> Api:
    return Api(app.test_client(), make_token(clinic, "auditor"))


@pytest.fixture
def other_api(app, other_clinic) -> Api:
    return Api(app.test_client(), make_token(other_clinic))
