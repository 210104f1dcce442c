"""The clinical audit's corrections through the public API (issue 12)."""

from __future__ import annotations

from tests.support.factories import START, make_enrolled, scheduled

NEG = {"cocaine": "negative"}


def test_a_voided_and_re_entered_result_pays_the_clean_history_once(api, staff, clinic):
    make_enrolled(staff, clinic)
    days = scheduled(START, (0, 2, 4), 6)
    ids = []
    for day in days:
        body = {"kind": "specimen", "on": day.isoformat(), "results": NEG}
        response = api.post("/participants/P-0001/events", json=body)
        assert response.status_code == 201
        ids.append(response.json["event"]["id"])
    assert api.get("/participants/P-0001/balance").json["points"] == 215

    voided = api.post(f"/events/{ids[1]}/void", json={"reason": "Lab mix-up"})
    again = api.post(
        "/participants/P-0001/events",
        json={"kind": "specimen", "on": days[1].isoformat(), "results": NEG},
    )

    assert voided.status_code == 200
    assert voided.json["awards"] == []  # nothing taken back, nothing paid
    assert again.status_code == 201
    assert again.json["awards"] == []  # the bonus that moved is not paid twice
    balance = api.get("/participants/P-0001/balance").json
    assert balance["points"] == 215


def test_the_balance_says_what_the_next_negative_pays_after_an_offset(
    api, staff, clinic
):
    make_enrolled(staff, clinic)
    days = scheduled(START, (0, 2, 4), 3)
    ids = [
        api.post(
            "/participants/P-0001/events",
            json={"kind": "specimen", "on": day.isoformat(), "results": NEG},
        ).json["event"]["id"]
        for day in days
    ]
    api.post(f"/events/{ids[1]}/void", json={"reason": "Someone else's cup"})

    nxt = api.get("/participants/P-0001/balance").json["next_negative"]

    # 85 points paid, 25 earned by the corrected history: the next negative's
    # 20 points + 40 bonus are withheld, and the explanation says why.
    assert nxt["points"] == 0
    assert "Withheld" in nxt["explanation"]
