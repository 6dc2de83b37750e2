"""The inbound-mail hook: a mail provider posts each raw RFC 5322 message here.

Authenticated like the bounce hook, with ``CASES_INBOUND_SECRET``: ``Authorization: Bearer
<secret>`` or ``X-Signature-256: sha256=<hex HMAC-SHA256 of the body>``. The body is the
message itself (``Content-Type: message/rfc822``). Answers 200 with what became of it.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cases.inbound import case_inbound_email

MAX_MESSAGE_BYTES = 30 * 1024 * 1024


def _problem(status: int, title: str, detail: str) -> JsonResponse:
    response = JsonResponse({"type": "about:blank", "title": title, "status": status, "detail": detail}, status=status)
    response["Content-Type"] = "application/problem+json"
    return response


def _authenticated(request: HttpRequest) -> bool:
    secret = settings.CASES_INBOUND_SECRET
    if not secret:
        return False
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(), secret.encode()):
        return True
    signature = request.headers.get("X-Signature-256", "")
    if signature.startswith("sha256="):
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature[7:].strip().lower().encode(), expected.encode())
    return False


@csrf_exempt
@require_POST
def mail_inbound(request: HttpRequest) -> JsonResponse:
    if not _authenticated(request):
        response = _problem(401, "Unauthenticated", "Send the shared secret as a bearer token or an HMAC signature.")
        response["WWW-Authenticate"] = 'Bearer realm="mail-inbound"'
        return response
    if not request.body or len(request.body) > MAX_MESSAGE_BYTES:
        return _problem(400, "No message", "Post one raw RFC 5322 message (at most 30 MB) as the body.")
    result = case_inbound_email(request.body)
    return JsonResponse(
        {"outcome": result.outcome, "case": result.case.pk if result.case else None, "detail": result.detail}
    )
