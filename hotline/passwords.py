"""Agent passwords, hashed with Argon2id (argon2-cffi's current defaults, RFC 9106's
low-memory profile).

Verifying reads the parameters from the stored hash, so a hash made with other parameters
(a test's cheap ones, or an older default) still verifies. `verify_password` costs one full
Argon2 run whatever it is given: an unknown user, a deactivated one and a wrong password take
the same time, so timing does not tell which usernames exist.
"""

from __future__ import annotations

import secrets

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10

_hasher = PasswordHasher()
_dummy_hash: str | None = None  # what an unknown username is checked against


class WeakPasswordError(ValueError):
    pass


def use_parameters(parameters: Parameters) -> None:
    """Hash with other Argon2 parameters from now on (the test suite uses
    `argon2.profiles.CHEAPEST`: production hashing costs ~50 ms a call)."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher.from_parameters(parameters)
    _dummy_hash = None


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"a password needs at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches `stored_hash`; with no usable hash, the same work is done
    against a dummy one and the answer is no."""
    global _dummy_hash
    if not stored_hash:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
        stored_hash = _dummy_hash  # of a random token: never matches
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
