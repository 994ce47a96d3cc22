"""The Navigator's static site for `make run`: web/dist on its own origin (WEB_PORT), as CloudFront serves it in AWS.

A thread of `make run` (no process of its own). It serves the built files, ``/config.json`` made at start (the API's
URL, the region's municipalities, the demo region's people for the local sign-in), and the same security headers as
the CloudFront response-headers policy (infra/site.py), with the local API's origin and the local S3's (a provider's
documents are uploaded from the page straight to the bucket) in the CSP's ``connect-src``.
"""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra import site

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "web" / "dist"


class SiteHandler(SimpleHTTPRequestHandler):
    """Files of web/dist, /config.json from memory, security headers on every answer."""

    config_body: bytes = b"{}"
    security_headers: dict[str, str] = {}  # noqa: RUF012 - set per server on a subclass

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/config.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(self.config_body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(self.config_body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        for name, value in self.security_headers.items():
            self.send_header(name, value)
        path = self.path.split("?", 1)[0]
        if path.startswith("/assets/"):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")  # names carry their hash
        elif path != "/config.json":
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the API's log is the one to read


class WebServer:
    """web/dist on 127.0.0.1:``port`` in a thread; ``stop()`` closes it."""

    def __init__(
        self,
        host: str,
        port: int,
        config: dict[str, Any],
        api_origin: str,
        root: Path = DIST,
        uploads: str | None = None,
    ) -> None:
        handler = type(
            "Handler",
            (SiteHandler,),
            {
                "config_body": json.dumps(config, ensure_ascii=False).encode("utf-8"),
                "security_headers": site.local_headers(api_origin, uploads),
            },
        )
        self.server = ThreadingHTTPServer((host, port), partial(handler, directory=str(root)))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="web", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> WebServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
