"""Themes: the words and two-word phrases a set of documents keeps using. No I/O.

Simple enough to explain in a report footnote:

1. Each text is lower-cased; URLs, `r/...` and `u/...` references, brand names (and their
   aliases), numbers and punctuation are cut out, and the text is split into words.
2. Stopwords and words under three letters are dropped; they also break phrases, so a
   bigram is two kept words that stood side by side.
3. A term's `docs` is the number of documents using it (a document counts once).
4. `lift` is how much more often the term appears here than in a `background` corpus (the
   whole report's documents): share here / share there. Without a background it is 1.
5. Terms used by at least `min_docs` documents are ranked by docs x lift, then docs, then
   alphabetically; a word is left out when one of its bigrams covers most of its documents
   ("steam wand" makes "wand" redundant).

    themes(docs)                                          # what the corpus talks about
    themes(docs.loc[caffora_docs], background=docs)       # what is special about Caffora talk
    new_themes(themes(this_week, n=None), themes(last_week, n=None))
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import pandas as pd

from reporting.analytics import Aliases, brand_pattern

THEME_COLUMNS = ["term", "words", "docs", "share", "lift"]
NEW_THEME_COLUMNS = ["term", "words", "docs", "share", "previous_docs", "previous_share",
                     "change", "status"]  # fmt: skip
MIN_LENGTH = 3  # shorter words are dropped
BIGRAM_COVER = 0.75  # a word is redundant when one bigram holds this share of its documents

STOPWORDS = frozenset(
    """
    a about above after again against all almost also although always am among an and any
    anyone anything anyway are aren't around as at away back be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing
    don't done down during each either else enough etc even ever every everyone everything
    few for from further get gets getting go goes going gone got gotten had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's however i i'd i'll i'm i've if in into is isn't it it'd it'll it's its itself just
    know let let's like lot lots made make makes many may maybe me might mine more most much
    must mustn't my myself need needs never new no nor not nothing now of off often oh ok okay
    on once one ones only or other others otherwise our ours ourselves out over own per
    pretty probably quite rather really right said same say says see seems seen shall shan't
    she she'd she'll she's should shouldn't since so some someone something sometimes still
    such sure take than thank thanks that that's the their theirs them themselves then there
    there's these they they'd they'll they're they've thing things think this those though
    through thru to too took try trying under until up upon us use used using very via want
    wants was wasn't way we we'd we'll we're we've well went were weren't what what's whatever
    when when's where where's whether which while who who's whom whose why why's will with
    within without won't would wouldn't yeah yes yet you you'd you'll you're you've your
    yours yourself yourselves
    actually basically definitely honestly instead literally look looks looking two
    deleted removed edit edited update lol lmao imo imho tbh btw fyi thx pls please
    """.split()
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})
_LINKS = re.compile(r"https?://\S+|www\.\S+|(?<!\w)/?[ru]/\w+", re.IGNORECASE)
# Phrases never span punctuation or digits.
_BREAKS = re.compile(r"[^\w\s']|[\d_]+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def _brand_regex(brands: Sequence[str], aliases: Aliases | None) -> re.Pattern[str] | None:
    if not brands:
        return None
    aliases = aliases or {}
    parts = [brand_pattern(b, aliases.get(b, ())).pattern for b in brands]
    return re.compile("|".join(parts), re.IGNORECASE)


def terms(
    text: str, stopwords: frozenset[str] | set[str], brands: re.Pattern[str] | None = None
) -> set[str]:
    """The distinct words and bigrams of one text, after the cleaning in the module notes."""
    text = _LINKS.sub(" . ", text.translate(_APOSTROPHES).lower())
    if brands is not None:
        text = brands.sub(" . ", text)
    found: set[str] = set()
    for segment in _BREAKS.split(text):
        previous = None
        for word in _WORD.findall(segment):
            word = word.removesuffix("'s")
            if len(word) < MIN_LENGTH or word in stopwords:
                previous = None
                continue
            found.add(word)
            if previous is not None:
                found.add(f"{previous} {word}")
            previous = word
    return found


def _document_frequency(
    texts: pd.Series, stopwords: frozenset[str] | set[str], brands: re.Pattern[str] | None
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts.fillna("").astype(str):
        counts.update(terms(text, stopwords, brands))
    return counts


def _redundant_words(counts: Counter[str], kept: Iterable[str]) -> set[str]:
    redundant = set()
    for term in kept:
        if " " in term:
            for word in term.split(" "):
                if counts[term] >= BIGRAM_COVER * counts[word]:
                    redundant.add(word)
    return redundant


def themes(
    docs: pd.DataFrame,
    n: int | None = 15,
    stopwords: Iterable[str] = STOPWORDS,
    brands: Sequence[str] = (),
    aliases: Aliases | None = None,
    background: pd.DataFrame | None = None,
    min_docs: int = 2,
) -> pd.DataFrame:
    """The top `n` terms (all when None) of `docs` (a frame with a `text` column, as
    analytics.corpus makes): term, words (1 or 2), docs (documents using it), share (% of
    documents), lift (share / share in `background`; 1.0 without one), ranked as in the
    module notes. `brands` and their `aliases` are cut out of the texts first.

    `background` should contain `docs` (e.g. the whole corpus when `docs` is one brand's
    documents); a term it lacks is counted as if one background document used it.
    """
    stop = frozenset(w.lower() for w in stopwords)
    pattern = _brand_regex(brands, aliases)
    total = len(docs)
    counts = _document_frequency(docs["text"], stop, pattern) if total else Counter()
    kept = sorted(t for t, c in counts.items() if c >= min_docs)
    redundant = _redundant_words(counts, kept)
    kept = [t for t in kept if t not in redundant]
    table = pd.DataFrame({
        "term": pd.Series(kept, dtype=object),
        "words": pd.Series([t.count(" ") + 1 for t in kept], dtype="int64"),
        "docs": pd.Series([counts[t] for t in kept], dtype="int64"),
    })  # fmt: skip
    table["share"] = table["docs"] * 100 / total if total else 0.0
    if background is None or not total:
        table["lift"] = 1.0
    else:
        base = _document_frequency(background["text"], stop, pattern)
        base_docs = table["term"].map(lambda t: max(base[t], 1)).astype("float64")
        table["lift"] = table["share"] / (base_docs * 100 / max(len(background), 1))
    rank = table["docs"] * table["lift"]
    table = table.assign(_rank=rank).sort_values(
        ["_rank", "docs", "term"], ascending=[False, False, True], kind="stable"
    )
    table = table[THEME_COLUMNS].reset_index(drop=True)
    return table if n is None else table.head(n)


def new_themes(
    current: pd.DataFrame, previous: pd.DataFrame, min_ratio: float = 2.0
) -> pd.DataFrame:
    """The themes of `current` that are new or have grown since `previous` (both themes()
    outputs, e.g. this week's and last week's): a term absent from `previous` is "new"; one
    whose share is at least `min_ratio` times its previous share is "growing".

    Columns: term, words, docs, share, previous_docs (0 when absent), previous_share (0.0 when
    absent), change (share - previous_share, points), status ("new" or "growing"); in the
    order of `current`. Build `previous` with n=None so that "absent" means unused, not
    merely outside last time's top n.
    """
    before = previous.set_index("term")[["docs", "share"]]
    before.columns = ["previous_docs", "previous_share"]
    out = current.join(before, on="term")
    absent = out["previous_docs"].isna()
    out["previous_docs"] = out["previous_docs"].fillna(0).astype("int64")
    out["previous_share"] = out["previous_share"].fillna(0.0).astype("float64")
    out["change"] = out["share"] - out["previous_share"]
    grown = out["share"] >= min_ratio * out["previous_share"]
    out["status"] = pd.Series("growing", index=out.index, dtype=object).where(~absent, "new")
    return out[absent | grown][NEW_THEME_COLUMNS].reset_index(drop=True)
