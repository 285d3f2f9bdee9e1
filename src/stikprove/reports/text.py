"""The words of the reports, in Danish (default) and English.

Category codes stay Danish codes in the data; here they get their labels. Numbers are written
the way each language writes them: Danish "11 % (95 %-KI 6–19 %)" with a decimal comma,
English "11% (95% CI 6–19%)". Every sentence a report prints comes from this module, so a
translation is one place to change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from stikprove.errors import StikproveError
from stikprove.methods import DEFAULT_DOMAIN_INTERVAL_METHOD, canonical_method

LANGUAGES = ("da", "en")

GROUP_LABELS: dict[str, dict[str, str]] = {
    # sex
    "kvinde": {"da": "kvinder", "en": "women"},
    "mand": {"da": "mænd", "en": "men"},
    # origin (DST categories)
    "dansk_oprindelse": {"da": "dansk oprindelse", "en": "Danish origin"},
    "indvandrer_vestlig": {"da": "vestlige indvandrere", "en": "Western immigrants"},
    "indvandrer_ikke_vestlig": {"da": "ikke-vestlige indvandrere", "en": "non-Western immigrants"},
    "efterkommer_vestlig": {"da": "vestlige efterkommere", "en": "Western descendants"},
    "efterkommer_ikke_vestlig": {
        "da": "ikke-vestlige efterkommere",
        "en": "non-Western descendants",
    },
    # collapsed origin groups of the national template protocol
    "dansk": {"da": "dansk oprindelse", "en": "Danish origin"},
    "vestlig": {"da": "vestlig oprindelse", "en": "Western origin"},
    "ikke_vestlig": {"da": "ikke-vestlig oprindelse", "en": "non-Western origin"},
    "all": {"da": "alle", "en": "all"},
}

COLUMN_LABELS: dict[str, dict[str, str]] = {
    "kommune_code": {"da": "Kommunekode", "en": "Kommune code"},
    "kommune_name": {"da": "Kommune", "en": "Kommune"},
    "stratum": {"da": "Stratum", "en": "Stratum"},
    "sex": {"da": "Køn", "en": "Sex"},
    "origin": {"da": "Herkomst", "en": "Origin"},
    "group": {"da": "Gruppe", "en": "Group"},
    "indicator": {"da": "Indikator", "en": "Indicator"},
    "population_size": {"da": "Sager i alt (N)", "en": "Cases (N)"},
    "sample_size": {"da": "Udtrukket (n)", "en": "Sampled (n)"},
    "taken": {"da": "Taget ud (stikprøve og reserver)", "en": "Taken (sample and reserves)"},
    "sampling_fraction": {"da": "Udvælgelsesandel", "en": "Sampling fraction"},
    "done": {"da": "Vurderet", "en": "Reviewed"},
    "remaining": {"da": "Mangler", "en": "Remaining"},
    "share_done": {"da": "Andel vurderet", "en": "Share reviewed"},
    "n": {"da": "Vurderede sager (n)", "en": "Assessed cases (n)"},
    "estimate": {"da": "Andel", "en": "Proportion"},
    "se": {"da": "Standardfejl", "en": "Standard error"},
    "df": {"da": "Frihedsgrader", "en": "Degrees of freedom"},
    "ci_low": {"da": "Nedre grænse", "en": "Lower limit"},
    "ci_high": {"da": "Øvre grænse", "en": "Upper limit"},
    "n_eff": {"da": "Effektiv n", "en": "Effective n"},
    "deff": {"da": "Designeffekt", "en": "Design effect"},
    "estimate_missing_as_0": {"da": "Mindst (manglende = nej)", "en": "Lowest (missing = no)"},
    "estimate_missing_as_1": {"da": "Højst (manglende = ja)", "en": "Highest (missing = yes)"},
    "n_missing": {"da": "Berettigede uden vurdering", "en": "Eligible, not assessed"},
    "national_rate": {"da": "Andel i hele landet", "en": "National proportion"},
    "difference": {"da": "Forskel", "en": "Difference"},
    "se_difference": {"da": "Standardfejl for forskel", "en": "Standard error of difference"},
    "df_difference": {"da": "Frihedsgrader for forskel", "en": "Degrees of freedom of difference"},
    "statistic": {"da": "Teststørrelse", "en": "Test statistic"},
    "tested": {"da": "Testet", "en": "Tested"},
    "p_value": {"da": "p-værdi", "en": "p-value"},
    "p_adjusted": {"da": "Justeret p-værdi (BH)", "en": "Adjusted p-value (BH)"},
    "flagged": {"da": "Afviger fra landet", "en": "Differs from the nation"},
    "disclosure": {"da": "Note", "en": "Note"},
    "publication": {"da": "Offentliggørelse", "en": "Publication"},
    # the design explorer
    "proportional": {"da": "Proportional", "en": "Proportional"},
    "equal": {"da": "Lige store", "en": "Equal"},
    "neyman": {"da": "Neyman", "en": "Neyman"},
    "allocation": {"da": "Fordeling", "en": "Allocation"},
    "reviews": {"da": "Vurderinger", "en": "Reviews"},
    "hours": {"da": "Lægetimer", "en": "Physician hours"},
    "half_width_all": {"da": "Forventet ± hele undersøgelsen", "en": "Expected ± whole study"},
    "half_width_widest": {"da": "Forventet ± mindst præcise stratum",
                          "en": "Expected ± least precise stratum"},
    # compare (two groups) and compare --test (Rao–Scott)
    "first": {"da": "Første gruppe", "en": "First group"},
    "second": {"da": "Anden gruppe", "en": "Second group"},
    "n_first": {"da": "Vurderede sager, første (n)", "en": "Assessed cases, first (n)"},
    "n_second": {"da": "Vurderede sager, anden (n)", "en": "Assessed cases, second (n)"},
    "estimate_first": {"da": "Andel, første", "en": "Proportion, first"},
    "estimate_second": {"da": "Andel, anden", "en": "Proportion, second"},
    "se_first": {"da": "Standardfejl, første", "en": "Standard error, first"},
    "se_second": {"da": "Standardfejl, anden", "en": "Standard error, second"},
    "ci_low_first": {"da": "Nedre grænse, første", "en": "Lower limit, first"},
    "ci_high_first": {"da": "Øvre grænse, første", "en": "Upper limit, first"},
    "ci_low_second": {"da": "Nedre grænse, anden", "en": "Lower limit, second"},
    "ci_high_second": {"da": "Øvre grænse, anden", "en": "Upper limit, second"},
    "ci_low_difference": {"da": "Nedre grænse for forskel", "en": "Lower limit of difference"},
    "ci_high_difference": {"da": "Øvre grænse for forskel", "en": "Upper limit of difference"},
    "ratio": {"da": "Forhold", "en": "Ratio"},
    "ci_low_ratio": {"da": "Nedre grænse for forhold", "en": "Lower limit of ratio"},
    "ci_high_ratio": {"da": "Øvre grænse for forhold", "en": "Upper limit of ratio"},
    "covariance": {"da": "Kovarians", "en": "Covariance"},
    "method": {"da": "Metode", "en": "Method"},
    "confidence_level": {"da": "Konfidensniveau", "en": "Confidence level"},
    "interval_method": {"da": "Intervalmetode", "en": "Interval method"},
    "df_denominator": {"da": "Frihedsgrader i nævneren", "en": "Denominator degrees of freedom"},
    "pearson": {"da": "Pearsons X²", "en": "Pearson's X²"},
    "mean_design_effect": {"da": "Gennemsnitlig designeffekt", "en": "Mean design effect"},
    "statistic_type": {"da": "Testtype", "en": "Type of statistic"},
    "groups": {"da": "Grupper", "en": "Groups"},
}

DISCLOSURE_NOTES: dict[str, dict[str, str]] = {
    "small": {
        "da": "Færre end {threshold} sager: tallet er udeladt af hensyn til diskretion.",
        "en": "Fewer than {threshold} cases: suppressed for confidentiality.",
    },
    "complementary": {
        "da": "Udeladt, så et udeladt lille tal ikke kan regnes ud fra totalen.",
        "en": "Suppressed so that a suppressed small count cannot be derived from the total.",
    },
    "nchs_n_eff": {
        "da": "For få sager til et pålideligt tal (effektiv stikprøve under 30; NCHS).",
        "en": "Too few cases for a reliable figure (effective sample size under 30; NCHS).",
    },
    "nchs_width": {
        "da": "For usikkert: konfidensintervallet er 30 procentpoint bredt eller mere (NCHS).",
        "en": "Too uncertain: the interval is 30 percentage points wide or more (NCHS).",
    },
    "nchs_relative_width": {
        "da": "For usikkert: intervallet er bredere end 130 % af andelen (NCHS).",
        "en": "Too uncertain: the interval is wider than 130% of the proportion (NCHS).",
    },
    "nchs_complement": {
        "da": "Tolkes varsomt: intervallet er bredt i forhold til den modsatte andel (NCHS).",
        "en": "Interpret with care: the interval is wide relative to the complement (NCHS).",
    },
    "nchs_df": {
        "da": "Tolkes varsomt: færre end 8 frihedsgrader (NCHS).",
        "en": "Interpret with care: fewer than 8 degrees of freedom (NCHS).",
    },
    "nchs_zero": {
        "da": "Tolkes varsomt: andelen er 0 % eller 100 % (NCHS).",
        "en": "Interpret with care: the proportion is 0% or 100% (NCHS).",
    },
}

PHRASES: dict[str, dict[str, str]] = {
    "title": {
        "da": "Genvurdering af aktivitetsparate kontanthjælpsmodtagere: {kommune}",
        "en": "Re-assessment of non-job-ready cash-benefit recipients: {kommune}",
    },
    "national_title": {
        "da": "Genvurdering af aktivitetsparate kontanthjælpsmodtagere: hele landet",
        "en": "Re-assessment of non-job-ready cash-benefit recipients: the whole country",
    },
    "headline": {
        "da": "Blandt {group} i {place} vurderes {estimate} ({level}-KI {low}–{high}) {what}.",
        "en": "Among {group} in {place}, {estimate} ({level} CI {low}–{high}) are assessed {what}.",
    },
    "too_small": {
        "da": "For {group} i {place} er gruppen for lille til at sige noget sikkert: {why}",
        "en": "For {group} in {place} the group is too small to conclude anything: {why}",
    },
    "not_shown": {
        "da": "For {group} i {place} vises tallet ikke: {why}",
        "en": "For {group} in {place} the figure is not shown: {why}",
    },
    "all_cases": {"da": "alle sager", "en": "all cases"},
    "not_for_publication": {
        "da": "IKKE TIL OFFENTLIGGØRELSE: rå tabel uden diskretionskontrol",
        "en": "NOT FOR PUBLICATION: raw table without disclosure control",
    },
}

INDICATOR_WHAT: dict[str, dict[str, str]] = {
    "too_ill": {
        "da": "at være for syge til en beskæftigelsesrettet indsats",
        "en": "too ill for employment-oriented effort",
    },
    "misclassified": {
        "da": "at kunne deltage i en indsats, selv om de er fritaget af helbredsgrunde",
        "en": "able to take part although exempted for health reasons",
    },
    "no_effort": {
        "da": "ikke at have fået tilbud eller mentor det seneste år",
        "en": "to have had no offer or mentor in the last year",
    },
}


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise StikproveError(f"language must be one of {LANGUAGES}; got {language!r}")
    return language


def group_label(code: object, language: str = "da") -> str:
    """The label of a category code (the code itself when it has none)."""
    return GROUP_LABELS.get(str(code), {}).get(language, str(code))


def group_phrase(row: Mapping[str, object], language: str = "da") -> str:
    """The group of an estimates row for a sentence: "kvinder, dansk oprindelse" / "women,
    Danish origin" (labels keep their own capitals; missing parts are left out).

    >>> group_phrase({"sex": "kvinde", "origin": "ikke_vestlig"}, "en")
    'women, non-Western origin'
    """
    parts = [row.get(c) for c in ("sex", "origin")]
    return ", ".join(group_label(p, language) for p in parts if isinstance(p, str) and p)


def column_label(column: str, language: str = "da") -> str:
    """A column's header in the report language (the column name when it has none)."""
    return COLUMN_LABELS.get(column, {}).get(language, column)


