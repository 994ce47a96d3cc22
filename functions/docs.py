"""The API's contract: ``GET /openapi.json`` (every stage) and, in the local stage, an interactive page at ``/docs``.

The page is Swagger UI from the npm package ``swagger-ui-dist`` pinned in package.json (``make setup`` installs it
into node_modules), served by the app itself: no CDN, so it works offline and shows exactly the pinned version.
"""

from __future__ import annotations

from pathlib import Path

from chalicelib.domain import errors
from functions.edge.apidoc import describe
from functions.edge.http import Call, Reply

# resolve(): vendor/functions is a link to functions/, and node_modules sits beside the real one.
ASSETS = Path(__file__).resolve().parent.parent / "node_modules" / "swagger-ui-dist"
# The only files served, with their types: Swagger UI needs its bundle and its style sheet.
ASSET_TYPES = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
}
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>ПФДО functions: API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
                                 persistAuthorization: true, tryItOutEnabled: true});
  </script>
</body>
</html>
"""


@describe(summary="This API's OpenAPI 3.1 document", roles=("anyone",))
def openapi_document(call: Call) -> Reply:
    from functions.edge import openapi  # imports every view module: only this route pays for it

    return Reply(openapi.document(local=call.ctx.settings.is_local), headers={"Cache-Control": "max-age=300"})


@describe(summary="The interactive API page (Swagger UI; local stage)", roles=("anyone",), produces=("text/html",))
def page(call: Call) -> Reply:
    return Reply(PAGE, content_type="text/html; charset=utf-8")


@describe(
    summary="A file of the API page (local stage)",
    roles=("anyone",),
    produces=tuple(dict.fromkeys(ASSET_TYPES.values())),
)
def asset(call: Call) -> Reply:
    name = call.params["name"]
    content_type = ASSET_TYPES.get(name)
    if content_type is None:
        raise errors.NotFound("no such file")
    try:
        text = (ASSETS / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise errors.NotFound("the page's files are not installed: run make setup") from None
    return Reply(text, content_type=f"{content_type}; charset=utf-8", headers={"Cache-Control": "max-age=3600"})
