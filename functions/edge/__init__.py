"""The HTTP edge: the route table (``routes.py``, with the ``Route`` type in ``route.py``), the serving of one request
(``http.py``), the Function URL adapter in front of the app (``url_adapter.py``) and the API's OpenAPI document
(``openapi.py``, from what each view records with ``apidoc.describe``).

Imports point one way: ``routes`` → ``route``; ``http`` → ``route``; ``openapi`` → ``routes``, ``route``, ``apidoc``;
``routes`` loads ``http`` only when a request comes (no cycle; tests/unit/test_edge_imports.py).
"""