def column_labels(columns: list[str], language: str = "da") -> dict[str, str]:
    return {c: column_label(c, language) for c in columns}


def phrase(key: str, language: str = "da", **values: object) -> str:
    return PHRASES[key][check_language(language)].format(**values)


def percent(value: float, language: str = "da", digits: int = 0) -> str:
    """A proportion as a percentage: Danish "11 %" / "12,5 %", English "11%" / "12.5%".

    >>> percent(0.125, "da", 1), percent(0.125, "en", 1), percent(float("nan"))
    ('12,5 %', '12.5%', '–')
    """
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{100 * value:.{digits}f}"
    return f"{text.replace('.', ',')} %" if language == "da" else f"{text}%"


def number(value: float, language: str = "da", digits: int = 0) -> str:
    """A number with the language's decimal mark (Danish comma).

    >>> number(0.4321, "da", 2), number(0.4321, "en", 2)
    ('0,43', '0.43')
    """
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value:,.{digits}f}"
    if language == "da":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def disclosure_notes(codes: object, language: str = "da", threshold: int = 5) -> list[str]:
    """The footnotes for a ``disclosure`` cell ("small,nchs_df" -> two sentences)."""
    out = []
    for code in str(codes or "").split(","):
        if code in DISCLOSURE_NOTES:
            out.append(DISCLOSURE_NOTES[code][language].format(threshold=threshold))
    return out


