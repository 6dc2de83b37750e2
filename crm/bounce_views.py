"""The mail provider tells us an address bounced. Authenticated with a shared secret.

Accepted credentials (either): ``Authorization: Bearer <MAIL_BOUNCE_WEBHOOK_SECRET>``, or
``X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the secret>``. Both compared in
constant time. Body: JSON ``{"email": "...", "reason": "..."}`` or ``{"bounces": [{...}, ...]}``.
Anything unauthenticated gets 401 and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.bounces import contacts_mark_bounced_many
from crm.departures import inbound_message_receive

MAX_BOUNCES_PER_CALL = 1000


def _problem(status: int, title: str, detail: str) -> JsonResponse:
    response = JsonResponse({"type": "about:blank", "title": title, "status": status, "detail": detail}, status=status)
    response["Content-Type"] = "application/problem+json"
    return response


def _authenticated(request: HttpRequest) -> bool:
    secret = settings.MAIL_BOUNCE_WEBHOOK_SECRET
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
def mail_bounce(request: HttpRequest) -> JsonResponse:
    if not _authenticated(request):
        response = _problem(401, "Unauthenticated", "Send the shared secret as a bearer token or an HMAC signature.")
        response["WWW-Authenticate"] = 'Bearer realm="mail-bounces"'
        return response
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return _problem(400, "Malformed JSON", "The body must be a JSON object.")
    items = payload.get("bounces", [payload]) if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items or len(items) > MAX_BOUNCES_PER_CALL:
        detail = f'Send {{"email": ...}} or {{"bounces": [...]}} (at most {MAX_BOUNCES_PER_CALL}).'
        return _problem(400, "No bounces", detail)
    if not all(isinstance(item, dict) and "@" in str(item.get("email", "")) for item in items):
        return _problem(400, "Invalid bounce", 'Every bounce needs an "email" address.')
    changed = contacts_mark_bounced_many(bounces=[(item["email"], str(item.get("reason", ""))) for item in items])
    return JsonResponse({"received": len(items), "contacts_marked": changed})


@csrf_exempt
@require_POST
def mail_auto_reply(request: HttpRequest) -> JsonResponse:
    """An inbound message the mail provider forwards (replies to our emails, automatic replies
    included): ``{"from": "...", "subject": "...", "body": "..."}``, same credentials as bounces.
    An automatic reply saying the sender is no longer with the company marks them left."""
    if not _authenticated(request):
        response = _problem(401, "Unauthenticated", "Send the shared secret as a bearer token or an HMAC signature.")
        response["WWW-Authenticate"] = 'Bearer realm="mail-auto-reply"'
        return response
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return _problem(400, "Malformed JSON", "The body must be a JSON object.")
    if not isinstance(payload, dict) or "@" not in str(payload.get("from", "")):
        return _problem(400, "Invalid message", 'The message needs a "from" address.')
    marked = inbound_message_receive(
        from_email=str(payload["from"]), subject=str(payload.get("subject", "")), body=str(payload.get("body", ""))
    )
    return JsonResponse({"contacts_marked_left": marked})
