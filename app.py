"""The Chalice app: registers the blueprints of functions/, and the handler of the Function URLs in front of it."""

from __future__ import annotations

from chalice import Chalice

from chalicelib.config import get_settings
from functions import admin, certificates, contracts, dev, periods, programs, providers, topup
from functions.url_adapter import make_handler

app = Chalice(app_name="pfdo-functions")
app.register_blueprint(periods.bp)
app.register_blueprint(certificates.bp)
app.register_blueprint(topup.bp)
app.register_blueprint(providers.bp)
app.register_blueprint(programs.bp)
app.register_blueprint(contracts.bp)
app.register_blueprint(admin.bp)
# Routes are fixed when the app is built, so the stage is read here: /dev/* exists only in the local stage.
if get_settings().is_local:
    app.register_blueprint(dev.bp)

# The handler behind the Function URLs (payload 2.0 → the v1 events Chalice reads, CORS for the web clients).
url_handler = make_handler(app, lambda: get_settings().cors_origins)
