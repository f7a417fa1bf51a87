"""Console entry point: start the speculative scan before the heavy imports, then run `sentinel run` directly
(runcmd.py: no typer on the command run most) or hand over to typer.

Pydantic's plugin discovery scans every installed distribution's metadata at import (about 20 ms with
Great Expectations installed); Sentinel uses no pydantic plugins, so it is switched off for this process.
Every way out (a result, a usage error, a crash, Ctrl-C) goes through ending.py, so the speculative scan never
changes how the process ends.
"""

import os
import sys


def main() -> None:
    try:
        from sentinel import ending
    except KeyboardInterrupt:  # Ctrl-C before anything started
        sys.stderr.write("interrupted, nothing written\n" if sys.argv[1:2] == ["run"] else "interrupted\n")
        os._exit(130)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        code = 0
        try:
            if command != "daemon":  # the daemon stops gracefully on SIGINT, with its own handlers
                ending.watch(command)
            from sentinel import prefetch

            prefetch.start(sys.argv)
            parsed = None
            if command == "run":
                from sentinel import runcmd

                parsed = runcmd.parse_run(sys.argv[2:])
            if parsed is not None:
                runcmd.run(*parsed)  # typer's parse is skipped, not its behaviour (runcmd.py)
            from sentinel.cli import app

            app(prog_name="sentinel")  # `python -m sentinel` would otherwise be named from its module path
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):
                sys.stderr.write(exc.code + "\n")
        except Exception:
            import traceback

            from sentinel.envsubst import redact

            sys.stderr.write(redact(traceback.format_exc()))  # a crash never prints a secret either
            code = 1
        ending.finish(code)
    except (ending.Interrupted, KeyboardInterrupt):
        ending.end_interrupted()
