"""How to run this Sentinel again from the current folder, for the commands Sentinel prints (the demo's next
steps, an approval question's `approve N`): the same program the user just ran, typed as they would type it."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path


def _shown(path: Path) -> str:
    """A path as typed in a shell from the current folder: relative when under it (`.venv/bin/sentinel`)."""
    path = path.absolute()  # not resolve(): a venv's python is a symlink whose target has no venv around it
    try:
        rel = path.relative_to(Path.cwd())
        text = str(rel) if len(rel.parts) > 1 else f"./{rel}"
    except ValueError:
        text = str(path)
    return shlex.quote(text)


def command() -> str:
    """How to run this Sentinel again from the current folder: `sentinel` when that is on PATH and is this
    one; else the path of the running script; else this interpreter with `-m sentinel`."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name in ("sentinel", "sentinel.__main__"):
        return f"{_shown(Path(sys.executable))} -m sentinel"
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is None or not script.is_file():
        return "sentinel"
    on_path = shutil.which("sentinel")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "sentinel"
    return _shown(script)
