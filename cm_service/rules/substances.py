"""Substances in plain words: what staff and participants read for a panel code.

Codes ("mdma", "etg") stay in the data, the API and the exports; pages say
"MDMA/ecstasy" and "alcohol (EtG)". `substance_words` is the form inside a
sentence ("Choose the cocaine result."), `substance_label` the form that starts a
label or a column ("Cocaine"). Imports nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

# Every code of services.checkins.ANALYTES (a test keeps the two in step).
SUBSTANCE_WORDS = {
    "cocaine": "cocaine",
    "amphetamine": "amphetamine",
    "methamphetamine": "methamphetamine",
    "mdma": "MDMA/ecstasy",
    "opiates": "opiates",
    "morphine": "morphine",
    "heroin": "heroin",
    "oxycodone": "oxycodone",
    "fentanyl": "fentanyl",
    "buprenorphine": "buprenorphine",
    "methadone": "methadone",
    "tramadol": "tramadol",
    "benzodiazepines": "benzodiazepines",
    "barbiturates": "barbiturates",
    "cannabis": "cannabis (THC)",
    "pcp": "PCP",
    "alcohol": "alcohol",
    "etg": "alcohol (EtG)",
    "nicotine": "nicotine",
}
# The breath test's reading (blood alcohol by breath, g/210 L).
BREATH_WORDS = "breath alcohol (BrAC)"


def substance_words(code: object) -> str:
    """The code in plain words, as inside a sentence; an unknown code as it is."""
    text = str(code)
    return SUBSTANCE_WORDS.get(text.strip().lower(), text)


def substance_label(code: object) -> str:
    """The code in plain words starting with a capital: "Cocaine", "MDMA/ecstasy"."""
    words = substance_words(code)
    return words[:1].upper() + words[1:]


def substance_list(codes: Iterable[str]) -> str:
    """Codes in plain words, comma-separated: "cocaine, MDMA/ecstasy, PCP"."""
    return ", ".join(substance_words(code) for code in codes)
