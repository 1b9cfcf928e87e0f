"""Errors that more than one part of the app raises or answers (REST, WebSocket, services)."""


class InvalidInput(ValueError):
    """A client sent something the service cannot store; the message says what.

    `code` is what the client sees: the REST API answers 400 (413 for `too_large`), the
    WebSocket an `error` frame with this code.
    """

    def __init__(self, detail: str, *, code: str = "invalid") -> None:
        super().__init__(detail)
        self.code = code