def open_review_lead(reviewed: float | None, covered: float, place: str,
                     language: str = "da", threshold: int = 5) -> str:  # fmt: skip
    """The lead sentence of a report whose review is still running, instead of a figure
    "among all cases": the share of the sampled cases reviewed (None: fewer than the
    threshold), the share of the population the figures cover, and where the preliminary
    results are (docs/interim.md).

    >>> open_review_lead(0.38, 0.51, "Odense", "en")[:80]
    'The review in Odense is under way: 38% of the sampled cases are reviewed so far.'
    """
    language = check_language(language)
    share = (percent(reviewed, language) if reviewed is not None
             else {"da": f"færre end {threshold}", "en": f"fewer than {threshold}"}[language])
    if language == "da":
        return (
            f"Genvurderingen i {place} er i gang: {share} af de udtrukne sager er vurderet "
            "indtil nu. Alle tal er foreløbige og dækker kun grupper med vurderede sager "
            f"({percent(covered, language)} af sagerne i {place}); se de foreløbige "
            "resultater nedenfor."
        )
    return (
        f"The review in {place} is under way: {share} of the sampled cases are reviewed so "
        "far. Every figure is preliminary and covers only the groups with reviewed cases "
        f"({percent(covered, language)} of the cases in {place}); see the preliminary "
        "results below."
    )


