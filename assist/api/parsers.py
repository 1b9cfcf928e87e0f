"""Request bodies and list paging that refuse what the services must never see (assist/wire.py)."""

from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, pagination, serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request

from assist import wire
from assist.errors import InvalidInput


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


class StrictJSONParser(JSONParser):
    """JSON bodies of at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes, parsed by assist.wire.

    DRF reads a JSON body straight from the request stream, past Django's own size check on
    `request.body`, so the bound is applied here: at most one byte over the limit is read.
    """

    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(data) > limit:
            raise RequestTooLarge(f"The request body is over {limit} bytes.")
        try:
            return wire.json_loads(data)
        except InvalidInput as error:
            raise exceptions.ParseError(str(error), code=error.code) from None


PARSERS = [StrictJSONParser, FormParser, MultiPartParser]


class StrictLimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=` (1 to max_limit) and `?offset=` (0 or more) as the schema says, or 400.

    DRF's own class quietly falls back to the default on a bad value and passes any offset to
    the database, where one over a bigint is a 500.
    """

    max_limit = 200
    max_offset = 10**9

    def get_limit(self, request: Request) -> int | None:
        return self._param(request, self.limit_query_param, 1, self.max_limit, self.default_limit)

    def get_offset(self, request: Request) -> int:
        return self._param(request, self.offset_query_param, 0, self.max_offset, 0) or 0

    def _param(
        self, request: Request, name: str, low: int, high: int, default: int | None
    ) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        field = serializers.IntegerField(min_value=low, max_value=high)
        try:
            return int(field.run_validation(raw))
        except serializers.ValidationError as error:
            raise serializers.ValidationError({name: error.detail}) from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0, "maximum": self.max_offset},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


def query_params(
    serializer_class: type[serializers.Serializer], request: Request
) -> dict[str, Any]:
    """The request's query parameters through `serializer_class`, or 400."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
