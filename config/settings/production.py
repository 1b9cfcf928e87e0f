"""Production: everything from the environment, DEBUG off, HTTPS only.

The default settings module of manage.py and of the ASGI, WSGI and Celery entry points, so
that a deployment that forgets DJANGO_SETTINGS_MODULE fails closed (no SECRET_KEY: no start)
rather than running with DEBUG on. `make run` uses config.settings.local.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import env_bool, env_list

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "Set SECRET_KEY (or DJANGO_SETTINGS_MODULE=config.settings.local for local development)."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")

# --- Security (https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/) -----------
# Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=1 so Django trusts
# X-Forwarded-Proto; SECURE_SSL_REDIRECT=0 where the proxy already redirects.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

# A customer link of the demo helpdesk opens a conversation without a login.
DEMO_HELPDESK = env_bool("DEMO_HELPDESK", False)
