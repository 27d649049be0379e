"""What every exercise check shares: the placeholder test, the messages, :class:`NotYet`."""

from __future__ import annotations

from collections.abc import Callable


class NotYet(AssertionError):
    """An answer is not right yet; the message is a hint."""


def _placeholder(answer, probe: Callable | None = None) -> bool:
    """True if ``answer`` is still the placeholder: None, or a function that returns None."""
    if answer is None:
        return True
    if callable(answer) and probe is not None:
        try:
            return probe(answer) is None
        except Exception:
            return False  # the check itself will call it again and report the error
    return False


def _not_attempted(target: str) -> None:
    print(f"Not attempted yet: {target}")


def _correct(message: str) -> None:
    print(f"Correct: {message}")


def _require(condition: bool, hint: str) -> None:
    if not condition:
        raise NotYet(hint)


def _call(function: Callable, *args):
    try:
        return function(*args)
    except Exception as error:
        raise NotYet(f"your function raised {type(error).__name__}: {error}") from error
