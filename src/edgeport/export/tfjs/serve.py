"""``edgeport serve DIR``: a tiny static HTTP server for a web export.

Binds 127.0.0.1 only and serves the files of one folder: requests are resolved inside it and
anything that would leave it (``..``, absolute paths, symlinks pointing out) is a 404. Listing
folders is off. Browsers need HTTP rather than file:// for fetch() of model.json and its shards.
"""

from __future__ import annotations

import http.server
import os
import posixpath
import threading
import urllib.parse
from functools import partial
from pathlib import Path

HOST = "127.0.0.1"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler, confined to ``directory`` and quiet unless asked."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript",
                      ".json": "application/json", ".bin": "application/octet-stream",
                      ".wasm": "application/wasm"}

    def __init__(self, *args, directory: str, verbose: bool = False, **kwargs):
        self.root = Path(directory).resolve()
        self.verbose = verbose
        super().__init__(*args, directory=str(self.root), **kwargs)

    def translate_path(self, path: str) -> str:
        """The file a URL path names, or a path that does not exist if it would leave root."""
        path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        parts = [p for p in posixpath.normpath(path).split("/") if p not in ("", ".")]
        self.denied = True
        if any(p == ".." or "\\" in p or "\0" in p for p in parts):
            return str(self.root)
        try:
            resolved = self.root.joinpath(*parts).resolve()
        except (OSError, RuntimeError, ValueError):
            return str(self.root)
        if resolved != self.root and self.root not in resolved.parents:
            return str(self.root)
        self.denied = False
        return str(resolved)

    def send_head(self):
        path = self.translate_path(self.path)
        if self.denied or not os.path.exists(path):
            self.send_error(404, "Not found")
            return None
        return super().send_head()

    def list_directory(self, path):
        self.send_error(404, "Not found")
        return None

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):
        if self.verbose:
            super().log_message(format, *args)


def make_server(directory: str | os.PathLike, port: int = 8000,
                verbose: bool = False) -> http.server.ThreadingHTTPServer:
    """A server for ``directory`` on 127.0.0.1:``port`` (0 picks a free port: see
    ``server.server_address``). Call ``serve_forever()`` or use `serve_in_thread`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a folder")
    handler = partial(_Handler, directory=str(directory), verbose=verbose)
    try:
        return http.server.ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot serve on {HOST}:{port}: {exc.strerror} (--port "
                                 "chooses another)") from None


def serve_in_thread(directory, port: int = 0) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Start a server in a daemon thread; returns it and its base URL. ``shutdown()`` stops it."""
    server = make_server(directory, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}/"


def serve(directory, port: int = 8000) -> None:
    """Serve until interrupted (what ``edgeport serve`` runs)."""
    server = make_server(directory, port, verbose=True)
    host, port = server.server_address[:2]
    print(f"serving {Path(directory).resolve()} at http://{host}:{port}/ (Ctrl+C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
