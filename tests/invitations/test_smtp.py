"""The pipelined SMTP sender against a real server (aiosmtpd), with and without PIPELINING."""

from __future__ import annotations

import smtplib

import pytest

from invitations.smtp import PipelinedSender

MESSAGE = (
    b"From: Clientele <no-reply@clientele.example>\r\nTo: {to}\r\nSubject: Hello\r\n\r\n"
    b"First line\r\n.a line that starts with a dot\r\n..and two\r\nLast line"
)


@pytest.fixture(params=[True, False], ids=["pipelined", "plain-smtp"])
def smtp(request, smtp_sink):
    smtp_sink.pipelining = request.param
    connection = smtplib.SMTP(smtp_sink.host, smtp_sink.port)  # no EHLO yet, like Django's backend
    yield connection
    connection.quit()


def _message(to: str) -> bytes:
    return MESSAGE.replace(b"{to}", to.encode())


def test_messages_arrive_whole_with_their_dots(smtp, smtp_sink):
    sender = PipelinedSender(smtp, "Clientele <no-reply@clientele.example>")

    for i in range(3):
        sender.send(f"r{i}@example.com", _message(f"r{i}@example.com"))

    assert smtp_sink.pipelined == (3 if smtp_sink.pipelining else 0)
    assert smtp_sink.count_by_recipient == {"r0@example.com": 1, "r1@example.com": 1, "r2@example.com": 1}
    for message in smtp_sink.messages:
        assert message.mail_from == "no-reply@clientele.example"
        assert message.body().splitlines() == ["First line", ".a line that starts with a dot", "..and two", "Last line"]


def test_a_refused_recipient_raises_and_the_connection_sends_the_next(smtp, smtp_sink):
    smtp_sink.refuse = {"gone@example.com"}
    sender = PipelinedSender(smtp, "no-reply@clientele.example")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        sender.send("gone@example.com", _message("gone@example.com"))
    sender.send("here@example.com", _message("here@example.com"))

    assert refused.value.recipients["gone@example.com"][0] == 550
    assert smtp_sink.count_by_recipient == {"here@example.com": 1}


@pytest.mark.parametrize(
    ("exc", "survives"),
    [
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"No such mailbox")}), True),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (421, b"Closing")}), False),
        (smtplib.SMTPSenderRefused(553, b"Not allowed", "x@example.com"), True),
        (smtplib.SMTPDataError(554, b"Rejected"), True),
        (smtplib.SMTPDataError(421, b"Closing"), False),
        (smtplib.SMTPServerDisconnected("gone"), False),
        (OSError("reset by peer"), False),
    ],
)
def test_only_a_refusal_of_one_message_keeps_the_connection(exc, survives):
    from invitations.smtp import connection_survives

    assert connection_survives(exc) is survives