def headline(
    row: Mapping[str, object],
    group: str,
    place: str,
    indicator: str,
    language: str = "da",
    confidence_level: float = 0.95,
    threshold: int = 5,
) -> str:
    """One plain sentence quoting the estimate with its interval, or saying plainly that the
    group is too small to conclude anything (when disclosure control hid the estimate for
    its own few cases), or that its figure is not shown (a complementary suppression: the
    group may be large, it is hidden to protect another group's small count).

    >>> headline({"estimate": 0.11, "ci_low": 0.06, "ci_high": 0.19, "disclosure": ""},
    ...          "ikke-vestlige indvandrerkvinder", "Odense", "too_ill")
    'Blandt ikke-vestlige indvandrerkvinder i Odense vurderes 11 % (95 %-KI 6–19 %) at være for syge til en beskæftigelsesrettet indsats.'
    """  # noqa: E501
    language = check_language(language)
    estimate = row.get("estimate")
    if estimate is None or not math.isfinite(float(estimate)):  # type: ignore[arg-type]
        notes = disclosure_notes(row.get("disclosure"), language, threshold)
        why = notes[0].rstrip(".") if notes else "–"
        why = why[:1].lower() + why[1:]
        codes = str(row.get("disclosure") or "").split(",")
        key = "not_shown" if codes[0] == "complementary" else "too_small"
        return phrase(key, language, group=group, place=place, why=why) + "."
    what = INDICATOR_WHAT.get(indicator, {}).get(language, indicator)
    level = percent(confidence_level, language)
    return phrase(
        "headline", language, group=group, place=place, what=what, level=level,
        estimate=percent(float(estimate), language),  # type: ignore[arg-type]
        low=percent(float(row["ci_low"]), language).rstrip(" %"),  # type: ignore[arg-type]
        high=percent(float(row["ci_high"]), language),  # type: ignore[arg-type]
    )  # fmt: skip


