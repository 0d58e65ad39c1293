"""The course secret: read from the environment as bytes, and refused when it is weak.

Anyone holding one student's sheet can test guesses of the secret offline (a guess gives
a variant to compare), so a short or repetitive secret would give away every classmate's
key.  The rules are deliberately simple to state: at least :data:`MIN_BYTES` bytes and
:data:`MIN_DISTINCT` distinct characters, no leading or trailing whitespace (a newline
read from a file would silently give other variants).  ``--allow-weak-secret`` lifts the
strength rule (for a throw-away test), never the whitespace rule.

The secret's bytes are used as they are (a value that is not UTF-8 is fine), and no
message ever shows any part of it.
"""

from __future__ import annotations

import os

from grader.core.errors import UserError

MIN_BYTES = 16
MIN_DISTINCT = 8
MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_hex(16))'"

_allow_weak = False


def allow_weak_secrets(allow: bool = True) -> None:
    """Accept secrets that fail the strength rule (``--allow-weak-secret``)."""
    global _allow_weak
    _allow_weak = allow


def secret_from_env(name: str) -> bytes | None:
    """The secret in the environment variable ``name`` as raw bytes; None when unset or empty."""
    value = os.environb.get(name.encode("ascii")) if os.supports_bytes_environ else None
    if value is None and not os.supports_bytes_environ:  # pragma: no cover - Windows
        text = os.environ.get(name)
        value = text.encode("utf-8", "surrogateescape") if text else None
    if not value:
        return None
    check_secret(value, name)
    return value


def secret_problem(secret: bytes) -> str | None:
    """What makes ``secret`` too weak, or None."""
    if len(secret) < MIN_BYTES:
        return f"is {len(secret)} bytes long; a course secret needs at least {MIN_BYTES}"
    distinct = len(set(secret))
    if distinct < MIN_DISTINCT:
        return f"has {distinct} distinct characters; a course secret needs at least {MIN_DISTINCT}"
    return None


def check_secret(secret: bytes, name: str) -> None:
    """Refuse (exit 2) a secret with whitespace around it, or a weak one unless allowed."""
    if secret != secret.strip():
        raise UserError(
            f"the secret in {name} starts or ends with whitespace (a newline from a file?); "
            "it would give other variants than the secret without it: remove the whitespace"
        )
    problem = secret_problem(secret)
    if problem is not None and not _allow_weak:
        raise UserError(
            f"the secret in {name} {problem}, or anyone with one sheet could guess it and "
            f'compute every classmate\'s key; make one with: export {name}="$({MAKE_ONE})" '
            "(or give --allow-weak-secret for a throw-away test)"
        )
