"""Request body parsers."""

import json

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's, with why a body is not JSON said in the client's language (DRF's own message is English only,
    the decoder's words), and a body nested deeper than Python's JSON decoder can follow refused as well."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the body is nested too deeply.")) from None
        except ParseError as error:
            cause = error.__context__
            if isinstance(cause, json.JSONDecodeError):
                detail = _("JSON parse error - the body is not valid JSON at line %(line)s, column %(column)s.") % {
                    "line": cause.lineno,
                    "column": cause.colno,
                }
            else:  # not text in the declared encoding, or NaN or Infinity, which JSON has no words for
                detail = _("JSON parse error - the body is not valid JSON.")
            raise ParseError(detail) from None
