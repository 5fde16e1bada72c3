"""What a user sees when a call fails, whichever front end made the call.

Core code raises ValueError (bad input) or ModelMissingError (weights not here) with a message
that says what to do; front ends show that message as it is. Anything else is a bug: the user gets
a short, calm message and the traceback goes to the log, never to the page.
"""
from __future__ import annotations

import logging

from core.models import ModelMissingError

log = logging.getLogger("nlp_studio")


def is_user_error(exc: BaseException) -> bool:
    """True for errors whose message is written for the user (bad input, missing weights)."""
    return isinstance(exc, (ValueError, ModelMissingError))


def user_message(exc: BaseException) -> str:
    """The text to show for `exc`; unexpected errors are logged with their traceback."""
    if is_user_error(exc):
        return str(exc)
    log.error("unexpected error", exc_info=exc)
    return (f"Something went wrong ({type(exc).__name__}: {exc}). The studio is still running; "
            "try again, or with a shorter input.")
