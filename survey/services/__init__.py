"""Services own the transactions; views and the CLI call them."""


class ServiceError(Exception):
    """A request the rules refuse; the message is Chinese and shown to the user as is."""

    status = 400


class NotAllowed(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404
