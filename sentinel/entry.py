"""Console entry point: start the speculative scan before the heavy imports, then hand over to typer.

Pydantic's plugin discovery scans every installed distribution's metadata at import (about 20 ms with
Great Expectations installed); Sentinel uses no pydantic plugins, so it is switched off for this process.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from sentinel import prefetch

    prefetch.start(sys.argv)
    from sentinel.cli import app

    app()
