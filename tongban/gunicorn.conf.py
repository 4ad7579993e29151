"""gunicorn's configuration for a Tongban node: `gunicorn -c tongban/gunicorn.conf.py
tongban.wsgi` (make run-prod, docs/deploy.md). Every value comes from the environment.

The application is loaded once in the master (`preload_app`), so the system checks of
tongban/wsgi.py run before any worker starts: on unsafe settings gunicorn exits at once,
naming the setting, instead of restarting workers that cannot boot."""

import os

bind = os.environ.get("TONGBAN_BIND", "127.0.0.1:8000").split(",")
# Two workers a core is plenty for a node whose time goes to the database.
workers = int(os.environ.get("TONGBAN_WEB_WORKERS", "2"))
threads = int(os.environ.get("TONGBAN_WEB_THREADS", "1"))
timeout = int(os.environ.get("TONGBAN_WEB_TIMEOUT", "60"))
graceful_timeout = 30
preload_app = True
# Recycle workers now and then, so a slow leak never grows for long: every 20,000
# requests or so (at the bench's peak a worker serves about 150 a second, so a couple of
# minutes; a recycled worker's first requests pay for its cold caches and connection).
max_requests = int(os.environ.get("TONGBAN_WEB_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# The proxies whose X-Forwarded-* headers gunicorn believes (the reverse proxy's address).
forwarded_allow_ips = os.environ.get("TONGBAN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# No control socket (gunicorn 27's gunicornc): nothing here uses it, and nodes on one host
# would share its default path.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# gunicorn's own logs and its access log as JSON lines, with no query strings (core/logging.py).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}