SECTIONS: dict[str, dict[str, str]] = {
    "summary": {"da": "Sammenfatning", "en": "Summary"},
    "design": {"da": "Stikprøvens design", "en": "The sample design"},
    "progress": {"da": "Fremdrift i genvurderingen", "en": "Progress of the review"},
    "estimates": {"da": "Resultater pr. gruppe", "en": "Results per group"},
    "comparison": {"da": "Sammenligning af grupper", "en": "Comparison of groups"},
    "bounds": {"da": "Manglende vurderinger", "en": "Missing assessments"},
    "agreement": {"da": "Enighed mellem bedømmere", "en": "Agreement between reviewers"},
    "reliability": {"da": "Pålidelighed og diskretion", "en": "Reliability and confidentiality"},
    "methods": {"da": "Metode og referencer", "en": "Methods and references"},
    "national_estimates": {"da": "Landstal pr. gruppe", "en": "National estimates per group"},
    "funnel": {"da": "Kommunerne mod landstallet", "en": "Kommuner against the national rate"},
    "kommuner": {"da": "Alle kommuner", "en": "All kommuner"},
}

INDICATOR_NAMES: dict[str, dict[str, str]] = {
    "too_ill": {"da": "For syg til beskæftigelsesrettet indsats",
                "en": "Too ill for employment-oriented effort"},
    "misclassified": {"da": "Fritaget af helbredsgrunde, men kan deltage",
                      "en": "Exempted for health reasons but able to take part"},
    "no_effort": {"da": "Ingen tilbud eller mentor det seneste år",
                  "en": "No offer or mentor in the last year"},
}  # fmt: skip

METHODS: dict[str, str] = {
    "da": (
        "Sagerne er udtrukket som en stratificeret simpel tilfældig stikprøve uden "
        "tilbagelægning (strata: {strata}). Andelene er design-baserede "
        "estimater Σ W_h p̂_h med korrektion for endelig population; varians og "
        "frihedsgrader beregnes som i R-pakken survey (Lumley 2010). {interval} "
        "Sager, der ikke kunne vurderes, eller som endnu "
        "ikke er vurderet, udelades inden for deres stratum; grænserne for manglende "
        "vurderinger viser den mindste og største mulige andel. Grupper sammenlignes med "
        "forskel og forhold med intervaller og med Rao–Scotts test. Tal under "
        "{threshold} udelades med komplementær undertrykkelse, og andele, der ikke opfylder "
        "NCHS' præsentationsstandard (Parker m.fl. 2017), udelades eller markeres; "
        "standarden vurderes som i NCHS' eget R-program surveytable på "
        "Korn–Graubard-intervallet med designeffekten sat til mindst 1 (effektiv n højst n), "
        "uanset hvilket interval tabellerne viser. Kommunerne sammenlignes med landstallet i "
        "et tragtdiagram (Spiegelhalter 2005); en kommune markeres som afvigende, når den "
        "ligger uden for den tegnede grænse, som Benjamini–Hochberg-korrektionen for antallet "
        "af kommuner giver (Jones m.fl. 2008)."
    ),
    "en": (
        "Cases were drawn as a stratified simple random sample without replacement (strata: "
        "{strata}). Proportions are design-based estimates Σ W_h p̂_h with the "
        "finite population correction; variances and degrees of freedom are computed as R's "
        "survey package does (Lumley 2010). {interval} Cases that could not be assessed or "
        "are not yet reviewed are dropped within their stratum; the bounds for missing "
        "assessments give the lowest and highest possible proportion. Groups are compared by "
        "difference and ratio with intervals and by the Rao–Scott test. Counts under "
        "{threshold} are suppressed with complementary suppression, and proportions that "
        "fail the NCHS presentation standard (Parker et al. 2017) are suppressed or flagged; "
        "the standard is checked as NCHS's own R package surveytable checks it, on the "
        "Korn–Graubard interval with the design effect floored at 1 (effective n at most n), "
        "whichever interval the tables show. Kommuner are compared with the national rate in "
        "a funnel plot (Spiegelhalter 2005); a kommune is flagged as differing when it lies "
        "outside the drawn limit, which the Benjamini–Hochberg correction for the number of "
        "kommuner gives (Jones et al. 2008)."
    ),
}
"""The methods paragraph; ``{interval}`` is the sentence of :data:`INTERVAL_METHODS`."""

