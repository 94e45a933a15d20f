"""The API kit: what every app's REST API shares, defined once, importing no app of ours.

errors (the one error format), bodies (JSON limits, strict fields), pagination, renderers (CSV),
conditional (ETag / If-Match), permissions (read open, write for editors), throttling, schema
(OpenAPI helpers) and response_cache. Domain apps import it; it imports none of them, which a test
(tests/test_layering.py) keeps so.
"""
