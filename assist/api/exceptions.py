from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler

from assist.services.conversations import InvalidInput

STATUS_FOR_CODE = {"not_found": 404, "too_large": 413}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the services' InvalidInput as 400 (404, 413) with its code."""
    if isinstance(exc, InvalidInput):
        return Response(
            {"code": exc.code, "detail": str(exc)}, status=STATUS_FOR_CODE.get(exc.code, 400)
        )
    return exception_handler(exc, context)
