"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`, `flask --app wsgi ...`.

create_app() runs the production checks (cm_service/security.py), so importing this
module with CM_ENV=production and a development setting fails, in every worker.
"""

from cm_service import create_app

app = create_app()
