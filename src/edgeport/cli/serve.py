"""``edgeport serve DIR``: one folder (an export-web bundle) over HTTP on 127.0.0.1 only
(edgeport.export.tfjs.serve).

Serve one folder (e.g. an export-web output) over HTTP on 127.0.0.1 only.
"""

from __future__ import annotations

from .common import subcommand


def add_parser(commands, common) -> None:
    """The ``serve`` subcommand, for edgeport.cli.build_parser."""
    serve = subcommand(commands, common, "serve", serve_command, __doc__,
                       help="serve a web export on 127.0.0.1")
    serve.add_argument("directory", help="the folder to serve")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")


def serve_command(args) -> int:
    """Serve ``args.directory`` on ``args.port`` until interrupted."""
    from ..export.tfjs.serve import serve

    serve(args.directory, args.port)
    return 0
