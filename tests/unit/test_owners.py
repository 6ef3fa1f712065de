"""Session owners: any Unicode user id is normalised once and compared as bytes."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from agentgpt.security.owners import OwnerHasher, same_user
from agentgpt.security.tokens import Claims

_HASHER = OwnerHasher(b"k" * 32)
# Every code point, lone surrogates included (a JWT "sub" can carry them).
user_ids = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), min_size=1,
                   max_size=64)  # fmt: skip


@given(user_ids)
def test_a_user_matches_their_own_hash_in_any_normal_form(user: str) -> None:
    stored = _HASHER.digest(user)
    assert stored.startswith("h1:")
    assert len(stored) == 67
    for form in ("NFC", "NFD"):
        assert _HASHER.matches(stored, unicodedata.normalize(form, user))
    claims = Claims(user=user, scopes=frozenset(), expires_at=0.0, token_id="")
    assert claims.may_access(unicodedata.normalize("NFD", user))  # never raises on non-ASCII


@given(user_ids, user_ids)
def test_different_users_never_match(a: str, b: str) -> None:
    if unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b):
        return
    assert not _HASHER.matches(_HASHER.digest(a), b)
    assert not same_user(a, b)
    assert not _HASHER.matches(a, b)  # a session written before owners were hashed


def test_legacy_clear_owner_still_matches() -> None:
    assert _HASHER.matches("josé", "jose\u0301")
    assert not _HASHER.matches("", "anyone")


def test_the_hash_is_keyed() -> None:
    assert OwnerHasher(b"a" * 32).digest("alice") != OwnerHasher(b"b" * 32).digest("alice")
