"""Many messages over one SMTP connection, pipelined (RFC 2920) when the server offers it.

Django's SMTP backend opens the connection (host, port, STARTTLS or SSL, login: the
``EMAIL_*`` settings) and this module sends through the ``smtplib.SMTP`` it holds. smtplib
waits for a reply after each of MAIL FROM, RCPT TO and DATA; with PIPELINING, which every
mainstream server advertises, the three go out in one write and their replies are read
together: two round trips per message instead of four. Without it, ``smtplib.sendmail``
sends as usual.

A message counts as sent only when the server answered the end of its data with 250, as
with smtplib: the caller records it then.
"""

from __future__ import annotations

import contextlib
import re
import smtplib

_LEADING_DOT = re.compile(rb"(?m)^\.")


def connection_survives(exc: BaseException) -> bool:
    """Whether the connection can carry the next message after ``exc`` from ``PipelinedSender.send``.

    A refusal of one message (a 4xx or 5xx reply to MAIL, RCPT or the data) leaves the
    session usable: the sender reset it. Reconnecting after each refused address would cost
    a TCP, TLS and login handshake per bounce. 421 means the server is closing the session.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code != 421 for code, _reply in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        return exc.smtp_code != 421
    return False


class PipelinedSender:
    """Send raw messages (CRLF line ends, headers included) from ``sender`` one after another on ``smtp``.

    ``sender`` may be a display form (``Clientele <noreply@example.com>``); recipients are
    bare addresses, already encoded for SMTP (``invitations.emails.envelope_address``).
    """

    def __init__(self, smtp: smtplib.SMTP, sender: str) -> None:
        self.smtp = smtp
        self.sender = sender
        self.reverse_path = smtplib.quoteaddr(sender)
        smtp.ehlo_or_helo_if_needed()  # Django's backend greets only for STARTTLS or login
        self.pipelining = smtp.has_extn("pipelining")
        self.size = smtp.has_extn("size")

    def send(self, recipient: str, data: bytes) -> None:
        """Return once the server accepted the message; raise ``smtplib.SMTPException`` if it did not.

        After a refusal the connection is still usable: a transaction the server opened is
        reset with RSET, as smtplib does.
        """
        if not self.pipelining:
            self.smtp.sendmail(self.sender, [recipient], data)
            return
        smtp = self.smtp
        options = f" SIZE={len(data)}" if self.size else ""
        smtp.send(f"MAIL FROM:{self.reverse_path}{options}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n")
        mail = smtp.getreply()
        rcpt = smtp.getreply()
        start = smtp.getreply()
        if start[0] == 354 and (mail[0] != 250 or rcpt[0] not in (250, 251)):
            # The server took DATA although it refused the envelope: end the empty message (RFC 2920).
            smtp.send(b".\r\n")
            smtp.getreply()
        if mail[0] != 250:
            self._reset()
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], self.sender)
        if rcpt[0] not in (250, 251):
            self._reset()
            raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
        if start[0] != 354:
            self._reset()
            raise smtplib.SMTPDataError(*start)
        body = _LEADING_DOT.sub(b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        smtp.send(body + b".\r\n")
        code, reply = smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)

    def _reset(self) -> None:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            self.smtp.rset()
