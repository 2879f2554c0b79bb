"""Pure: colours as WCAG 2.1 measures them (relative luminance, contrast ratio), and the text colour a chip of a
given background is readable in. A tag is drawn in its colour with black or white text, whichever contrasts more:
one of the two always reaches 4.58:1, above AA's 4.5:1 for small text, whatever colour a user picks."""
from __future__ import annotations

import re

BLACK = "#000000"
WHITE = "#ffffff"
AA_TEXT = 4.5  # WCAG 2.1 1.4.3, text under 18pt (14pt bold)
HEX = re.compile(r"#[0-9a-fA-F]{6}")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of `#rrggbb`: 0 for black, 1 for white."""
    if not HEX.fullmatch(colour):
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    r, g, b = (_channel(int(colour[i:i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(one: str, other: str) -> float:
    """WCAG 2.1's contrast ratio of two colours, 1 to 21, whichever order they come in."""
    lighter, darker = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def ink_on(background: str) -> str:
    """The text colour (black or white) that reads best on `background`; black on a colour that is not #rrggbb."""
    if not HEX.fullmatch(background or ""):
        return BLACK
    return WHITE if contrast_ratio(WHITE, background) >= contrast_ratio(BLACK, background) else BLACK
