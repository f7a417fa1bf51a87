"""Console entry point: start the speculative scan before the heavy imports, then hand over to typer."""

import sys


def main() -> None:
    from sentinel import prefetch

    prefetch.start(sys.argv)
    from sentinel.cli import app

    app()
