"""What any WSGI server serves: ``waitress-serve --listen 127.0.0.1:8000 wsgi:app`` (or gunicorn,
uWSGI, mod_wsgi). Configuration comes from the environment (portal/config.py); run
``portal init`` first to create or upgrade the database (``portal serve`` does both)."""
from portal import create_app

app = create_app()
