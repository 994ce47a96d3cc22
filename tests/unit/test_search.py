"""Catalog text search, pure: what a program stores and what a query's words become."""

from __future__ import annotations

import pytest

from chalicelib.domain import errors
from chalicelib.domain.search import MAX_TERMS, matches, query_terms, search_text, stem, words

CHESS = search_text("Шахматы для начинающих", "Учимся играть в шахматы: дебют, миттельшпиль, эндшпиль.")


def test_words_are_lower_case_with_yo_as_ye_and_letters_and_digits_only() -> None:
    assert words("Ёжик в ТУМАНЕ, 3D-моделирование! (6+)") == ["ежик", "в", "тумане", "3d", "моделирование", "6"]


def test_a_decomposed_yo_is_folded_like_a_composed_one() -> None:
    assert words("Е\u0308лка") == words("Ёлка") == ["елка"]


def test_search_text_holds_distinct_words_spaced_at_both_ends() -> None:
    assert search_text("Шахматы для начинающих", "Шахматы — игра!") == " шахматы для начинающих игра "
    assert search_text("", "...") == " "


@pytest.mark.parametrize("query", ["шахматы", "Шахматный", "шахматам", "ШАХМАТАМИ", "шахматной", "шахмат"])
def test_forms_of_a_word_share_one_stem_and_find_the_program(query: str) -> None:
    assert query_terms(query) == [" шахмат"]
    assert matches(CHESS, query_terms(query))


@pytest.mark.parametrize(
    ("query", "stored", "found"),
    [
        ("робототехника", "Робототехника для малышей", True),
        ("робототехнике", "Основы робототехники", True),
        ("рисование", "Учимся рисовать акварелью", True),
        ("программирование", "Программировать на Python", True),
        ("английский", "Английский язык для младших школьников", True),
        ("английскому", "Английский язык", True),
        ("музыка", "Музыкальная студия", True),
        ("история", "Исторический кружок", True),
        ("ёлочные игрушки", "Елочные игрушки своими руками", True),
        ("шахматы начинающим", "Шахматы для начинающих", True),
        ("шахматы для начинающих", "Шахматы для начинающих", True),
        ("шахматы продвинутым", "Шахматы для начинающих", False),
        ("шашки", "Шахматы для начинающих", False),
        ("мат", "Шахматы для начинающих", False),  # a stem matches the start of a word, never its middle
        ("танцы", "Бальные танцы", True),
        ("танцев", "Бальные танцы", True),
    ],
)
def test_queries_find_what_a_russian_reader_expects(query: str, stored: str, found: bool) -> None:
    assert matches(search_text(stored), query_terms(query)) is found


def test_a_stem_keeps_at_least_four_letters() -> None:
    assert stem("лего") == "лего"
    assert stem("юный") == "юный"
    assert stem("балет") == "балет"
    assert stem("плавание") == "плав"


def test_stop_words_are_dropped_unless_the_query_has_nothing_else() -> None:
    assert query_terms("шахматы для школьников") == [" шахмат", " школьник"]
    assert query_terms("для") == [" для"]


def test_a_query_without_letters_or_digits_asks_for_nothing() -> None:
    assert query_terms("?! —") == []


def test_repeated_words_make_one_term() -> None:
    assert query_terms("Шахматы шахматам шахматный") == [" шахмат"]


def test_an_overlong_query_is_refused() -> None:
    with pytest.raises(errors.InvalidRequest):
        query_terms("а" * 201)
    with pytest.raises(errors.InvalidRequest):
        query_terms(" ".join(f"слово{i}" for i in range(MAX_TERMS + 1)))
