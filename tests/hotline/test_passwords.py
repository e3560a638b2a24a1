"""Argon2id hashing: parameters are read back from the stored hash, so the suite's cheap
profile and the deployed default verify each other's hashes."""

import argon2
import pytest

from hotline import passwords


def test_a_hash_made_with_the_deployed_parameters_verifies_under_the_cheap_ones(monkeypatch):
    deployed = argon2.PasswordHasher().hash("correct horse battery")
    monkeypatch.setattr(passwords, "_hasher", passwords._hasher)  # restored after the test
    passwords.use_parameters(argon2.profiles.CHEAPEST)
    assert passwords.verify_password(deployed, "correct horse battery")
    assert not passwords.verify_password(deployed, "wrong horse battery")


def test_the_suite_hashes_with_the_cheapest_profile():
    assert passwords.hash_password("correct horse battery").startswith("$argon2id$v=19$m=8,t=1,")


def test_no_stored_hash_never_matches_and_a_short_password_is_refused():
    assert not passwords.verify_password(None, "")
    assert not passwords.verify_password("not a hash", "anything at all")
    with pytest.raises(passwords.WeakPasswordError):
        passwords.hash_password("short")
