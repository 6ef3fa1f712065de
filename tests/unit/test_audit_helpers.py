"""Fingerprints and key placement rules of the leakage audit (no server needed)."""

from __future__ import annotations

from agentgpt.operations.fingerprints import Fingerprinter, canonical, shown
from agentgpt.operations.keyspace import hash_tag, misplaced


def test_fingerprints_match_across_spacing_and_case_only_under_one_key() -> None:
    prints = Fingerprinter(b"k" * 32)
    value = prints.value("DE89 3704 0044 0532 0130 00")
    assert value is not None
    text = "Please send it to de89-3704-0044-0532-0130-00, thanks"
    assert value in set(prints.candidates(text))
    assert value not in set(prints.candidates("to DE89 3704 0044 0532 0130 01"))
    assert value not in set(Fingerprinter(b"x" * 32).candidates(text))  # other scan key
    assert canonical("John.Doe@Example.com") == "johndoeexamplecom"


def test_short_values_are_not_compared_and_reports_never_show_values() -> None:
    prints = Fingerprinter()
    assert prints.value("12 34") is None
    assert list(prints.candidates("12 34")) == []
    fingerprint = prints.value("4111 1111 1111 1111")
    assert fingerprint is not None
    assert shown(fingerprint).startswith("hmac:")
    assert "4111" not in shown(fingerprint)


def test_hash_tags_follow_cluster_rules() -> None:
    assert hash_tag(b"ag:{sess_abc}:ctx") == b"sess_abc"
    assert hash_tag(b"ag:{}:ctx") is None  # an empty tag hashes the whole key
    assert hash_tag(b"ag:{open:ctx") is None
    assert misplaced(b"ag:{sess_abc}:ctx") is None
    assert misplaced(b"ag:schema") is None
    assert misplaced(b"ag:sess_abc:ctx") is not None
    assert misplaced(b"ag:sess_abc:ctx")[0] == "no-hash-tag"  # type: ignore[index]
    assert misplaced(b"session:{x}:ctx")[0] == "outside-namespace"  # type: ignore[index]
