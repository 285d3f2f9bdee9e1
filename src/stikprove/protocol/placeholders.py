"""Values a protocol template leaves to its user: a string ``"FILL IN: hint"`` in place of
a value (``stikprove init`` writes them). A protocol holding any is refused with the list of
what is left to fill in (and whether the frame is in place yet), rather than with the
problems each placeholder would cause in the keys that read it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stikprove.cpr import mask_cpr

MARKER = "FILL IN"
"""How a value to fill in starts."""


def _walk(value: Any, place: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        if value.strip().upper().startswith(MARKER):
            yield place, value.strip()[len(MARKER):].lstrip(" :")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*place, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, place)


def _name(place: tuple[str, ...]) -> str:
    if len(place) == 1:
        return place[0]
    return f"[{'.'.join(place[:-1])}] {place[-1]}"


def placeholders(doc: dict) -> list[tuple[str, str]]:
    """``(key, hint)`` of every value still to fill in, in file order: the key as
    ``[section] key``, the hint the template gives (CPR-like numbers masked)."""
    return [(_name(place), mask_cpr(hint)) for place, hint in _walk(doc, ())]


def placeholder_problems(doc: dict, folder: Path) -> list[str]:
    """What is left to fill in, one line each; when anything is, also the frame file named
    by ``[frame] path`` if it is not there yet (relative to ``folder``)."""
    left = [f"{key}: to fill in ({hint})" if hint else f"{key}: to fill in"
            for key, hint in placeholders(doc)]  # fmt: skip
    frame = doc.get("frame", {}).get("path") if isinstance(doc.get("frame"), dict) else None
    if left and isinstance(frame, str) and not (folder / frame).exists():
        left.append(f"[frame] path = {frame!r}: no file there yet; put the pseudonymised "
                    "register extract there (stikprove pseudonymize)")  # fmt: skip
    return left
