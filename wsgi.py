"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from cm_service import create_app

app = create_app()
