"""Errors a service raises for the API to answer with its own status and code."""

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    status_code = 400
    default_code = "invalid"
    default_detail = _("The request cannot be carried out.")

    def __init__(self, detail=None, code: str | None = None, *, field: str | None = None):
        self.detail = detail or self.default_detail
        self.code = code or self.default_code
        self.field = field  # the request's field the error is about, named in the answer's ``errors``
        super().__init__(str(self.detail))


class InvalidTransition(ApplicationError):
    status_code = 409
    default_code = "invalid_transition"
    default_detail = _("This action is not allowed in the report's current status.")


class StaleVersion(ApplicationError):
    status_code = 412
    default_code = "precondition_failed"
    default_detail = _("The report has changed since it was read; fetch it again and retry with the new ETag.")


class ContentTooLarge(ApplicationError):
    status_code = 413
    default_code = "content_too_large"
    default_detail = _("The content is larger than this server accepts.")
