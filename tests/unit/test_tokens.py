"""API tokens: issue, verify, scopes, tampering, the verified-token cache."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgpt.errors import AccessDenied, InvalidInput, InvalidToken
from agentgpt.security.tokens import TokenIssuer, TokenVerifier


@pytest.fixture
def pair() -> tuple[TokenIssuer, TokenVerifier]:
    """An issuer and a verifier of one fresh key pair."""
    key = Ed25519PrivateKey.generate()
    return TokenIssuer(key), TokenVerifier(key.public_key(), cache_size=2)


def test_round_trip_and_scopes(pair: tuple[TokenIssuer, TokenVerifier]) -> None:
    issuer, verifier = pair
    token = issuer.issue("alice", ["session:write", "session:read"], 60)
    claims = verifier.verify(token, scope="session:write")
    assert claims.user == "alice"
    assert claims.scopes == {"session:write", "session:read"}
    with pytest.raises(AccessDenied):
        verifier.verify(token, scope="session:monitor")  # cached: the scope still applies
    assert claims.may_access("alice")
    assert not claims.may_access("bob")


def test_tampered_and_foreign_tokens_are_rejected(
    pair: tuple[TokenIssuer, TokenVerifier],
) -> None:
    issuer, verifier = pair
    token = issuer.issue("alice", ["session:read"], 60)
    head, body, sig = token.split(".")
    with pytest.raises(InvalidToken) as tampered:
        verifier.verify(f"{head}.{body}x.{sig}")
    assert str(tampered.value) == "invalid token"  # the caller learns nothing more
    assert tampered.value.reason != "invalid token"  # the operator's log does
    other = TokenIssuer(Ed25519PrivateKey.generate()).issue("alice", ["session:read"], 60)
    with pytest.raises(InvalidToken):
        verifier.verify(other)


def test_cache_is_bounded(pair: tuple[TokenIssuer, TokenVerifier]) -> None:
    issuer, verifier = pair
    tokens = [issuer.issue(f"user-{i}", ["session:read"], 60) for i in range(5)]
    for token in tokens:
        verifier.verify(token)
    assert len(verifier._cache) == 2
    assert verifier.verify(tokens[0]).user == "user-0"  # evicted ones verify again


@pytest.mark.parametrize(
    ("user", "scopes", "ttl"),
    [("", ["session:read"], 60), ("alice", ["nope"], 60), ("alice", [], 60),
     ("alice", ["session:read"], 0), ("alice", ["session:read"], 10**9)],
)  # fmt: skip
def test_bad_requests_for_tokens(
    pair: tuple[TokenIssuer, TokenVerifier], user: str, scopes: list[str], ttl: float
) -> None:
    with pytest.raises(InvalidInput):
        pair[0].issue(user, scopes, ttl)


def test_cached_token_is_refused_once_expired(pair: tuple[TokenIssuer, TokenVerifier]) -> None:
    issuer, verifier = pair
    token = issuer.issue("alice", ["session:read"], 1)
    assert verifier.verify(token).user == "alice"  # verified once, then served from the cache
    # Past expiry plus the clock-skew leeway (5 s), the cache must not answer for it.
    time.sleep(1 + 5 + 1.1)
    with pytest.raises(InvalidToken) as expired:
        verifier.verify(token)
    assert str(expired.value) == "token expired; request a new one"


def test_the_service_remembers_the_tokens_of_ten_thousand_callers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 10,000 live customers (the HTTP benchmark's): none is re-verified once seen.
    key = Ed25519PrivateKey.generate()
    issuer, verifier = TokenIssuer(key), TokenVerifier(key.public_key())
    tokens = [issuer.issue(f"user-{i}", ["session:write"], 600) for i in range(10_000)]
    for token in tokens:
        verifier.verify(token)
    checked: list[str] = []
    original = verifier._verified

    def counted(token: str) -> object:
        checked.append(token)
        return original(token)

    monkeypatch.setattr(verifier, "_verified", counted)
    assert [verifier.verify(t).user for t in tokens[:3]] == ["user-0", "user-1", "user-2"]
    assert checked == []  # all from the cache: no signature check