INTERVAL_METHODS: dict[str, dict[str, str]] = {
    "pooled-hypergeometric": {
        "da": "Konfidensintervallerne er for en gruppe inden for ét stratum det eksakte "
              "hypergeometriske interval (Wright 1991) og for en gruppe på tværs af strata "
              "Korn–Graubards interval (Korn & Graubard 1998) på en varians, hvor et stratum "
              "med højst én hændelse eller ikke-hændelse låner gruppens andel; metoden er "
              "valgt ved et simulationsstudie af små kommuners design, fordi R's "
              "Korn–Graubard-interval dækker for sjældent i små grupper med sjældne udfald.",
        "en": "Confidence intervals are, for a group within one stratum, the exact "
              "hypergeometric interval (Wright 1991) and, for a group across strata, the "
              "Korn–Graubard interval (Korn & Graubard 1998) on a variance in which a stratum "
              "with at most one event or non-event borrows the group's rate; the method was "
              "chosen by a simulation study of small kommuner's designs, because R's "
              "Korn–Graubard interval covers too rarely in small groups with rare outcomes.",
    },
    "korn-graubard": {
        "da": "Konfidensintervallerne er Korn–Graubards (Korn & Graubard 1998; NCHS' "
              "standard), som i R-pakken survey (svyciprop, method = \"beta\").",
        "en": "Confidence intervals are Korn–Graubard intervals (Korn & Graubard 1998; the "
              "NCHS standard), as R's survey package computes them (svyciprop, "
              "method = \"beta\").",
    },
    "korn-graubard-deff1": {
        "da": "Konfidensintervallerne er Korn–Graubards (Korn & Graubard 1998) med "
              "designeffekten sat til mindst 1, som NCHS beregner dem (Parker m.fl. 2017).",
        "en": "Confidence intervals are Korn–Graubard intervals (Korn & Graubard 1998) with "
              "the design effect floored at 1, as NCHS computes them (Parker et al. 2017).",
    },
    "logit": {
        "da": "Konfidensintervallerne er design-baserede logit-intervaller.",
        "en": "Confidence intervals are design-based logit intervals.",
    },
    "wald": {
        "da": "Konfidensintervallerne er design-baserede Wald-intervaller (estimat ± t · "
              "standardfejl).",
        "en": "Confidence intervals are design-based Wald intervals (estimate ± t × "
              "standard error).",
    },
    "wilson": {
        "da": "Konfidensintervallerne er Wilsons score-intervaller på den effektive "
              "stikprøvestørrelse.",
        "en": "Confidence intervals are Wilson score intervals on the effective sample size.",
    },
    "jeffreys": {
        "da": "Konfidensintervallerne er Jeffreys' intervaller på den effektive "
              "stikprøvestørrelse.",
        "en": "Confidence intervals are Jeffreys intervals on the effective sample size.",
    },
    "hypergeometric": {
        "da": "Konfidensintervallerne er eksakte hypergeometriske intervaller (Wright 1991) "
              "for grupper inden for ét stratum.",
        "en": "Confidence intervals are exact hypergeometric intervals (Wright 1991) for "
              "groups within one stratum.",
    },
}  # fmt: skip
"""The methods section's sentence on the confidence intervals, per interval method: the
report says which interval its tables show (the protocol's, or the ``interval_method``
parameter)."""

REFERENCES = (
    "Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small "
    "expected number of positive counts estimated from survey data. Survey Methodology 24, "
    "193–201.",
    "Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.",
    "Parker, J. D., Talih, M., Malec, D. J., et al. (2017). National Center for Health "
    "Statistics Data Presentation Standards for Proportions. Vital Health Stat 2(175).",
    "Rao, J. N. K. & Scott, A. J. (1984). On chi-squared tests for multiway contingency "
    "tables with cell proportions estimated from survey data. Annals of Statistics 12, 46–60.",
    "Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance. "
    "Statistics in Medicine 24, 1185–1202.",
    "Jones, H. E., Ohlssen, D. I. & Spiegelhalter, D. J. (2008). Use of the false discovery "
    "rate when comparing the performance of healthcare providers. Quality and Safety in "
    "Health Care 17, 112–118.",
    "Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and "
    "Psychological Measurement 20, 37–46.",
    "Wright, T. (1991). Exact Confidence Bounds when Sampling from Small Finite Universes. "
    "Lecture Notes in Statistics 66. Springer.",
)


def section(key: str, language: str = "da") -> str:
    """A section heading as Markdown."""
    return f"## {SECTIONS[key][check_language(language)]}"


