"""Mall order numbers (orders.md §1, R4–R6), pure: no Flask, no SQLAlchemy.

A manual number (screen, CSV, API) is NFKC-normalised and trimmed, 1–64 characters, and refused when a
character shows nothing, naming its position. Every number, imported ones too, has a key that R4–R6 and the
exact-number search compare: the casefold of the normalised number with the dash look-alikes folded, so
`ＣＸＬ－７７７`, `cxl-777` and `CXL−777` (U+2212) are one number.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ..reason import Reason

MAX_LENGTH = 64

# Categories of characters that show nothing: control, format, private use, unassigned, surrogates (a JSON
# escape can carry a lone one), line and paragraph separators, and every combining mark (variation selectors
# included) left over once NFKC has composed what it can.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Mn", "Mc", "Me"})
# Letters and symbols that render blank: the Hangul fillers, the Braille blank, the tag characters.
INVISIBLE_CHARACTERS = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, *range(0xE0000, 0xE0080)})

# Shift_JIS 0x817C is U+2212 on a Mac and U+FF0D in CP932; wave dashes likewise differ.
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
TILDES = "\u301c\uff5e"
_FOLD = str.maketrans({**{ch: "-" for ch in DASHES}, **{ch: "~" for ch in TILDES}})


class InvalidNumber(ValueError):
    """A manual number refused, with why in Japanese and English."""

    def __init__(self, reason: Reason):
        super().__init__(reason.en)
        self.reason = reason


@dataclass(frozen=True)
class MallNumber:
    number: str  # as stored: NFKC, trimmed
    key: str


def normalise(raw: str) -> str:
    """The number as stored: NFKC (ＡＢＣ－１２３ → ABC-123, ² → 2), trimmed."""
    return unicodedata.normalize("NFKC", raw.strip()).strip()


def number_key(number: str) -> str:
    """The key R4–R6 compare: NFKC, trimmed, casefolded, dash and tilde look-alikes folded to - and ~."""
    return normalise(number).casefold().translate(_FOLD)


def invisible(ch: str) -> bool:
    return unicodedata.category(ch) in INVISIBLE_CATEGORIES or ord(ch) in INVISIBLE_CHARACTERS


@lru_cache(maxsize=4096)  # a CSV file's rows of one order bring their number again and again
def manual_number(raw: str) -> MallNumber:
    """A number typed by hand, normalised and keyed; InvalidNumber when empty, too long or holding a
    character that shows nothing (its 1-based position in what was typed, trimmed, and its code point)."""
    typed = raw.strip()
    number = normalise(typed)
    if not number:
        raise InvalidNumber(Reason("モール注文番号を入力してください。", "Enter the mall order number."))
    bad = next((index for index, ch in enumerate(number) if invisible(ch)), None)
    if bad is not None:
        position = _typed_position(typed, number, bad)
        code = f"U+{ord(typed[position - 1]):04X}"
        raise InvalidNumber(Reason(
            f"{position}文字目に表示されない文字（{code}）があります。削除してから登録してください。",
            f"Character {position} ({code}) shows nothing. Remove it and register again."))
    if len(number) > MAX_LENGTH:
        raise InvalidNumber(Reason(
            f"モール注文番号は{MAX_LENGTH}文字以内で入力してください（{len(number)}文字あります）。",
            f"The mall order number must be at most {MAX_LENGTH} characters ({len(number)} once normalised)."))
    return MallNumber(number, number_key(number))


def _typed_position(typed: str, number: str, index: int) -> int:
    """The 1-based position in `typed` of the character that became number[index]: the shortest prefix of
    `typed` whose normalisation already holds number[:index + 1] (NFKC may join or reorder characters)."""
    whole = unicodedata.normalize("NFKC", typed)
    lead = len(whole) - len(whole.lstrip())  # NFKC of ¨ begins with a space, which the trim took off
    wanted = number[:index + 1]
    for end in range(1, len(typed) + 1):
        if unicodedata.normalize("NFKC", typed[:end])[lead:lead + index + 1] == wanted:
            return end
    return len(typed)
