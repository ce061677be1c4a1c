"""The heartbeat file of ``warta run`` and the verdict of ``warta health``.

``warta run`` rewrites the file (atomically: a temporary file, then a rename) on every send tick
and on every adapter state change. It holds JSON::

    {"time": "2026-12-04T17:00:00+00:00", "pid": 7,
     "adapters": {"telegram": {"state": "down", "since": "...", "error": "...", "restarts": 3}}}

``warta health`` is unhealthy when the file is missing or older than ``max_age_s`` (the process
or its scheduler is stuck), or when an adapter has not been ``up`` for longer than
``down_limit_s`` (setting ``adapter_down_unhealthy_s``). Errors in the file are already masked.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The send tick beats every few seconds; three minutes of silence means the loop is stuck.
HEARTBEAT_MAX_AGE_S = 180.0


def write_heartbeat(path: Path, adapters: dict[str, dict[str, Any]], *, now: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(
        {"time": now.isoformat(), "pid": os.getpid(), "adapters": adapters}, sort_keys=True
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body + "\n")
        # A reader (the health check) sees the old file or the new one, never half of one.
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(slots=True)
class Verdict:
    healthy: bool
    lines: list[str] = field(default_factory=list)


def _age(text: object, now: datetime) -> float | None:
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (now - when).total_seconds()


def judge(
    path: Path,
    *,
    now: datetime,
    down_limit_s: float,
    max_age_s: float = HEARTBEAT_MAX_AGE_S,
) -> Verdict:
    """Read the heartbeat at ``path`` and say whether ``warta run`` is healthy, with one line
    per adapter (``telegram: down for 42 s (NetworkError: Bad Gateway), 3 restarts``)."""
    try:
        raw = path.read_text(encoding="utf-8")
        mtime = path.stat().st_mtime
    except OSError:
        return Verdict(False, [f"unhealthy: no heartbeat at {path}"])
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    age = _age(data.get("time"), now)
    if age is None:  # an older `warta run` only touched the file
        age = now.timestamp() - mtime
    verdict = Verdict(True)
    if age > max_age_s:
        verdict.healthy = False
        verdict.lines.append(f"unhealthy: last heartbeat {age:.0f}s ago")
    adapters = data.get("adapters")
    for name, info in sorted(adapters.items() if isinstance(adapters, dict) else []):
        if not isinstance(info, dict):
            continue
        state = str(info.get("state", "?"))
        held = _age(info.get("since"), now)
        line = f"{name}: {state}"
        if held is not None:
            line += f" for {max(held, 0):.0f}s"
        if state != "up" and info.get("error"):
            line += f" ({info['error']})"
        if info.get("restarts"):
            line += f", {info['restarts']} restarts"
        if state != "up" and held is not None and held > down_limit_s:
            verdict.healthy = False
            line += f" - unhealthy: not up for over {down_limit_s:.0f}s"
        verdict.lines.append(line)
    if verdict.healthy:
        verdict.lines.insert(0, f"healthy: last heartbeat {age:.0f}s ago")
    return verdict
