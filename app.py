"""The Chalice app: the HTTP routes (functions/edge/routes.py), the scheduled and console functions
(functions/jobs/handlers.py), and the handler of the Function URLs in front of the routes.

Nothing behind a route or a job is imported here: each loads with the first request or event that needs it.
"""

from __future__ import annotations

from chalice import Chalice

from chalicelib.platform.config import get_settings
from functions import runtime
from functions.edge import routes
from functions.edge.url_adapter import make_handler
from functions.jobs import handlers as jobs

app = Chalice(app_name="pfdo-functions")
# Statements download as PDF: sent base64-encoded, as Lambda carries binary bodies.
app.api.binary_types.append("application/pdf")
# Routes are fixed when the app is built, so the stage is read here: /dev/* exists only in the local stage.
routes.register(app, local=get_settings().is_local)
app.register_blueprint(jobs.bp)
jobs.observe(app)

# The handler behind the Function URLs (payload 2.0 → the v1 events Chalice reads, CORS for the web clients), with the
# Lambda context in every log line and an X-Ray trace (functions/runtime.py).
url_handler = runtime.observed(make_handler(app, lambda: get_settings().cors_origins))
