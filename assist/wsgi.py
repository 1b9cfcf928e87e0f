"""WSGI entry point, for HTTP-only deployments; the product itself runs on ASGI (assist.asgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assist.settings")

application = get_wsgi_application()
