"""Production entry point: ``gunicorn -c python:app.gunicorn_conf app.wsgi:app``.

The app is built at import; each worker opens its Neo4j driver on its first request,
after gunicorn forks it (drivers must not be shared across a fork).
"""

from app import create_app

app = create_app()
