"""Python integers used as bitsets over time slots: bit ``i`` set means slot ``i`` has the property.

Big-integer shifts and ANDs run in C over whole machine words, so one operation answers a
question for thousands of slots at once. These helpers are the few shapes the planner needs.
"""
from __future__ import annotations

import sys
from array import array
from typing import Iterator


def span_mask(start: int, end: int) -> int:
    """Bits ``[start, end)`` set (empty when ``end <= start``).

    >>> bin(span_mask(2, 5))
    '0b11100'
    """
    if end <= start:
        return 0
    start = max(start, 0)
    return ((1 << (end - start)) - 1) << start


WORD_BITS = 64
_WORD_MASK = (1 << WORD_BITS) - 1


def empty_words(size: int) -> array:
    """Zeroed 64-bit words covering ``size`` bits, for :func:`or_span` and :func:`words_to_int`.

    Setting bits in machine words and converting once avoids allocating a full-width Python
    integer per span (each ``|=`` on a 12,000-bit integer copies all of it).
    """
    return array("Q", bytes(8 * (size // WORD_BITS + 1)))


def or_span(words: array, first: int, last: int) -> None:
    """Set bits ``[first, last)`` in ``words`` (the caller clips to ``[0, size)``, ``first < last``)."""
    index = first >> 6
    mask = ((1 << (last - first)) - 1) << (first & 63)
    while mask > _WORD_MASK:
        words[index] |= mask & _WORD_MASK
        mask >>= WORD_BITS
        index += 1
    words[index] |= mask


def words_to_int(words: array) -> int:
    """The integer whose bit ``i`` is bit ``i`` of ``words``."""
    if sys.byteorder == "big":
        words = array("Q", words)
        words.byteswap()
    return int.from_bytes(words, "little")


def spans_to_bits(spans, size: int) -> int:
    """Bits of every ``[start, end)`` in ``spans``, clipped to ``[0, size)``.

    >>> bin(spans_to_bits([(1, 3), (10, 12), (11, 20)], 14))
    '0b11110000000110'
    """
    words = empty_words(size)
    for first, last in spans:
        if first < 0:
            first = 0
        if last > size:
            last = size
        if first < last:
            or_span(words, first, last)
    return words_to_int(words)


def run_starts(bits: int, length: int) -> int:
    """Slots that begin a run of at least ``length`` consecutive set bits.

    Doubling keeps this at ``O(log length)`` big-integer operations.

    >>> bin(run_starts(0b0111101110, 3))
    '0b1100010'
    """
    if length <= 1:
        return bits if length == 1 else -1
    have, runs = 1, bits
    while have * 2 <= length:
        runs &= runs >> have
        have *= 2
    if have < length:
        runs &= runs >> (length - have)
    return runs


def move_bits(bits: int, src_start: int, src_end: int, delta: int) -> int:
    """Take bits ``[src_start, src_end)`` and move them by ``delta`` positions (negative = down).

    Source bits that would land below zero are dropped.

    >>> bin(move_bits(0b111100, 2, 6, -1))
    '0b11110'
    """
    src_start = max(src_start, 0, -delta)
    length = bits.bit_length()
    if src_end <= src_start or src_start >= length:
        return 0
    chunk = bits >> src_start if src_start else bits
    if src_end < length:  # no mask needed when the range runs past the highest set bit
        chunk &= (1 << (src_end - src_start)) - 1
    shift = src_start + delta
    return chunk << shift if shift >= 0 else chunk >> -shift


def lowest_bit(bits: int) -> int:
    """Index of the lowest set bit of a non-zero bitset.

    >>> lowest_bit(0b10100)
    2
    """
    return (bits & -bits).bit_length() - 1


def iter_bits(bits: int) -> Iterator[int]:
    """Indices of set bits, lowest first.

    >>> list(iter_bits(0b1010010))
    [1, 4, 6]
    """
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low


def nearest_bit(bits: int, position: int) -> int | None:
    """The set bit closest to ``position`` (the earlier one on a tie), or ``None``.

    >>> nearest_bit(0b1000001, 3), nearest_bit(0b1000001, 4), nearest_bit(0, 4)
    (0, 6, None)
    """
    below = bits & ((1 << (position + 1)) - 1)
    above = bits >> (position + 1)
    candidate_below = below.bit_length() - 1 if below else None
    candidate_above = position + 1 + lowest_bit(above) if above else None
    if candidate_below is None:
        return candidate_above
    if candidate_above is None:
        return candidate_below
    return candidate_below if position - candidate_below <= candidate_above - position else candidate_above


class BitSlicedCounter:
    """Per-bit counters stored as bit planes: adds a bitset in ``O(planes)`` operations.

    Bit ``j`` of ``planes[b]`` is bit ``b`` of the count for position ``j``. Used to count, for
    every candidate start at once, how many occurrences of a series are free.

    >>> c = BitSlicedCounter()
    >>> for x in (0b011, 0b110, 0b010):
    ...     c.add(x)
    >>> c.positions_with_max(0b111), c.count_at(1)
    (2, 3)
    """

    __slots__ = ("planes",)

    def __init__(self) -> None:
        self.planes: list[int] = []

    def add(self, bits: int) -> None:
        carry = bits
        planes = self.planes
        for level, plane in enumerate(planes):
            if not carry:
                return
            planes[level] = plane ^ carry
            carry &= plane
        if carry:
            planes.append(carry)

    def positions_with_max(self, among: int) -> int:
        """The subset of ``among`` whose count is the largest (``among`` itself if all are 0)."""
        best = among
        for plane in reversed(self.planes):
            narrowed = best & plane
            if narrowed:
                best = narrowed
        return best

    def count_at(self, position: int) -> int:
        return sum(((plane >> position) & 1) << level for level, plane in enumerate(self.planes))
