"""Entry point: ``flask --app app ...`` and WSGI servers (``gunicorn 'app:create_app()'``)."""

from wxflow.app import create_app

__all__ = ["create_app"]
