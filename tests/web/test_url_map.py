"""Each audience's blueprint owns its part of the URL space, and nothing else."""

from __future__ import annotations

PREFIXES = {
    "staff": "/staff/",
    "portal": "/me/",
    "api": "/api/v1/",
    "hooks": "/hooks/",
}
AT_THE_ROOT = {"index": "/", "healthz": "/healthz", "static": "/static/<path:filename>"}


def test_every_route_lives_under_its_audiences_prefix(app):
    for rule in app.url_map.iter_rules():
        audience = rule.endpoint.split(".")[0]
        if rule.endpoint in AT_THE_ROOT:
            assert rule.rule == AT_THE_ROOT[rule.endpoint]
        else:
            assert rule.rule.startswith(PREFIXES[audience]), rule


def test_staff_pages_are_named_by_area(app):
    staff = [
        r.endpoint for r in app.url_map.iter_rules() if r.rule.startswith("/staff")
    ]

    areas = {endpoint.split(".")[1] for endpoint in staff}
    assert all(endpoint.count(".") == 2 for endpoint in staff)
    assert {"account", "today", "participants", "rewards", "ops", "reports"} <= areas
