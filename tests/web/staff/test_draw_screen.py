"""The draw screen (issue 16): reached in one click from the check-in answer and the
Today board, every waiting draw made in one submit and once per form, the result in
words, and a prize the clinic has none of left owed instead of a dead end."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from cm_service import rules
from cm_service.extensions import db
from cm_service.models import AuditLog, Draw, LedgerEntry, Reward, StockMovement
from cm_service.services.cm import checkins, ledger, rewards
from tests.support.factories import NOW, START, make_enrolled, make_staff
from tests.support.pages import count, history, page_of
from tests.support.web import csrf_token

VA = "va-prize-2014"
NEGATIVE = dict.fromkeys(("cocaine", "amphetamine", "methamphetamine"), "negative")
NONCE = re.compile(r'name="nonce"[^>]*value="([0-9a-f]{32})"')


def _url(person) -> str:
    return f"/staff/participants/{person.id}/draws"


@pytest.fixture
def admin(clinic):
    return make_staff(clinic, "boss", role="admin")


@pytest.fixture
def va_earner(staff, clinic):
    """A VA prize participant with 3 draws waiting: negatives on Monday 5 and
    Thursday 8 January earn 1 and 2."""
    person, _ = make_enrolled(staff, clinic, key=VA, code="P-0003")
    for day in (START, START + timedelta(days=3)):
        checkins.record_specimen(staff, person.id, day, NEGATIVE, now=NOW)
    assert ledger.balance_of(person.id).draws == 3
    return person


@pytest.fixture
def catalogue(admin):
    """One item per prize tier, as the demo clinic has."""
    return {
        tier: rewards.add_reward(
            admin, name, tier=tier, cost_cents=None, value_cents=v, stock=5, now=NOW
        )
        for tier, name, v in (
            ("small", "Snack voucher", 100),
            ("large", "Movie ticket", 2000),
            ("jumbo", "Phone card", 10000),
        )
    }


@pytest.fixture
def rigged(monkeypatch):
    """Make the bowl give the tiers named, in order: the HMAC stays the service's,
    only which slip it lands on is chosen, so each path can be tested."""

    def rig(*tiers: str) -> None:
        order = iter(tiers)

        def pick(bowl, _digest):
            wanted = next(order)
            return next(t for t in bowl if t.tier == wanted)

        monkeypatch.setattr(rules, "pick_tier", pick)

    return rig


def _form(client, person) -> tuple[str, str]:
    page = page_of(client.get(_url(person)))
    match = NONCE.search(page)
    assert match, "no nonce on the draw form"
    return csrf_token(client, _url(person)), match.group(1)


def _draw(client, person, how_many: int, token: str, nonce: str):
    return client.post(
        _url(person),
        data={"csrf_token": token, "nonce": nonce, "count": str(how_many)},
    )


def _audited_draws() -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "draw")))


# -- one click to the draw screen -----------------------------------------------------


def test_the_checkin_answer_offers_draw_now(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic, key=VA, code="P-0003")
    checkin = f"/staff/participants/{person.id}/checkin"
    response = logged_in.post(
        f"{checkin}/negative",
        data={
            "csrf_token": csrf_token(logged_in, checkin),
            "n-collected_on": "2026-02-02",
        },
    )

    page = page_of(logged_in.get(response.headers["Location"]))

    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*>\s*Draw now', page)
    assert link, "no Draw now link on the check-in answer"
    assert link.group(1) == _url(person)
    assert "1 draw waiting" in page


def test_the_checkin_answer_has_no_draw_link_without_draws(logged_in, person):
    checkin = f"/staff/participants/{person.id}/checkin"
    response = logged_in.post(
        f"{checkin}/negative",
        data={
            "csrf_token": csrf_token(logged_in, checkin),
            "n-collected_on": "2026-02-02",
        },
    )

    assert "Draw now" not in page_of(logged_in.get(response.headers["Location"]))


def test_the_today_board_lists_draws_waiting_with_a_link(
    logged_in, va_earner, staff, clinic, other_clinic
):
    make_enrolled(staff, clinic, code="P-0001")  # Higgins: points, no draws
    elsewhere = make_staff(other_clinic, "elsewhere")
    outsider, _ = make_enrolled(elsewhere, other_clinic, key=VA, code="P-0900")
    checkins.record_specimen(elsewhere, outsider.id, START, NEGATIVE, now=NOW)

    page = page_of(logged_in.get("/staff/today"))

    start = page.index('id="draws-waiting"')
    part = page[start : page.index("</section>", start)]
    assert "3 draws waiting" in part
    assert f'href="{_url(va_earner)}"' in part
    assert "P-0003" in part
    assert "P-0001" not in part
    assert "P-0900" not in page


# -- draw one, draw all, once per form ------------------------------------------------


def test_the_screen_offers_draw_one_and_draw_all(logged_in, va_earner):
    page = page_of(logged_in.get(_url(va_earner)))

    assert re.search(r'id="draws-waiting"[^>]*>3<', page)
    assert re.search(r"<button[^>]*>\s*Draw one\s*</button>", page)
    assert re.search(r"<button[^>]*>\s*Draw all 3\s*</button>", page)
    assert 'aria-live="polite"' in page


def test_draw_all_makes_every_draw_in_one_submit(logged_in, va_earner, catalogue):
    token, nonce = _form(logged_in, va_earner)

    response = _draw(logged_in, va_earner, 3, token, nonce)

    assert response.status_code == 302
    draws = list(db.session.scalars(select(Draw).order_by(Draw.id)))
    assert len(draws) == 3
    assert ledger.balance_of(va_earner.id).draws == 0
    debits = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == "draw")
    ).all()
    assert sorted(e.amount for e in debits) == [-1, -1, -1]
    audited = _audited_draws()
    assert sorted(r.object_id for r in audited) == [d.id for d in draws]
    assert {r.participant_id for r in audited} == {va_earner.id}
    page = page_of(logged_in.get(response.headers["Location"]))
    results = page[page.index('id="draw-results"') : page.index('id="h-waiting"')]
    assert results.count('class="result ') == 3
    assert "No draws are waiting." in page


def test_draw_one_leaves_the_rest_waiting(logged_in, va_earner):
    token, nonce = _form(logged_in, va_earner)

    assert _draw(logged_in, va_earner, 1, token, nonce).status_code == 302

    assert count(Draw) == 1
    assert ledger.balance_of(va_earner.id).draws == 2
    page = page_of(logged_in.get(_url(va_earner)))
    assert re.search(r"<button[^>]*>\s*Draw all 2\s*</button>", page)


def test_a_draw_form_sent_twice_draws_once(logged_in, va_earner):
    token, nonce = _form(logged_in, va_earner)

    first = _draw(logged_in, va_earner, 3, token, nonce)
    before = history()
    again = _draw(logged_in, va_earner, 3, token, nonce)

    assert again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert count(Draw) == 3
    assert len(_audited_draws()) == 3
    assert history()[:2] == before[:2]  # no event, no ledger entry
    page = page_of(logged_in.get(again.headers["Location"]))
    results = page[page.index('id="draw-results"') : page.index('id="h-waiting"')]
    assert results.count('class="result ') == 3


def test_draw_one_sent_twice_draws_once(logged_in, va_earner):
    token, nonce = _form(logged_in, va_earner)

    _draw(logged_in, va_earner, 1, token, nonce)
    _draw(logged_in, va_earner, 1, token, nonce)

    assert count(Draw) == 1
    assert ledger.balance_of(va_earner.id).draws == 2


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"count": "5"}, 409, "Only 3 draws are waiting now."),
        ({"count": "0"}, 422, "Choose how many draws to make."),
        ({"count": "all"}, 422, "Choose how many draws to make."),
        ({"nonce": ""}, 422, "Reload the page and try again."),
        ({"nonce": "not-a-nonce"}, 422, "Reload the page and try again."),
    ],
)
def test_a_refused_draw_writes_nothing(logged_in, va_earner, data, status, message):
    token, nonce = _form(logged_in, va_earner)
    before = history()

    response = logged_in.post(
        _url(va_earner),
        data={"csrf_token": token, "nonce": nonce, "count": "3", **data},
    )

    assert response.status_code == status
    assert message in page_of(response)
    assert history() == before
    assert count(Draw) == 0


def test_no_draws_waiting_is_a_conflict(logged_in, person):
    # The screen offers no draw button then; a form from an earlier page still posts.
    token = csrf_token(logged_in, _url(person))

    response = _draw(logged_in, person, 1, token, "0" * 32)

    assert response.status_code == 409
    assert "No draws are waiting for this participant." in page_of(response)


def test_an_auditor_sees_the_screen_but_cannot_draw(client, clinic, va_earner):
    from tests.support.web import log_in

    make_staff(clinic, "reader", role="auditor")
    assert log_in(client, "reader").status_code == 302
    page = page_of(client.get(_url(va_earner)))
    assert "Draw one" not in page

    response = client.post(
        _url(va_earner),
        data={
            "csrf_token": csrf_token(client, _url(va_earner)),
            "nonce": "0" * 32,
            "count": "1",
        },
    )

    assert response.status_code == 403
    assert count(Draw) == 0


# -- the result in words --------------------------------------------------------------


def test_each_draw_shows_its_prize_in_words(logged_in, va_earner, catalogue, rigged):
    rigged("small", "good_job", "large")
    token, nonce = _form(logged_in, va_earner)

    response = _draw(logged_in, va_earner, 3, token, nonce)

    page = page_of(logged_in.get(response.headers["Location"]))
    results = page[page.index('id="draw-results"') : page.index('id="h-waiting"')]
    assert "Small prize: $1.00 — Snack voucher" in results
    assert "Good job! (no prize this time)" in results
    assert "Large prize: $20.00 — Movie ticket" in results
    assert "Congratulations" in results
    assert results.index("Small prize") < results.index("Good job!")


def test_tier_keys_never_show_in_the_history(logged_in, va_earner, catalogue, rigged):
    rigged("good_job", "small", "jumbo")
    token, nonce = _form(logged_in, va_earner)
    _draw(logged_in, va_earner, 3, token, nonce)

    draws_page = page_of(logged_in.get(_url(va_earner)))
    record = page_of(logged_in.get(f"/staff/participants/{va_earner.id}"))

    for page in (draws_page, record):
        assert "good_job" not in page
        assert "Good job! (no prize this time)" in page
        assert "Jumbo prize: $100.00" in page
    history_part = draws_page[draws_page.index('id="draws-made"') :]
    assert "Small prize: $1.00" in history_part
    rules_text = [e.rule for e in db.session.scalars(select(LedgerEntry))]
    assert not [r for r in rules_text if "good_job" in r]
    assert "Draw 1 — Good job! (no prize this time)" in rules_text


# -- a prize the clinic has none of ---------------------------------------------------


def _snacks(admin, *stock: int) -> list[Reward]:
    names = ("Snack voucher", "Granola bar")
    return [
        rewards.add_reward(
            admin,
            name,
            tier="small",
            cost_cents=None,
            value_cents=100,
            stock=n,
            now=NOW,
        )
        for name, n in zip(names, stock, strict=False)
    ]


def test_a_prize_with_no_stock_is_drawn_and_owed(logged_in, va_earner, admin, rigged):
    [snack] = _snacks(admin, 0)
    rigged("small")
    token, nonce = _form(logged_in, va_earner)

    response = _draw(logged_in, va_earner, 1, token, nonce)

    assert response.status_code == 302
    draw = db.session.scalars(select(Draw)).one()
    assert draw.tier == "small"
    page = page_of(logged_in.get(response.headers["Location"]))
    assert "Small prize: $1.00 — owed: none in stock" in page
    assert "Snack voucher: none left" in page
    assert re.search(r"<button[^>]*>\s*Record as owed \(IOU\)", page)

    owe = logged_in.post(
        f"/staff/draws/{draw.id}/owe",
        data={"csrf_token": csrf_token(logged_in, _url(va_earner))},
    )

    assert owe.status_code == 302
    [row] = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "owe_prize")
    ).all()
    assert (row.object_type, row.object_id) == ("draw", draw.id)
    assert row.participant_id == va_earner.id
    assert count(StockMovement) == 0
    page = page_of(logged_in.get(_url(va_earner)))
    assert "Owed since" in page
    assert "Record as owed (IOU)" not in page

    # When stock arrives the owed prize is handed out as any other.
    rewards.receive_stock(admin, snack.id, 3, "delivery", now=NOW)
    handed = logged_in.post(
        f"/staff/draws/{draw.id}/prize",
        data={"csrf_token": csrf_token(logged_in, _url(va_earner)), "reward": snack.id},
    )
    assert handed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Reward, snack.id).stock == 2
    page = page_of(logged_in.get(_url(va_earner)))
    assert re.search(r"Small prize: \$1\.00</td>\s*<td>Snack voucher</td>", page)


def test_owing_a_prize_twice_records_it_once(logged_in, va_earner, admin, rigged):
    _snacks(admin, 0)
    rigged("small")
    token, nonce = _form(logged_in, va_earner)
    _draw(logged_in, va_earner, 1, token, nonce)
    draw = db.session.scalars(select(Draw)).one()
    url = f"/staff/draws/{draw.id}/owe"

    logged_in.post(url, data={"csrf_token": token})
    again = logged_in.post(url, data={"csrf_token": token})

    assert again.status_code == 302
    owed = select(AuditLog).where(AuditLog.action == "owe_prize")
    assert len(db.session.scalars(owed).all()) == 1


def test_a_good_job_cannot_be_owed(logged_in, va_earner, rigged):
    rigged("good_job")
    token, nonce = _form(logged_in, va_earner)
    _draw(logged_in, va_earner, 1, token, nonce)
    draw = db.session.scalars(select(Draw)).one()
    before = history()

    response = logged_in.post(f"/staff/draws/{draw.id}/owe", data={"csrf_token": token})

    assert response.status_code == 409
    assert "no prize to owe" in page_of(response)
    assert history() == before


def test_another_item_of_the_tier_in_stock_is_offered(
    logged_in, va_earner, admin, rigged
):
    snack, granola = _snacks(admin, 0, 2)
    rigged("small")
    token, nonce = _form(logged_in, va_earner)
    response = _draw(logged_in, va_earner, 1, token, nonce)

    page = page_of(logged_in.get(response.headers["Location"]))

    assert "Small prize: $1.00 — Granola bar" in page
    assert "Snack voucher: none left" in page
    assert re.search(r"<button[^>]*>\s*Give Granola bar", page)
    assert not re.search(r"<button[^>]*>\s*Give Snack voucher", page)
    draw = db.session.scalars(select(Draw)).one()
    handed = logged_in.post(
        f"/staff/draws/{draw.id}/prize",
        data={"csrf_token": token, "reward": str(granola.id)},
    )
    assert handed.status_code == 302
    db.session.expire_all()
    assert (snack.stock, db.session.get(Reward, granola.id).stock) == (0, 1)


# -- the printable receipt ------------------------------------------------------------


def test_the_receipt_lists_the_days_draws_prizes_and_what_is_owed(
    logged_in, va_earner, catalogue, rigged
):
    rigged("small", "good_job", "large")
    token, nonce = _form(logged_in, va_earner)
    _draw(logged_in, va_earner, 3, token, nonce)
    small, _, large = db.session.scalars(select(Draw).order_by(Draw.id)).all()
    logged_in.post(
        f"/staff/draws/{small.id}/prize",
        data={
            "csrf_token": csrf_token(logged_in, _url(va_earner)),
            "reward": str(catalogue["small"].id),
        },
    )
    logged_in.post(
        f"/staff/draws/{large.id}/owe",
        data={"csrf_token": csrf_token(logged_in, _url(va_earner))},
    )
    screen = page_of(logged_in.get(_url(va_earner)))
    assert f'href="{_url(va_earner)}/receipt"' in screen

    response = logged_in.get(f"{_url(va_earner)}/receipt")

    page = page_of(response)
    assert response.status_code == 200
    rows = page[page.index('id="receipt-draws"') :]
    rows = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rows[: rows.index("</table>")]))
    assert "Small prize: $1.00 Snack voucher" in rows
    assert "(no prize this time) —" in rows
    assert "Large prize: $20.00 Owed (IOU)" in rows
    assert "P-0003" in page
    tally = re.sub(r"<[^>]+>", "", page[page.index('id="receipt-tally"') :])
    assert tally.startswith(
        'id="receipt-tally">3 draws: 1 × Large prize: $20.00 · 1 × Small prize: $1.00'
    )
    assert 'id="receipt-waiting">0<' in page
    assert "Participant's signature" in page
    views = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "view_draw_receipt")
    ).all()
    assert [v.participant_id for v in views] == [va_earner.id]


def test_a_receipt_for_a_day_without_draws_says_so(logged_in, va_earner):
    response = logged_in.get(f"{_url(va_earner)}/receipt?day=2026-01-05")

    assert response.status_code == 200
    assert "No draws on Mon 5 Jan 2026." in page_of(response)


def test_a_receipt_for_a_bad_day_is_a_clear_error(logged_in, va_earner):
    response = logged_in.get(f"{_url(va_earner)}/receipt?day=2026-02-30")

    assert response.status_code == 422
    assert "day" in page_of(response)


def test_many_draws_at_once_are_tallied_first(
    logged_in, staff, va_earner, catalogue, rigged
):
    checkins.record_specimen(
        staff, va_earner.id, START + timedelta(days=7), NEGATIVE, now=NOW
    )
    waiting = ledger.balance_of(va_earner.id).draws
    rigged(*(["good_job"] * (waiting - 1) + ["small"]))
    token, nonce = _form(logged_in, va_earner)

    page = page_of(
        logged_in.get(_draw(logged_in, va_earner, waiting, token, nonce).location)
    )

    tally = re.sub(r"<[^>]+>", "", page[page.index('id="draw-tally"') :])
    assert tally.startswith(
        f'id="draw-tally">1 × Small prize: $1.00 · {waiting - 1} × Good job!'
    )
