"""The shared SMTP sink itself: Django's SMTP backend delivers into it."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives, get_connection


def test_django_smtp_backend_delivers_into_the_sink(smtp_mail):
    message = EmailMultiAlternatives("Hello", "plain body", to=["Someone@Example.com"])
    message.attach_alternative("<p>html body</p>", "text/html")

    assert message.send() == 1

    [sunk] = smtp_mail.to("someone@example.com")
    assert sunk.subject == "Hello"
    assert sunk.body("plain").strip() == "plain body"
    assert "html body" in sunk.body("html")
    assert smtp_mail.count_by_recipient == {"someone@example.com": 1}


def test_one_connection_sends_many(smtp_mail):
    connection = get_connection()
    messages = [EmailMultiAlternatives(f"n{i}", "x", to=[f"p{i}@example.com"], connection=connection) for i in range(5)]

    assert connection.send_messages(messages) == 5
    assert smtp_mail.wait_for(5)
