"""The codebook's words: every label the brief, the figures and the tools show.

The codes themselves (themes, outcomes, designs) are the enums of
``schemas/extraction.schema.yaml``, read here, so a code added there is known
everywhere; this module gives each code its words.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "extraction.schema.yaml"
_SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))

# Theme order is the seed report's: its four lessons, with linking beside them.
THEMES: tuple[str, ...] = tuple(_SCHEMA["$defs"]["effect"]["properties"]["theme"]["enum"])
OUTCOMES: tuple[str, ...] = tuple(_SCHEMA["$defs"]["effect"]["properties"]["outcome"]["enum"])
DESIGNS: tuple[str, ...] = tuple(_SCHEMA["properties"]["design"]["enum"])

THEME_TITLE = {
    "bonding": "Bonding social capital",
    "bridging": "Bridging social capital",
    "linking": "Linking social capital",
    "education": "Family and community capital in education",
    "workplace": "Workplace networks",
}
THEME_SHORT = {
    "bonding": "Bonding",
    "bridging": "Bridging",
    "linking": "Linking",
    "education": "Education",
    "workplace": "Workplace",
}
# The kind of capital as a noun phrase (figure descriptions).
THEME_NOUN = {
    "bonding": "bonding capital",
    "bridging": "bridging capital",
    "linking": "linking capital",
    "education": "family and community capital",
    "workplace": "workplace networks",
}
# "More <this> went with ..." in the readings.
THEME_EXPOSURE = {
    "bonding": "more bonding capital",
    "bridging": "more bridging capital",
    "linking": "more linking capital",
    "education": "more family and community capital",
    "workplace": "stronger workplace networks",
}
OUTCOME_NAME = {
    "mobility": "Upward mobility",
    "income": "Income",
    "employment": "Employment",
    "education": "Educational attainment",
    "health": "Health",
    "crime": "Crime",
    "other": "Other outcomes",
}
# (better, worse) in the readings: positive effects are "better" (contract).
OUTCOME_DIRECTION = {
    "mobility": ("more upward mobility", "less upward mobility"),
    "income": ("higher income", "lower income"),
    "employment": ("better employment outcomes", "worse employment outcomes"),
    "education": ("better educational results", "worse educational results"),
    "health": ("better health", "worse health"),
    "crime": ("less crime", "more crime"),
    "other": ("better outcomes", "worse outcomes"),
}
DESIGN_NAME = {
    "rct": "randomised trial",
    "quasi-experimental": "quasi-experiment",
    "cohort": "cohort",
    "cross-sectional": "cross-sectional",
    "ecological": "ecological (areas)",
    "qualitative": "qualitative",
    "review": "review",
    "theory": "theory",
    "other": "other",
}
COUNTRY_NAME = {
    "GB": "UK",
    "US": "USA",
    "XX": "several or not stated",
    "AU": "Australia",
    "CA": "Canada",
    "KR": "South Korea",
    "HR": "Croatia",
    "FI": "Finland",
    "SE": "Sweden",
    "DE": "Germany",
    "FR": "France",
    "NL": "Netherlands",
    "IE": "Ireland",
    "JP": "Japan",
    "CN": "China",
    "NO": "Norway",
    "DK": "Denmark",
    "CH": "Switzerland",
    "IT": "Italy",
    "ES": "Spain",
}
# Words for construct slugs where replacing hyphens by spaces is not enough.
CONSTRUCT_NAME = {
    "high-vs-low": "high versus low social capital",
    "per-unit-index": "per unit of a social capital index",
    "ec-partial-coefficient": "economic connectedness, adjusted coefficients",
    "economic-connectedness": "economic connectedness",
    "job-retention": "keeping a job",
    "re-employment": "getting back into work",
    "non-directed-activities": "non-directed (unstructured) activities",
    "extracurricular": "extra-curricular activities",
    "civic-organizations": "civic organisations",
}
# "More <this> went with ..." for constructs that name the exposure itself; other
# constructs (contrasts such as high-vs-low) read with the theme's words.
CONSTRUCT_EXPOSURE = {
    "economic-connectedness": "more economic connectedness",
    "ec-partial-coefficient": "more economic connectedness",
    "clustering": "more tightly clustered friendship networks",
    "support-ratio": "a higher support ratio",
    "volunteering-rate": "more volunteering",
    "civic-organizations": "more civic organisations",
    "non-directed-activities": "more time in unstructured activities",
    "extracurricular": "more extra-curricular activity",
    "family-social-capital": "more family social capital",
}
ESTIMATOR_NAME = {
    "REML": "restricted maximum likelihood (REML)",
    "ML": "maximum likelihood (ML)",
    "DL": "DerSimonian–Laird (DL)",
    "HE": "Hedges (HE)",
    "EE": "equal effects (EE, tau² = 0)",
}
CI_METHOD_NAME = {
    "knha": "Knapp–Hartung (t distribution with k − 1 degrees of freedom)",
    "wald": "Wald (normal distribution)",
}
# The same, short, for a figure's summary row ("RE model (REML, Knapp–Hartung)").
ESTIMATOR_SHORT = {
    "REML": "REML",
    "ML": "ML",
    "DL": "DerSimonian–Laird",
    "HE": "Hedges",
    "PM": "Paule–Mandel",
    "EE": "equal effects",
}
CI_METHOD_SHORT = {"knha": "Knapp–Hartung", "wald": "Wald z"}


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def construct_words(slug: str) -> str:
    slug = str(slug or "")
    return CONSTRUCT_NAME.get(slug, slug.replace("-", " ").replace("_", " "))


def country_words(codes: str) -> str:
    parts = [c for c in _text(codes).split(";") if c]
    return ", ".join(COUNTRY_NAME.get(c, c) for c in parts)


def list_words(items: str, names: Mapping[str, str] | None = None) -> str:
    parts = [p for p in _text(items).split(";") if p]
    return ", ".join((names or {}).get(p, p) for p in parts)


# US states (and DC) by postal code: the samples of a study split by state, such as the
# Social Capital Atlas reanalysis, are named as states.
US_STATE_NAME = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip
