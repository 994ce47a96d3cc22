"""The certificate number's check digit, proved rather than sampled.

A number is read through Damm's table digit by digit: ``state = TABLE[state][digit]``, starting from 0, and a number
is valid when it ends in state 0. Two numbers that differ somewhere are told apart if their states differ right after
the difference: from there on both read the same digits, and reading a digit is a permutation of the states (each
column of the table is one), so different states stay different to the end and at most one of them is 0.

So it is enough to check, for every state the reading can be in before a position and every pair of digits, that a
wrong digit and a swap of two adjacent digits lead to different states; and that every state can be reached before
every position. Each test below checks one of these over all of its cases; together they cover every 10-digit
number, every position and every pair of digits.
"""

from __future__ import annotations

from itertools import product

import pytest

import chalicelib.domain.certificate as certificate
from chalicelib.domain.certificate import (
    DAMM_TABLE,
    damm_check_digit,
    damm_state,
    has_check_digit,
    has_legacy_check_digit,
    is_certificate_number,
    luhn_check_digit,
    new_certificate_number,
    require_certificate_number,
)

DIGITS = range(10)
LENGTH = 10  # 9 digits and the check digit


def step(state: int, digit: int) -> int:
    return DAMM_TABLE[state][digit]


def test_the_table_is_a_latin_square_with_zeros_on_its_diagonal() -> None:
    for state in DIGITS:
        assert sorted(DAMM_TABLE[state]) == list(DIGITS), state  # a row: reading a digit changes the state
        assert sorted(DAMM_TABLE[row][state] for row in DIGITS) == list(DIGITS), state  # a column: a permutation
        assert DAMM_TABLE[state][state] == 0  # the check digit of a state is the state itself


def test_the_table_is_weakly_totally_anti_symmetric() -> None:
    """(c*x)*y == (c*y)*x only when x == y, for every state c: what makes a swap of two neighbours visible."""
    for state, x, y in product(DIGITS, DIGITS, DIGITS):
        if x != y:
            assert step(step(state, x), y) != step(step(state, y), x), (state, x, y)


def reachable_before(position: int) -> set[int]:
    """The states the reading can be in before ``position`` (0-based), over every number (first digit 1-9)."""
    states = {0}
    for index in range(position):
        digits = range(1, 10) if index == 0 else DIGITS
        states = {step(state, digit) for state in states for digit in digits}
    return states


def test_a_wrong_digit_is_caught_in_every_position_whatever_comes_before_or_after() -> None:
    for position in range(LENGTH):
        for state, right, wrong in product(reachable_before(position), DIGITS, DIGITS):
            if right != wrong:
                assert step(state, right) != step(state, wrong), (position, state, right, wrong)


def test_a_swap_of_two_adjacent_digits_is_caught_in_every_position_whatever_comes_before_or_after() -> None:
    for position in range(LENGTH - 1):  # the digits at position and position + 1, the check digit included
        for state, first, second in product(reachable_before(position), DIGITS, DIGITS):
            if first != second:
                swapped = step(step(state, second), first)
                assert step(step(state, first), second) != swapped, (position, state, first, second)


def test_the_states_checked_are_every_state_a_real_number_can_be_in() -> None:
    """The two checks above ran over exactly the states reachable before each position: 0 before the first digit,
    every state but 0 after a first digit of 1-9 (a number never starts with 0), every state from then on."""
    assert reachable_before(0) == {0}
    assert reachable_before(1) == set(DIGITS) - {0}
    for position in range(2, LENGTH):
        assert reachable_before(position) == set(DIGITS), position


def test_the_check_digit_makes_the_number_valid_and_is_the_textbook_one() -> None:
    assert damm_check_digit("572") == 4  # Damm's own example: 5724 is valid
    assert damm_state("5724") == 0
    for body in ("100000000", "999999999", "123456789", "987654321"):
        number = body + str(damm_check_digit(body))
        assert has_check_digit(number) and damm_state(number) == 0


def test_the_swap_09_90_that_luhn_misses_is_caught() -> None:
    body = "123450912"
    number = body + str(damm_check_digit(body))
    swapped = "123459012" + number[9]
    assert has_check_digit(number) and not has_check_digit(swapped)
    luhn = body + str(luhn_check_digit(body))
    luhn_swapped = "123459012" + luhn[9]
    assert has_legacy_check_digit(luhn) and has_legacy_check_digit(luhn_swapped)  # Luhn's blind spot


def test_new_numbers_are_ten_digits_never_starting_with_0_with_a_damm_check_digit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for drawn in (0, 1, 123_456_789, 9 * 10**8 - 1):  # the smallest and the largest body, and two between
        monkeypatch.setattr(certificate.secrets, "randbelow", lambda _bound, drawn=drawn: drawn)
        number = new_certificate_number()
        assert len(number) == LENGTH and number.isdigit() and number[0] != "0", number
        assert has_check_digit(number) and is_certificate_number(number)
        assert int(number[:9]) == 10**8 + drawn


def test_numbers_issued_with_a_luhn_digit_are_still_accepted() -> None:
    """Families hold them printed: the textbook Luhn number and a few more still pass the check before the read."""
    for body in ("799273987", "100000000", "412345678"):
        number = body + str(luhn_check_digit(body))
        assert has_legacy_check_digit(number) and is_certificate_number(number)
        assert require_certificate_number(number) == number
    assert luhn_check_digit("7992739871") == 3  # the textbook example
