"""The deployable functions: thin handlers that parse (pydantic), call a service and respond.

Packaged into the Lambda zip through vendor/functions (a link to this folder), since Chalice ships only app.py,
chalicelib/ and vendor/.
"""
