"""WSGI entry point of a Tongban node (gunicorn: `tongban/gunicorn.conf.py`).

A WSGI server runs no system checks of its own: they run here, once per process that loads
the application, so that gunicorn refuses to start on the settings `manage.py check`
refuses (a node without DEBUG and without its keys, core/checks.py)."""

import io
import os

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongban.settings")
application = get_wsgi_application()
# Errors raise SystemCheckError naming the setting; "no issues" is not printed into the logs.
call_command("check", fail_level="ERROR", stdout=io.StringIO())

# The search dictionary is loaded before the first request, not during it (decision 151).
from catalog.search import load_dictionary  # noqa: E402

load_dictionary()
