"""Named outcome definitions of the CTNote library over a use-pattern word (issue 14).

Owns the translation of one episode's scheduled tests into CTNote's "use pattern
word" and the published outcome definitions CTNote codes over that word, so that a
report can name a measure by its paper and compute it the way the CTN-0094 team
does. Values are exact (int, bool, Fraction); percentages are 0-100 like
`outcomes_report.Measures`. Imports only the standard library.

Source followed: the CTNote R package (Odom, Brandt, Balise et al., "CTN Outcomes,
Treatments, and Endpoints", CRAN 0.1.0, github.com/CTN-0094/CTNote): its functions
`recode_missing_visits`, `count_matches`, `detect_subpattern`, `detect_in_window`,
`measure_abstinence_period` and `measure_retention` (R/*.R), and the code of its
library vignettes (vignettes/library_abstinence_20220711.Rmd,
library_reduction_20220630.Rmd and library_relapse_20220711.Rmd; the definitions
in inst/suppl_docs/definitions_20221123.xlsx). The weekly collapse follows the
CTN-0094 data package that builds CTNote's weekly words (public.ctn0094extra,
inst/scripts/create_weeklyOpioidPattern_20220308.R). Cite: Odom GJ, Brandt L,
Castro C, Luo SX, Feaster DJ, Balise RR. Capturing drug use patterns at a glance:
an n-ary word sufficient statistic for repeated univariate categorical values.
PLOS One, 2023.

Glossary (one symbol per scheduled test, or per week once collapsed):
  `-` negative; `+` positive (a refused specimen counts as positive); `o` missed;
  `*` mixed or inconclusive (a week with both a negative and a positive, or a
  test needing recollection, dilute or invalid); `_` no test expected (excused,
  clinic closed).
- Week symbol (CTN-0094): a week with a positive and a negative is `*`; otherwise
  any positive makes it `+`, any negative `-`; a week with no result is `o` if a
  test was missed, `_` if none was expected. A result outweighs a miss.
- Kosten 1993 abstinence: at least 3 consecutive negative weeks. A missed, mixed
  or excused week breaks the run.
- Ling 1998 treatment-effectiveness score (TES): the number of negatives; a mixed
  unit counts half, a missed one nothing.
- Pani 2000 TEC: negatives as a percentage of every scheduled unit (misses count
  against). Mattick 2003 TEP: the same over the full study period (ITT).
- Pani 2000 PCC: negatives as a percentage of the units with a specimen (misses
  left out).
- Mattick 2003 PCU: negatives as a percentage of the scheduled units up to the
  last contact (misses before dropout count against, weeks after it do not).
  In all four percentages a mixed unit counts as half a negative.
- CTN-0094 abstinence: in the last 4 weeks, no positive or mixed week and at most
  one missed week (an excused week in them fails it, as CTNote codes it).
- CTN-0094 relapse: 4 consecutive weeks each positive, mixed or missed; reported
  as the week the run starts. Lee 2018 (CTN-0051): the same, counted from week 3
  (day 21 after randomization).
- CTN-0094 dropout: 4 consecutive missed weeks; the week the run starts.
- Longest abstinence: the longest run of consecutive negatives, with a miss
  breaking the run (Schottenfeld 2008) or skipped (Schottenfeld 2005); a mixed
  unit always breaks it. CTNote counts an excused unit as abstinent;
  outcomes_report skips it (neither extends nor breaks), an option here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

NEGATIVE, POSITIVE, MISSING, MIXED, NONE_EXPECTED = "-", "+", "o", "*", "_"
ALPHABET = frozenset((NEGATIVE, POSITIVE, MISSING, MIXED, NONE_EXPECTED))

# Our test outcomes in CTNote's alphabet. A refusal is presumed positive (CM norm).
# A result the protocol could not read (a recollection still owed, or a raw dilute
# or invalid result that no result mapping has turned into an outcome) is not
# clearly negative: CTNote's "inconclusive" `*`.
SYMBOL: Mapping[str, str] = {
    "negative": NEGATIVE,
    "positive": POSITIVE,
    "refused": POSITIVE,
    "missed": MISSING,
    "excused": NONE_EXPECTED,
    "recollect": MIXED,
    "dilute": MIXED,
    "invalid": MIXED,
}
HALF = Fraction(1, 2)
# CTN-0094 abstinence: the last 4 weeks hold no positive and at most one miss.
CTN0094_ABSTINENT = ("----", "o---", "-o--", "--o-", "---o")

Missing = Literal["positive", "ignored"]
Excused = Literal["negative", "ignored"]


@dataclass(frozen=True)
class WindowEvent:
    """CTNote `detect_in_window`'s (time, event): the 1-based position where the
    first matching window is recorded, and whether one matched. With no match,
    `time` is the number of windows plus the offset (CTNote's censoring time).
    Both are None when the pattern is shorter than the window (CTNote: NA)."""

    time: int | None
    event: bool | None


def use_pattern(outcomes: Iterable[str]) -> str:
    """One symbol per scheduled test, in date order (see `SYMBOL`).

    Raises ValueError for an outcome with no symbol (e.g. "adulterated" or None):
    the protocol's result mapping must decide those before a report does.
    """
    symbols = []
    for outcome in outcomes:
        if outcome not in SYMBOL:
            raise ValueError(f"no use-pattern symbol for outcome {outcome!r}")
        symbols.append(SYMBOL[outcome])
    return "".join(symbols)


def collapse_week(symbols: str) -> str:
    """The symbol of one week from the symbols of its tests.

    Follows the CTN-0094 weekly word (public.ctn0094extra,
    create_weeklyOpioidPattern_20220308.R, "TRUMPING RULES: positive and negative
    trump missing"): positive and negative in one week -> `*`; positive without
    negative -> `+`; negative without positive -> `-`; no result -> `o`. It only
    knows positive, negative and missing tests; for an inconclusive test (`*`) we add:
    it does not soften a positive week, it does make a negative week `*` (the week
    is not clearly negative), and alone it makes the week `*`. A week with no
    result and nothing missed (all excused, or no test scheduled) is `_`.
    """
    _check(symbols)
    if POSITIVE in symbols and NEGATIVE in symbols:
        return MIXED
    if POSITIVE in symbols:
        return POSITIVE
    if NEGATIVE in symbols and MIXED not in symbols:
        return NEGATIVE
    if NEGATIVE in symbols or MIXED in symbols:
        return MIXED
    if MISSING in symbols:
        return MISSING
    return NONE_EXPECTED


def weekly_pattern(outcomes_by_week: Iterable[Sequence[str]]) -> str:
    """One symbol per week (`collapse_week`) from each week's test outcomes."""
    return "".join(collapse_week(use_pattern(week)) for week in outcomes_by_week)


# CTNote's building blocks. `start`/`end` are 1-based and inclusive; a negative
# value counts from the end (-1 is the last symbol), as stringr::str_sub does.


def window(pattern: str, start: int = 1, end: int = -1) -> str:
    """stringr::str_sub(pattern, start, end), which CTNote uses to trim a word."""
    n = len(pattern)
    first = n + start + 1 if start < 0 else start
    last = n + end + 1 if end < 0 else end
    first, last = max(first, 1), min(last, n)
    return pattern[first - 1 : last] if last >= first else ""


def recode_missing_visits(
    pattern: str, missing_is: str = MISSING, missing_becomes: str = POSITIVE
) -> str:
    """CTNote `recode_missing_visits`: replace every `missing_is` symbol with
    `missing_becomes` ("+", "-" or "" to drop it; default "+", missing is use)."""
    if missing_becomes not in (POSITIVE, NEGATIVE, ""):
        raise ValueError('missing_becomes must be "+", "-" or ""')
    return pattern.replace(missing_is, missing_becomes)


def count_matches(
    pattern: str,
    match_is: str,
    start: int = 1,
    end: int = -1,
    mixed_results_are: str | None = None,
    mixed_weight: Fraction = HALF,
    proportion: bool = False,
) -> Fraction:
    """CTNote `count_matches`: how many `match_is` in the window, each
    `mixed_results_are` adding `mixed_weight`; with `proportion`, divided by the
    window's length (every symbol in it, `_` and `o` included). An empty window
    gives 0, not 0/0 (CTNote's documented choice)."""
    trimmed = window(pattern, start, end)
    if not trimmed:
        return Fraction(0)
    count = Fraction(trimmed.count(match_is))
    if mixed_results_are is not None:
        count += mixed_weight * trimmed.count(mixed_results_are)
    return count / len(trimmed) if proportion else count


def detect_subpattern(
    pattern: str, subpattern: str | Iterable[str], start: int = 1, end: int = -1
) -> bool:
    """CTNote `detect_subpattern`: whether the window contains the consecutive
    sub-pattern (or any of several, as its vignettes pass a vector)."""
    trimmed = window(pattern, start, end)
    wanted = (subpattern,) if isinstance(subpattern, str) else tuple(subpattern)
    return any(sub in trimmed for sub in wanted)


def detect_in_window(
    pattern: str,
    window_width: int = 4,
    threshold: int = 3,
    offset: int | None = None,
    match_is: str = POSITIVE,
) -> WindowEvent:
    """CTNote `detect_in_window`: the first window of `window_width` consecutive
    symbols holding at least `threshold` `match_is` ("+", "o" or "-").

    `time` is the window's 1-based start plus `offset` (default width - threshold,
    the start of the run itself); with no match it is the number of windows plus
    `offset`, event False. A pattern shorter than the window gives (None, None).
    """
    if match_is not in (POSITIVE, MISSING, NEGATIVE):
        raise ValueError('match_is must be "+", "o" or "-"')
    if threshold > window_width:
        raise ValueError("threshold must be <= window_width")
    shift = window_width - threshold if offset is None else offset
    windows = len(pattern) - window_width + 1
    if windows < 1:
        return WindowEvent(None, None)
    for index in range(windows):
        if pattern[index : index + window_width].count(match_is) >= threshold:
            return WindowEvent(index + 1 + shift, True)
    return WindowEvent(windows + shift, False)


def measure_abstinence_period(pattern_binary: str, use_is: str = POSITIVE) -> int:
    """CTNote `measure_abstinence_period`: the longest run between `use_is`
    symbols. Every other symbol counts as abstinent, so recode first."""
    return max(len(run) for run in pattern_binary.split(use_is))


def measure_retention(pattern: str, missing_is: str = MISSING) -> int:
    """CTNote `measure_retention`: the position of the last symbol that is not
    `missing_is` (0 when all are missing). `_`, `*` and results all count."""
    return len(pattern.rstrip(missing_is))


# The named definitions. Each reads the pattern as CTNote's vignette code does,
# with CTNote's treatment of `o`, `*` and `_`.


def abstinent_kosten_1993(pattern: str) -> bool:
    """Kosten 1993 (Ab_kosten_1993): at least 3 consecutive negative weeks.

    CTNote: `detect_subpattern(usePatternUDS, "---")` on the weekly word, nothing
    recoded ("missing/not imputed"), so `o`, `*` and `_` all break the run.
    Kosten TR et al., J Nerv Ment Dis 1993;181(6):358-64,
    doi:10.1097/00005053-199306000-00004.
    """
    return detect_subpattern(pattern, "---")


def treatment_effectiveness_score(
    pattern: str, end: int = -1, mixed_weight: Fraction = HALF
) -> Fraction:
    """Ling 1998 "treatment effectiveness score" (Rd_lingC_1998): the number of
    negatives, a mixed unit counting `mixed_weight`, missed units nothing.

    CTNote: `count_matches(usePatternUDS, "-", end = 15, mixed_results_are = "*",
    mixed_weight = 0.5)` on the weekly word (15 was its data's length; `end`
    defaults to the whole pattern). Ling counted negative tests (3 a week), so a
    per-test pattern gives the original score. Ling W et al., Addiction 1998;
    93(4):475-86, doi:10.1046/j.1360-0443.1998.9344753.x.
    """
    return count_matches(
        pattern, NEGATIVE, end=end, mixed_results_are=MIXED, mixed_weight=mixed_weight
    )


def tec_pani_2000(pattern: str, mixed_weight: Fraction = HALF) -> Fraction:
    """Pani 2000 TEC (Rd_paniB_2000): 100 x negatives / scheduled units.

    "Percentage ratio between the number of negative UOS and the number of UOS as
    per protocol" (missing is positive). CTNote: `count_matches(usePatternUDS,
    "-", mixed_results_are = "*", mixed_weight = 0.5, proportion = TRUE)`: every
    symbol, `o` and `_` included, is in the denominator. Pani PP et al., Drug
    Alcohol Depend 2000;60(1):39-50, doi:10.1016/s0376-8716(99)00140-4.
    """
    return 100 * count_matches(
        pattern,
        NEGATIVE,
        mixed_results_are=MIXED,
        mixed_weight=mixed_weight,
        proportion=True,
    )


def pcc_pani_2000(pattern: str, mixed_weight: Fraction = HALF) -> Fraction:
    """Pani 2000 PCC (Rd_paniA_2000): 100 x negatives / units with a specimen.

    "Percentage ratio of negative UOS and the total number of UOS carried out"
    (missing not imputed). CTNote drops `o` (`recode_missing_visits(...,
    missing_becomes = "")`) then as TEC; `_` stays in the denominator, and so does
    a refusal (a `+`). All missed gives 0 (CTNote's empty-window rule).
    """
    present = recode_missing_visits(pattern, MISSING, "")
    return 100 * count_matches(
        present,
        NEGATIVE,
        mixed_results_are=MIXED,
        mixed_weight=mixed_weight,
        proportion=True,
    )


def tep_mattick_2003(
    pattern: str, end: int = -1, mixed_weight: Fraction = HALF
) -> Fraction:
    """Mattick 2003 TEP (Rd_mattickB_2003): 100 x negatives / scheduled units
    over the full study, intent to treat.

    CTNote: `count_matches(usePatternUDS, "-", mixed_results_are = "*",
    mixed_weight = 0.5, start = 1, end = 13, proportion = TRUE)`: 13 weeks was
    Mattick's protocol; `end` defaults to the whole pattern, where TEP equals
    TEC. Mattick RP et al., Addiction 2003;98(4):441-52,
    doi:10.1046/j.1360-0443.2003.00335.x.
    """
    return 100 * count_matches(
        pattern,
        NEGATIVE,
        end=end,
        mixed_results_are=MIXED,
        mixed_weight=mixed_weight,
        proportion=True,
    )


def pcu_mattick_2003(pattern: str, mixed_weight: Fraction = HALF) -> Fraction:
    """Mattick 2003 PCU (Rd_mattickA_2003): 100 x negatives / scheduled units up
    to the last contact ("for the time that the patient remained in the study").

    CTNote: `count_matches(usePatternUDS, "-", mixed_results_are = "*",
    mixed_weight = 0.5, start = 1, end = measure_retention(usePatternUDS),
    proportion = TRUE)`: misses before the last non-missing symbol count against,
    trailing misses do not; all missed gives 0.
    """
    return 100 * count_matches(
        pattern,
        NEGATIVE,
        end=measure_retention(pattern),
        mixed_results_are=MIXED,
        mixed_weight=mixed_weight,
        proportion=True,
    )


def abstinent_ctn0094(pattern: str, start: int = -4, end: int = -1) -> bool:
    """CTN-0094 abstinence (Ab_ctnNinetyFour_2023): in the last four weeks of
    treatment, no positive and no more than one missing week.

    CTNote: `*` -> `+` ("mixed results != abstinence"), then
    `any(detect_subpattern(udsPattern, c("----", "o---", "-o--", "--o-", "---o"),
    start = 12, end = 15))`: weeks 12-15 were the last four of its 15-week data;
    `start`/`end` default to the last four of the pattern. Fewer than four weeks,
    or a `_` in the window, match none of the five words: not abstinent.
    """
    mixed_is_use = recode_missing_visits(pattern, MIXED, POSITIVE)
    return detect_subpattern(mixed_is_use, CTN0094_ABSTINENT, start, end)


def relapse_ctn0094(pattern: str) -> WindowEvent:
    """CTN-0094 relapse (RsT/RsE_ctnNinetyFour_2023): weeks to relapse, 4
    consecutive weeks of positive UOS, missing is positive.

    CTNote: `o` -> `+`, `*` -> `+`, then `detect_in_window(udsPattern,
    window_width = 4, threshold = 4)` from week 1 (no lead-in for CTN-0094);
    `_` is not recoded, so it breaks a run.
    """
    return detect_in_window(_use_or_missing(pattern), window_width=4, threshold=4)


def relapse_lee_2018(pattern: str) -> WindowEvent:
    """Lee 2018 CTN-0051 relapse (RsT/RsE_ctnFiftyOne_2018): starting at day 21
    after randomization, 4 consecutive weeks with positive UOS (missing is
    positive).

    CTNote: as `relapse_ctn0094` on `str_sub(udsPattern, start = 3)` (weeks 3
    on), then time + 2 so it is a week of the whole pattern. Lee JD et al.,
    Lancet 2018;391(10118):309-18, doi:10.1016/S0140-6736(17)32812-X.
    """
    found = detect_in_window(
        window(_use_or_missing(pattern), 3), window_width=4, threshold=4
    )
    return found if found.time is None else WindowEvent(found.time + 2, found.event)


def dropout_ctn0094(pattern: str) -> WindowEvent:
    """CTN-0094 dropout (DrT/DrE_ctnNinetyFour_2023): weeks to study dropout, 4
    consecutive weeks of missing UOS.

    CTNote: `detect_in_window(usePatternUDS, window_width = 4, threshold = 4,
    match_is = "o")` with nothing recoded: `*`, `_` and results break a run.
    """
    return detect_in_window(pattern, window_width=4, threshold=4, match_is=MISSING)


def longest_abstinent_run(
    pattern: str, missing: Missing = "positive", excused: Excused = "negative"
) -> int:
    """The longest run of consecutive negatives, in the pattern's units.

    missing="positive": Schottenfeld 2008 (Ab_schottenfeldB_2008, `o` -> `+`);
    missing="ignored": Schottenfeld 2005 (Ab_schottenfeld_2005, `o` dropped). In
    both CTNote turns `*` into `+` and calls `measure_abstinence_period`, which
    counts every non-`+` symbol as abstinent, so `_` extends a run; its docs tell
    callers to recode `_` -> `-` (excused="negative", the default).
    excused="ignored" drops `_` instead, which is `outcomes_report.
    longest_abstinence` on the same tests: an excused test neither extends nor
    breaks a run (its `.tests` equals this on a per-test pattern). Schottenfeld
    RS et al., Am J Psychiatry 2005;162(2):340-9, doi:10.1176/appi.ajp.162.2.340;
    Lancet 2008;371(9631):2192-200, doi:10.1016/S0140-6736(08)60954-X.
    """
    binary = recode_missing_visits(pattern, MIXED, POSITIVE)
    binary = recode_missing_visits(
        binary, MISSING, POSITIVE if missing == "positive" else ""
    )
    binary = recode_missing_visits(
        binary, NONE_EXPECTED, NEGATIVE if excused == "negative" else ""
    )
    return measure_abstinence_period(binary)


def _use_or_missing(pattern: str) -> str:
    """`o` and `*` as `+`: CTNote's recoding for its relapse definitions."""
    return recode_missing_visits(
        recode_missing_visits(pattern, MISSING, POSITIVE), MIXED, POSITIVE
    )


def _check(pattern: str) -> None:
    unknown = set(pattern) - ALPHABET
    if unknown:
        raise ValueError(f"not a use-pattern symbol: {''.join(sorted(unknown))!r}")
