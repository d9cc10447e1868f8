"""``musicgraph serve``: the web app on Flask's development server."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True,
              help="Port to listen on.")
@click.option("--debug", is_flag=True, help="Flask debug mode: development only.")
def serve(host: str, port: int, debug: bool) -> None:
    """Serve the web app and API (for production: gunicorn app.wsgi:app)."""
    from app import create_app

    application = create_app()
    click.echo(f"MusicGraph serving on http://{host}:{port}/ (Ctrl-C to stop)")
    application.run(host=host, port=port, debug=debug, threaded=True, use_reloader=False)
