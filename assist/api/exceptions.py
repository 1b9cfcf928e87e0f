import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DataError, InterfaceError, OperationalError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from assist.errors import InvalidInput

logger = logging.getLogger(__name__)

STATUS_FOR_CODE = {"not_found": 404, "too_large": 413, "conflict": 409, "stale": 409}
# Database errors that mean "unreachable right now" rather than a bug: the client may retry.
DATABASE_DOWN = (OperationalError, InterfaceError)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the services' InvalidInput as 400 (404, 413) with its code, and an
    unreachable database as 503 (retry later) instead of a bare 500."""
    if isinstance(exc, InvalidInput):
        return Response(
            {"code": exc.code, "detail": str(exc)}, status=STATUS_FOR_CODE.get(exc.code, 400)
        )
    if isinstance(exc, RequestDataTooBig):
        # A form body over DATA_UPLOAD_MAX_MEMORY_SIZE (JSON bodies: assist/api/parsers.py).
        return Response({"code": "too_large", "detail": str(exc)}, status=413)
    if isinstance(exc, DataError):
        # A value the database refused (assist/wire.py should have caught it first): the
        # statement rolled back, and it is the request that is wrong.
        logger.warning("request refused by the database", exc_info=True)
        return Response({"code": "invalid", "detail": "A value is out of range."}, status=400)
    if isinstance(exc, DATABASE_DOWN):
        # The transaction rolled back: nothing of this request was stored.
        logger.warning("database unavailable: %s", type(exc).__name__)
        return Response(
            {"code": "unavailable", "detail": "The database is unavailable; try again shortly."},
            status=503,
            headers={"Retry-After": "5"},
        )
    return exception_handler(exc, context)