def indicator_name(indicator: str, language: str = "da") -> str:
    return INDICATOR_NAMES.get(indicator, {}).get(language, indicator)


def methods(
    language: str = "da",
    threshold: int = 5,
    interval_method: str = DEFAULT_DOMAIN_INTERVAL_METHOD,
    strata: Sequence[str] = ("kommune_code", "sex", "origin"),
) -> str:
    """The methods paragraph and the references, as Markdown: the strata, the interval
    method the report's tables show (its own sentence) and the disclosure threshold.

    >>> "Wright 1991" in methods("en"), "Wright 1991" in methods("en", 5, "korn-graubard")
    (True, False)
    """
    language = check_language(language)
    method = canonical_method(interval_method)
    if method not in INTERVAL_METHODS:
        raise StikproveError(
            f"interval method must be one of {', '.join(INTERVAL_METHODS)}; got {method!r}"
        )
    names = [column_label("kommune_name" if c == "kommune_code" else c, language).lower()
             for c in strata if c != "stratum"]  # fmt: skip
    text = METHODS[language].format(
        threshold=threshold, interval=INTERVAL_METHODS[method][language],
        strata=" × ".join(names) or "–",
    )  # fmt: skip
    refs = "\n".join(f"- {r}" for r in REFERENCES)
    return text + "\n\n" + refs


def _missing(value: object) -> bool:
    try:
        return value is None or not math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def comparison_sentence(row: Mapping[str, object] | None, language: str = "da",
                        threshold: int = 5, confidence_level: float = 0.95) -> str:  # fmt: skip
    """The difference of two groups with its interval (at ``confidence_level``, the level the
    comparison was computed at) and p-value, in words."""
    if row is None or _missing(row.get("difference")):
        return ("Forskellen mellem grupperne kan ikke vises (for få sager)." if language == "da"
                else "The difference between the groups cannot be shown (too few cases).")
    first, second = group_label(row["first"], language), group_label(row["second"], language)
    diff = float(row["difference"])  # type: ignore[arg-type]
    low = float(row["ci_low_difference"])  # type: ignore[arg-type]
    high = float(row["ci_high_difference"])  # type: ignore[arg-type]
    p = float(row["p_value"])  # type: ignore[arg-type]
    points = lambda v: number(100 * v, language, 0)  # noqa: E731
    level = percent(confidence_level, language)
    if language == "da":
        return (f"Forskellen mellem {first} og {second} er {points(diff)} procentpoint "
                f"({level}-KI {points(low)} til {points(high)}; p = {number(p, language, 3)}).")
    return (f"The difference between {first} and {second} is {points(diff)} percentage points "
            f"({level} CI {points(low)} to {points(high)}; p = {number(p, language, 3)}).")


def test_sentence(row: Mapping[str, object] | None, language: str = "da") -> str:
    """The Rao–Scott test across origins, in words."""
    if row is None or _missing(row.get("p_value")):
        return ("Testen for ens andele på tværs af herkomst kan ikke beregnes her."
                if language == "da" else "The test of equal rates across origins cannot be "
                "computed here.")
    p = number(float(row["p_value"]), language, 3)  # type: ignore[arg-type]
    if language == "da":
        return f"Rao–Scotts test for ens andele på tværs af herkomstgrupper: p = {p}."
    return f"Rao–Scott test of equal rates across origin groups: p = {p}."


def bounds_sentence(row: Mapping[str, object], language: str = "da") -> str:
    """The worst/best-case bounds for missing outcomes, in words, with the number of eligible
    cases that could not be assessed (``n_missing``) when it is shown."""
    low, high = row.get("estimate_missing_as_0"), row.get("estimate_missing_as_1")
    if _missing(low) or _missing(high):
        return ("Grænserne kan ikke vises (for få sager)." if language == "da"
                else "The bounds cannot be shown (too few cases).")
    lo, hi = percent(float(low), language), percent(float(high), language)  # type: ignore[arg-type]
    count = row.get("n_missing")
    if language == "da":
        lead = ("" if _missing(count) else
                f"{int(count)} berettigede personer kunne ikke vurderes eller mangler endnu "  # type: ignore[arg-type]
                "vurdering (personer uden for målgruppen tæller ikke med). ")
        return (f"{lead}Regnes alle manglende vurderinger som nej, bliver andelen {lo}; "
                f"regnes de som ja, bliver den {hi}.")
    lead = ("" if _missing(count) else
            f"{int(count)} eligible persons could not be assessed or are not yet reviewed "  # type: ignore[arg-type]
            "(persons found outside the target group are not counted). ")
    return f"{lead}Counting every missing assessment as no gives {lo}; as yes, {hi}."


