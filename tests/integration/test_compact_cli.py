"""``agentgpt security compact``: every primary rewrites its persistence files."""

from __future__ import annotations

import json

import pytest
import redis

from agentgpt.cli.app import main


def test_compact_rewrites_the_aof_of_a_standalone_server(
    standalone_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    node = redis.Redis.from_url(standalone_url)
    node.config_set("appendonly", "yes")
    try:
        assert main(["security", "compact", "--url", standalone_url, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == {"server": ["aof"]}
        assert node.info("persistence")["aof_rewrites"] >= 1
    finally:
        node.config_set("appendonly", "no")
        node.close()


@pytest.mark.cluster
def test_compact_visits_every_cluster_primary(
    cluster_nodes: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = "redis+cluster://" + ",".join(cluster_nodes)
    assert main(["security", "compact", "--url", url, "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert len(done) == 3  # no persistence configured on the test cluster: nothing to rewrite
    assert all(files == [] for files in done.values())
