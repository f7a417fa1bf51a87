"""`${VAR}` substitution and config-relative file-database URLs. Standard library only: the speculative
scan (`prefetch.py`) uses it before anything heavy is imported."""

from __future__ import annotations

import os
import re
from pathlib import Path

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingEnv(Exception):
    pass


def expand_env(value: str, where: str = "") -> str:
    """Substitute ${VAR} from the environment, at use time only."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise MissingEnv(f"{where + ': ' if where else ''}environment variable {name} is not set")
        return os.environ[name]

    return _ENV.sub(sub, value)


def resolve_url(url: str, root: Path, where: str = "") -> str:
    """Expand ${ENV} and make file-database paths (sqlite, duckdb) relative to the config folder."""
    url = expand_env(url, where)
    m = re.match(r"^(sqlite|duckdb)(\+\w+)?:///(.*)$", url)
    if m and m.group(3) and not m.group(3).startswith((":memory:", "/")):
        path, sep, query = m.group(3).partition("?")
        url = f"{m.group(1)}{m.group(2) or ''}:///{(root / path).resolve()}{sep}{query}"
    return url
