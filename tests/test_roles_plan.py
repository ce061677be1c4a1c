"""The role plans, and docker-compose.yml: every service runs a real ``warta`` subcommand."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.errors import ConfigError
from bot.roles import Role, plan_for

ROOT = Path(__file__).resolve().parents[1]


def test_plans_split_run_into_roles() -> None:
    run = plan_for("run")
    worker, sender = plan_for("worker"), plan_for("sender")
    gateway = plan_for("gateway", platform="discord")
    assert (run.poll, run.compose, run.send, run.retention, run.receive) == (True,) * 5
    assert (worker.poll, worker.compose, worker.retention, worker.adapters) == (
        True,
        True,
        True,
        False,
    )
    assert (sender.send, sender.receive, sender.poll, sender.compose) == (True, False, False, False)
    assert gateway.platforms == frozenset({"discord"})
    assert (gateway.poll, gateway.compose, gateway.send, gateway.retention) == (False,) * 4
    assert not plan_for(Role.RUN, poll=False).poll
    with pytest.raises(ConfigError):
        plan_for("gateway")


def test_compose_file_services_run_real_warta_commands() -> None:
    yaml = pytest.importorskip("yaml")  # a dev dependency; see pyproject.toml
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    commands = {name: svc["command"] for name, svc in services.items() if "command" in svc}
    assert sorted(c[0] for c in commands.values()) == [
        "gateway",
        "gateway",
        "sender",
        "web",
        "worker",
    ]
    assert services["worker"]["deploy"]["replicas"] == 2
    parser = build_parser()
    for name, command in commands.items():
        args = parser.parse_args(command)  # exits (fails the test) on an unknown subcommand
        assert args.command == command[0], name
        svc = services[name]
        assert "healthcheck" in svc, name
        assert svc["environment"]["WARTA_DATABASE_URL"].startswith("postgresql+asyncpg://"), name
        assert "postgres" in svc["depends_on"], name
    platforms = {parser.parse_args(c).platform for c in commands.values() if c[0] == "gateway"}
    assert platforms == {"telegram", "discord"}
    assert "healthcheck" in services["postgres"]
