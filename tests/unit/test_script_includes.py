"""The script registry expands ``-- @include`` lines: the rate bucket has one definition."""

from __future__ import annotations

from importlib import resources

from agentgpt.store.scripts import SCRIPTS, Scripts


def test_every_include_is_expanded_and_the_bucket_is_shared() -> None:
    bucket = (
        (resources.files("agentgpt.store") / "lua" / "include" / "bucket.lua")
        .read_text(encoding="utf-8")
        .rstrip("\n")
    )
    for name, body in SCRIPTS.bodies.items():
        assert "-- @include" not in body, name
    spenders = [n for n, b in SCRIPTS.bodies.items() if "spend_bucket(" in b]
    assert sorted(spenders) == ["acquire", "token_bucket"]
    for name in spenders:
        assert SCRIPTS.bodies[name].count(bucket) == 1, name


def test_the_sha_names_the_expanded_text() -> None:
    import hashlib

    scripts = Scripts(["token_bucket"])
    body = scripts.bodies["token_bucket"]
    assert "local function spend_bucket" in body
    assert scripts.shas["token_bucket"] == hashlib.sha1(body.encode()).hexdigest()