def agreement_sentence(row: Mapping[str, object], language: str = "da",
                       threshold: int = 5, confidence_level: float = 0.95) -> str:  # fmt: skip
    """Cohen's kappa of the double reviews with its interval (at ``confidence_level``), in
    words (or why it is not shown)."""
    kappa = row.get("kappa")
    if _missing(kappa):
        return (f"Færre end {threshold} dobbeltvurderede sager med to vurderinger, eller "
                "enigheden kan ikke beregnes." if language == "da" else
                f"Fewer than {threshold} double-reviewed cases with both reviews, or the "
                "agreement cannot be computed.")
    k = number(float(kappa), language, 2)  # type: ignore[arg-type]
    low = number(float(row["ci_low"]), language, 2)  # type: ignore[arg-type]
    high = number(float(row["ci_high"]), language, 2)  # type: ignore[arg-type]
    agree = number(float(row["percent_agreement"]), language, 0)  # type: ignore[arg-type]
    level = percent(confidence_level, language)
    if language == "da":
        return (f"De to bedømmere var enige i {agree} % af de dobbeltvurderede sager "
                f"(Cohens kappa {k}, {level}-KI {low} til {high}).")
    return (f"The two reviewers agreed on {agree}% of double-reviewed cases (Cohen's kappa {k}, "
            f"{level} CI {low} to {high}).")


# ---- preliminary results while the review is running (stikprove.reports.interim) ----------

INTERIM_LABEL: dict[str, str] = {
    "da": "Foreløbige resultater, gyldige uanset hvor ofte der kigges",
    "en": "Preliminary results, valid however often they are looked at",
}
"""The heading of a report's interim section."""


def interim_section(language: str = "da") -> str:
    """The interim section's heading as Markdown."""
    return f"## {INTERIM_LABEL[check_language(language)]}"


def _count(value: int | None, language: str, threshold: int) -> str:
    if value is None or 1 <= value < threshold:  # suppressed (docs/reports.md)
        return f"færre end {threshold}" if language == "da" else f"fewer than {threshold}"
    return number(value, language)


def interim_sentence(analysed: int | None, waiting: int | None, language: str = "da",
                     confidence_level: float = 0.95, threshold: int = 5) -> str:  # fmt: skip
    """What the preliminary results rest on, in words: how many cases are analysed, how many
    reviewed cases wait on an earlier case, and why the intervals stay valid. A count from 1
    to threshold − 1, or None (suppressed before), is written "færre end 5" / "fewer than 5".

    >>> interim_sentence(40, 3, "en")[:73]
    'The review is not finished: 40 cases are analysed so far, and fewer than '
    """
    language = check_language(language)
    level = percent(confidence_level, language)
    n, w = _count(analysed, language, threshold), _count(waiting, language, threshold)
    if language == "da":
        return (
            f"Genvurderingen er ikke afsluttet: {n} sager er analyseret indtil nu, og {w} "
            "vurderede sager venter på en tidligere sag i deres stratums liste. Hvert stratum "
            "analyseres i den tilfældige rækkefølge, sagerne blev udtrukket i, så langt alle "
            f"sager fra toppen af listen er vurderet. Intervallerne er {level}-"
            "konfidenssekvenser (Waudby-Smith & Ramdas 2020): de holder samtidig ved hvert "
            "kig, så tallene kan følges, efterhånden som vurderingerne kommer ind. De er "
            "bredere end de endelige konfidensintervaller, som afløser dem, når alle "
            "udtrukne sager er vurderet."
        )
    return (
        f"The review is not finished: {n} cases are analysed so far, and {w} reviewed cases "
        "wait on an earlier case of their stratum's list. Each stratum is analysed in the "
        "random order its cases were drawn in, as far as every case from the top of the list "
        f"is reviewed. The intervals are {level} confidence sequences (Waudby-Smith & Ramdas "
        "2020): they hold at every look at once, so the figures can be followed as the "
        "reviews come in. They are wider than the final confidence intervals, which replace "
        "them once every sampled case is reviewed."
    )
