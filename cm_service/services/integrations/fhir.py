"""FHIR R4 for verified results: a participant's specimen and breath results as a
Bundle of Observations (export), and such Observations recorded as events (import).

Codes (LOINC, https://loinc.org, "[Presence] in Urine" qualitative codes, each
checked against published LOINC tables):

    cocaine          3397-7   Cocaine [Presence] in Urine
    amphetamine      3349-8   Amphetamines [Presence] in Urine (the class screen)
    methamphetamine  3779-6   Methamphetamine [Presence] in Urine
    mdma             14267-9  Methylenedioxymethamphetamine [Presence] in Urine
    opiates          3879-4   Opiates [Presence] in Urine
    oxycodone        10998-3  Oxycodone [Presence] in Urine
    fentanyl         11235-9  Fentanyl [Presence] in Urine
    buprenorphine    3414-0   Buprenorphine [Presence] in Urine
    methadone        3773-9   Methadone [Presence] in Urine
    benzodiazepines  3390-2   Benzodiazepines [Presence] in Urine
    barbiturates     3377-9   Barbiturates [Presence] in Urine
    cannabis         3427-2   Cannabinoids [Presence] in Urine
    pcp              19659-2  Phencyclidine [Presence] in Urine by Screen method
    alcohol (urine)  5644-0   Ethanol [Presence] in Urine
    etg              58375-7  Ethyl glucuronide [Presence] in Urine by Screen method
                              (the EIA screen a lab maps it to, e.g. ARUP 2007912)
    alcohol (breath) 104133-4 Ethanol [Presence] in Exhaled gas

Analytes with no code above (morphine, heroin, tramadol, nicotine) are coded in
this service's own system ANALYTE_SYSTEM, which import accepts as well. The value is
a valueCodeableConcept whose `text` is the exact result word, coded in RESULT_SYSTEM
and, for negative and positive, in SNOMED CT (260385009 |Negative|, 10828004
|Positive|). A breath result carries its BrAC reading as a component (g/210 L).

Identity: each Observation has one identifier. One this service exported names its
event (OBSERVATION_SYSTEM, "<clinic>-<event>-<analyte>"), so posting an export back
to the same participant records nothing; any other identifier becomes the event's
`source_ref` ("fhir:<system>|<value>"), recorded once per clinic. The participant
is the one in the request; `subject` (the clinic code only, never a name) is not read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ...extensions import db
from ...models import Enrollment, Event, Participant
from ...rules.breath import BRAC_OUT_OF_RANGE, brac_in_range, brac_result
from ..access import audit, consents
from ..access.actors import Actor, Recipient
from ..access.scope import get_participant
from ..cm.checkins import ANALYTES, RESULTS
from ..cm.timeline import clinic_today, events_of
from ..errors import InvalidInput
from ..validation import check_depth
from .results_import import (
    ImportResult,
    Incoming,
    InvalidFile,
    parse_day,
    record_results,
)

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ANALYTE_SYSTEM = "urn:cm-service:analyte"
RESULT_SYSTEM = "urn:cm-service:result"
OBSERVATION_SYSTEM = "urn:cm-service:observation"
PARTICIPANT_SYSTEM = "urn:cm-service:clinic:{clinic_id}:participant"
# 42 CFR Part 2 (docs/consent.md): the Bundle and each Observation carry the
# policy label; the Bundle carries the 42 CFR 2.32 notice in an extension of meta.
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PART2_LABEL = {"system": ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"}
RESTRICTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    "code": "R",
    "display": "restricted",
}
NOTICE_EXTENSION = "urn:cm-service:42cfr2.32-notice"

URINE_LOINC: dict[str, tuple[str, str]] = {
    "cocaine": ("3397-7", "Cocaine [Presence] in Urine"),
    "amphetamine": ("3349-8", "Amphetamines [Presence] in Urine"),
    "methamphetamine": ("3779-6", "Methamphetamine [Presence] in Urine"),
    "mdma": ("14267-9", "Methylenedioxymethamphetamine [Presence] in Urine"),
    "opiates": ("3879-4", "Opiates [Presence] in Urine"),
    "oxycodone": ("10998-3", "Oxycodone [Presence] in Urine"),
    "fentanyl": ("11235-9", "Fentanyl [Presence] in Urine"),
    "buprenorphine": ("3414-0", "Buprenorphine [Presence] in Urine"),
    "methadone": ("3773-9", "Methadone [Presence] in Urine"),
    "benzodiazepines": ("3390-2", "Benzodiazepines [Presence] in Urine"),
    "barbiturates": ("3377-9", "Barbiturates [Presence] in Urine"),
    "cannabis": ("3427-2", "Cannabinoids [Presence] in Urine"),
    "pcp": ("19659-2", "Phencyclidine [Presence] in Urine by Screen method"),
    "alcohol": ("5644-0", "Ethanol [Presence] in Urine"),
    "etg": ("58375-7", "Ethyl glucuronide [Presence] in Urine by Screen method"),
}
BREATH_LOINC = ("104133-4", "Ethanol [Presence] in Exhaled gas")
SNOMED_RESULTS = {"negative": "260385009", "positive": "10828004"}
BRAC_UNIT = {"unit": "g/210 L", "system": UCUM, "code": "g/(210.L)"}
FINAL_STATUSES = ("final", "amended", "corrected")
MAX_ENTRIES = 1000
OWN_VALUE = re.compile(r"^(\d{1,10})-(\d{1,10})-([a-z]{1,40})$")
BREATH = "breath"  # the code table's name for breath alcohol


class InvalidBundle(InvalidFile):
    """Observations that cannot be recorded: `errors` names each by its path."""

    code = "invalid_input"


# --- Export ----------------------------------------------------------------------


def export_observations(
    actor: Actor,
    participant_id: int,
    *,
    now: datetime,
    recipient: Recipient | None = None,
    route: str = "FHIR export",
) -> dict[str, Any]:
    """The participant's verified, non-voided specimen and breath results as a FHIR
    R4 Bundle (type collection) of Observations, one per analyte result, for
    `recipient` (an outside recipient's token's own, else the one the request
    names), labelled 42CFRPart2 with the 42 CFR 2.32 notice.

    Refused specimens have no analyte result and are left out. A disclosure: it
    needs the participant's active consent covering the recipient, its purpose and
    test results, and writes the audit row and the disclosure row together.
    Raises NotFound outside the actor's clinic, ConsentRequired naming what is
    missing (nothing is written then).
    """
    actor.require("admin", "staff", "auditor")
    participant = get_participant(actor, participant_id)
    recipient = actor.recipient or recipient
    if recipient is None:
        raise consents.ConsentRequired(
            "Name the recipient of this FHIR export and its purpose: records leave "
            "the program only under the participant's consent to share with them.",
            "recipient",
        )
    today = clinic_today(participant.clinic, now)
    consent = consents.find_consent(participant, recipient, consents.FHIR_SHARES, today)
    observations = [
        observation_of(event, analyte, result, participant)
        for event in _results_of(participant)
        for analyte, result in sorted((event.results or {}).items())
    ]
    row = audit.append(
        actor,
        "export_observations",
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={
            "format": "fhir-r4",
            "observations": len(observations),
            **consents.disclosure_detail(
                consent, recipient, consents.FHIR_SHARES, route
            ),
        },
    )
    consents.log_disclosure(
        actor,
        participant.id,
        consent,
        recipient,
        consents.FHIR_SHARES,
        route=route,
        audit_row=row,
        now=now,
    )
    db.session.commit()
    return {
        "resourceType": "Bundle",
        "meta": {
            "security": [PART2_LABEL, RESTRICTED],
            "extension": [{"url": NOTICE_EXTENSION, "valueString": consents.NOTICE}],
        },
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": [{"resource": o} for o in observations],
    }


def _results_of(participant: Participant) -> list[Event]:
    enrollment_ids = db.session.scalars(
        select(Enrollment.id).where(Enrollment.participant_id == participant.id)
    )
    events = [e for i in enrollment_ids for e in events_of(i)]
    kept = [e for e in events if e.kind in ("specimen", BREATH) and not e.refused]
    return sorted(kept, key=lambda e: (e.collected_on, e.id))


def observation_of(
    event: Event, analyte: str, result: str, participant: Participant
) -> dict[str, Any]:
    """One analyte result of an event as a FHIR R4 Observation."""
    breath = analyte == "alcohol" and event.brac_milli is not None
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "meta": {"security": [PART2_LABEL]},
        "identifier": [_identifier_of(event, analyte)],
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "laboratory"}]}],
        "code": _code_of(analyte, breath),
        "subject": {
            "identifier": {
                "system": PARTICIPANT_SYSTEM.format(clinic_id=participant.clinic_id),
                "value": participant.code,
            }
        },
        "effectiveDateTime": event.collected_on.isoformat(),
        "valueCodeableConcept": _value_of(result),
    }
    if breath:
        resource["component"] = [_reading_of(event.brac_milli or 0)]
    return resource


def _identifier_of(event: Event, analyte: str) -> dict[str, str]:
    ref = event.source_ref or ""
    if ref.startswith("fhir:"):
        # Imported from FHIR: give the sender's identifier back, so it round-trips.
        system, _, value = ref.removeprefix("fhir:").partition("|")
        return {"system": system, "value": value}
    value = f"{event.clinic_id}-{event.id}-{analyte}"
    return {"system": OBSERVATION_SYSTEM, "value": value}


def _code_of(analyte: str, breath: bool) -> dict[str, Any]:
    if breath:
        code, display = BREATH_LOINC
        coding = {"system": LOINC, "code": code, "display": display}
        return {"coding": [coding], "text": "alcohol (breath)"}
    if analyte in URINE_LOINC:
        code, display = URINE_LOINC[analyte]
        return {
            "coding": [{"system": LOINC, "code": code, "display": display}],
            "text": analyte,
        }
    return {"coding": [{"system": ANALYTE_SYSTEM, "code": analyte}], "text": analyte}


def _value_of(result: str) -> dict[str, Any]:
    coding = [{"system": RESULT_SYSTEM, "code": result}]
    if result in SNOMED_RESULTS:
        code = SNOMED_RESULTS[result]
        coding.insert(0, {"system": SNOMED, "code": code, "display": result.title()})
    return {"coding": coding, "text": result}


def _reading_of(brac_milli: int) -> dict[str, Any]:
    # JSON has one number type: thousandths as a decimal fraction print exactly
    # (20 -> 0.02) and import reads them back as Decimal, never float.
    return {
        "code": {"text": "Breath alcohol concentration (BrAC)"},
        "valueQuantity": {"value": brac_milli / 1000, **BRAC_UNIT},
    }


# --- Import ----------------------------------------------------------------------


def import_observations(
    actor: Actor, participant_id: int, bundle: Any, *, now: datetime
) -> ImportResult:
    """Record a Bundle's Observations for the participant, all or nothing.

    Each Observation becomes one verified event (a breath event when it is a breath
    alcohol result with its reading, else a specimen event); the rules merge a
    day's events, so the awards are those of a check-in with the same results.
    Raises NotFound outside the actor's clinic, InvalidInput(path) at the first bad
    field, e.g. "entry[2].resource.code", InvalidFile for results that cannot be
    recorded (not enrolled that day, already recorded differently), listing each.
    """
    actor.require("admin", "staff")
    check_depth("", bundle)  # before anything walks it
    participant = get_participant(actor, participant_id)
    entries = _entries(bundle)
    items = [
        _incoming(participant, entry, f"entry[{i}]") for i, entry in enumerate(entries)
    ]
    try:
        return record_results(actor, items, now=now, via="fhir")
    except InvalidFile as error:
        raise InvalidBundle(error.errors) from None


def _entries(bundle: Any) -> list[Any]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidInput("resourceType", "Send a FHIR Bundle of Observations.")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise InvalidInput("entry", "The Bundle has no entries.")
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput("entry", f"Send at most {MAX_ENTRIES} entries.")
    return entries


def _incoming(participant: Participant, entry: Any, at: str) -> Incoming:
    if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
        raise InvalidInput(f"{at}.resource", "Each entry needs a resource.")
    resource: dict[str, Any] = entry["resource"]
    at = f"{at}.resource"
    if resource.get("resourceType") != "Observation":
        raise InvalidInput(f"{at}.resourceType", "Only Observations are accepted.")
    if resource.get("status") not in FINAL_STATUSES:
        raise InvalidInput(
            f"{at}.status", f"Only {', '.join(FINAL_STATUSES)} results are recorded."
        )
    analyte = _analyte(resource.get("code"), f"{at}.code")
    on = _effective_on(resource, participant, f"{at}.effectiveDateTime")
    brac = (
        _reading(resource.get("component"), f"{at}.component")
        if (analyte == BREATH)
        else None
    )
    result = _result(resource.get("valueCodeableConcept"), brac, at)
    system, value = _source(resource.get("identifier"), f"{at}.identifier")
    name = "alcohol" if analyte == BREATH else analyte
    return Incoming(
        participant=participant,
        collected_on=on,
        kind=BREATH if brac is not None else "specimen",
        results={name: result},
        source_ref=_source_ref(system, value, f"{at}.identifier"),
        label=at.removesuffix(".resource"),
        date_field=f"{at}.effectiveDateTime",
        ref_field=f"{at}.identifier",
        brac_milli=brac,
        recorded_as=_own_event(participant, system, value, f"{at}.identifier"),
    )


def _codings(concept: Any, path: str) -> list[Mapping[str, Any]]:
    if not isinstance(concept, dict):
        raise InvalidInput(path, "Expected a CodeableConcept.")
    codings = concept.get("coding") or []
    if not isinstance(codings, list) or not all(isinstance(c, dict) for c in codings):
        raise InvalidInput(f"{path}.coding", "Expected a list of codings.")
    return codings


def _analyte(concept: Any, path: str) -> str:
    """The analyte named by a code (BREATH for breath alcohol)."""
    by_loinc = {code: analyte for analyte, (code, _) in URINE_LOINC.items()}
    by_loinc[BREATH_LOINC[0]] = BREATH
    for coding in _codings(concept, path):
        system, code = coding.get("system"), coding.get("code")
        if system == LOINC and code in by_loinc:
            return by_loinc[code]
        if system == ANALYTE_SYSTEM and code in ANALYTES:
            return str(code)
    known = ", ".join(sorted(by_loinc))
    raise InvalidInput(path, f"Unknown code; use a LOINC code of: {known}.")


def _result(concept: Any, brac: int | None, at: str) -> str:
    path = f"{at}.valueCodeableConcept"
    if concept is None and brac is not None:
        return brac_result(brac)
    words = set()
    text = concept.get("text") if isinstance(concept, dict) else None
    if isinstance(text, str) and text.strip().lower() in RESULTS:
        words.add(text.strip().lower())
    by_snomed = {code: word for word, code in SNOMED_RESULTS.items()}
    for coding in _codings(concept, path):
        system, code = coding.get("system"), coding.get("code")
        if system == SNOMED and code in by_snomed:
            words.add(by_snomed[code])
        elif system == RESULT_SYSTEM and code in RESULTS:
            words.add(str(code))
    if len(words) != 1:
        problem = "disagree" if words else "name no result"
        raise InvalidInput(
            path,
            f"The value's text and codes {problem}; use one of: {', '.join(RESULTS)}.",
        )
    (word,) = words
    if brac is not None and word != brac_result(brac):
        raise InvalidInput(
            path, f"The BrAC reading is {brac_result(brac)} for alcohol; check both."
        )
    return word


def _reading(components: Any, path: str) -> int:
    """The BrAC reading in thousandths of g/210 L from the component list."""
    if not isinstance(components, list) or not components:
        raise InvalidInput(path, "Give the BrAC reading as a component.")
    quantity = (
        components[0].get("valueQuantity") if isinstance(components[0], dict) else None
    )
    value = quantity.get("value") if isinstance(quantity, dict) else None
    path = f"{path}[0].valueQuantity.value"
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidInput(path, "Give the BrAC reading in g/210 L, e.g. 0.020.")
    try:
        milli = Decimal(value) * 1000
    except InvalidOperation:  # pragma: no cover - Decimal(int | Decimal) cannot fail
        milli = Decimal("NaN")
    if not milli.is_finite() or milli != milli.to_integral_value():
        raise InvalidInput(path, "Give the BrAC with at most three decimals.")
    if not brac_in_range(milli):
        raise InvalidInput(path, BRAC_OUT_OF_RANGE)
    return int(milli)


def _effective_on(
    resource: Mapping[str, Any], participant: Participant, path: str
) -> date:
    value = resource.get("effectiveDateTime")
    if not isinstance(value, str):
        raise InvalidInput(path, "Give the collection date, YYYY-MM-DD.")
    day = parse_day(value)
    if day is not None:
        return day
    try:
        moment = datetime.fromisoformat(value) if "T" in value else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or parse_day(value[:10]) is None:
        raise InvalidInput(
            path, "Give the collection date, YYYY-MM-DD (or a time with its zone)."
        )
    # A collection time is a moment; the protocol counts clinic-local days.
    return moment.astimezone(ZoneInfo(participant.clinic.timezone)).date()


def _source(identifiers: Any, path: str) -> tuple[str, str]:
    if isinstance(identifiers, list):
        for identifier in identifiers:
            if not isinstance(identifier, dict):
                continue
            system, value = identifier.get("system"), identifier.get("value")
            if isinstance(system, str) and isinstance(value, str) and system and value:
                return system, value
    raise InvalidInput(
        path, "Give an identifier (system and value) so it is recorded once."
    )


def _source_ref(system: str, value: str, path: str) -> str:
    ref = f"fhir:{system}|{value}"
    if len(ref) > 200 or "|" in system or not ref.isprintable():
        raise InvalidInput(
            path, "Use a printable identifier of at most 190 characters."
        )
    return ref


def _own_event(
    participant: Participant, system: str, value: str, path: str
) -> Event | None:
    """The event an identifier of ours names, if it is this clinic's."""
    found = OWN_VALUE.match(value) if system == OBSERVATION_SYSTEM else None
    if found is None or int(found[1]) != participant.clinic_id:
        return None
    event_id = int(found[2])
    event = db.session.get(Event, event_id) if event_id < 2**31 else None
    if event is None or event.clinic_id != participant.clinic_id:
        raise InvalidInput(path, "This identifier names no result of this clinic.")
    return event
