"""Text search over the catalog, pure: what is stored for a program and what a query asks for.

DynamoDB has no full-text index, so a program stores ``search_text``: the distinct words of its title and
description, normalised (lower case, ё→е, letters and digits only) and joined with single spaces, with a space at
both ends (" шахматы для начинающих "). A query's words are normalised the same way and cut to a crude Russian stem;
each stem becomes ``contains(search_text, " stem")``, i.e. "some word of the program starts with the stem". So
"шахматы", "Шахматный" and "шахматам" all become " шахмат" and find "Шахматы для начинающих".

The stemmer is deliberately crude (it drops the longest common ending and keeps at least ``MIN_STEM`` letters): it
errs towards finding more, which suits a catalog where every query is further narrowed by filters.
"""

from __future__ import annotations

import re
import unicodedata

from chalicelib.domain import errors

MIN_STEM = 4
MAX_QUERY_CHARS = 200
MAX_TERMS = 8
_WORD = re.compile(r"[^\W_]+")

# Inflectional endings (and the adjectival "-н-"/"-ск-" before them), dropped longest first.
_ENDINGS = tuple(
    sorted(
        {
            # adjectives, with the "-н(ый)" of adjectives made from nouns: шахмат-ный, музыкаль-ный
            *("ный", "ная", "ное", "ные", "ного", "ному", "ным", "ных", "ными", "ной", "ную"),
            *("ский", "ская", "ское", "ские", "ского", "скому", "ским", "ских", "скими", "ской", "скую"),
            *("ый", "ий", "ой", "ая", "яя", "ое", "ее", "ые", "ие", "ого", "его", "ому", "ему"),
            *("ым", "им", "ых", "их", "ыми", "ими", "ую", "юю"),
            # nouns
            *("ами", "ями", "ам", "ям", "ах", "ях", "ом", "ем", "ов", "ев", "ей", "ью", "ия", "ию", "ии"),
            *("а", "я", "о", "е", "ы", "и", "у", "ю", "ь", "й"),
            # verbs and the nouns made from them: программиров-ать, программиров-ание
            *("ать", "ять", "ить", "еть", "ться", "ание", "ания", "анию", "ании", "ение", "ения", "ению", "ении"),
        },
        key=len,
        reverse=True,
    )
)

# Words that narrow nothing: a query made of them only searches for them as they are.
_STOP = "и в во на по для с со к ко от до из у о об а но или не за при без над под про как что это"
STOP_WORDS = frozenset(_STOP.split())


def words(text: str) -> list[str]:
    """The normalised words of ``text``: NFC, lower case, ё→е, runs of letters and digits."""
    folded = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    return _WORD.findall(folded)


def search_text(*texts: str) -> str:
    """What a program stores for search: its distinct words in order of appearance, spaced at both ends."""
    distinct = dict.fromkeys(word for text in texts for word in words(text))
    return " " + " ".join(distinct) + " " if distinct else " "


def stem(word: str) -> str:
    """A crude Russian stem: ``word`` without its longest common ending, keeping at least ``MIN_STEM`` letters."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            return word[: -len(ending)]
    return word


def query_terms(query: str) -> list[str]:
    """The substrings a program's ``search_text`` must all contain to match ``query`` (" stem" each, no repeats).

    An empty list means the query asks for nothing (no letters or digits in it).
    """
    if len(query) > MAX_QUERY_CHARS:
        raise errors.InvalidRequest(f"q is at most {MAX_QUERY_CHARS} characters")
    found = words(query)
    meaningful = [word for word in found if word not in STOP_WORDS] or found
    terms = list(dict.fromkeys(" " + stem(word) for word in meaningful))
    if len(terms) > MAX_TERMS:
        raise errors.InvalidRequest(f"q has at most {MAX_TERMS} words")
    return terms


def matches(stored: str, terms: list[str]) -> bool:
    """What DynamoDB's ``contains`` filter decides, in Python (the unit tests pin the two together)."""
    return all(term in stored for term in terms)
