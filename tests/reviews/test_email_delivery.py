"""Emails through a real SMTP server (aiosmtpd on loopback) and Django's SMTP backend, configured as production
configures it (``EMAIL_HOST``, port, user and password). A refused or failed send leaves its ``EmailLog`` row
``failed`` with the server's answer and the job retries; once the server accepts, the email is ``sent``, once."""

import socket
import ssl
import subprocess
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from reviews import tasks
from reviews.models import EmailLog, EmailStatus, Severity
from tests.accounts.factories import secretariat_user
from tests.reviews.factories import LagFlagFactory

pytestmark = [
    pytest.mark.django_db,
    # AUTH without TLS, which aiosmtpd warns of, is what loopback allows
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

USER, PASSWORD = "gstp-mailer", "s3cret-on-loopback"


class Mailbox:
    """An SMTP server's handler: keeps what it accepts; answers ``refusals`` (in turn) to the messages before."""

    def __init__(self):
        self.messages = []
        self.refusals = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        if self.refusals:
            return self.refusals.pop(0)
        self.messages.append((envelope.mail_from, sorted(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append(auth_data.login.decode())
        return AuthResult(success=(auth_data.login.decode(), auth_data.password.decode()) == (USER, PASSWORD))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self, port, tls_context=None):
        self.port = port
        self.mailbox = Mailbox()
        self.controller = None
        self.tls_context = tls_context

    def start(self):
        self.controller = Controller(
            self.mailbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self.mailbox.authenticate,
            auth_required=True,
            auth_require_tls=self.tls_context is not None,
            tls_context=self.tls_context,
            require_starttls=self.tls_context is not None,
        )
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings):
    server = SmtpServer(free_port())
    yield from serving(server, settings)


@pytest.fixture
def smtp_with_starttls(settings, tmp_path, monkeypatch):
    """A server that takes nothing before STARTTLS, with a certificate for 127.0.0.1 that this process trusts."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SmtpServer(free_port(), tls_context=context)
    yield from serving(server, settings, EMAIL_USE_TLS=True)


def serving(server, settings, **more):
    """Point the SMTP backend at ``server`` (signing in as USER), start it, and stop it after the test."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = USER, PASSWORD
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "gstp@example.gov.tw"
    for name, value in more.items():
        setattr(settings, name, value)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def red_flag():
    secretariat_user("sec", email="sec@example.org")
    return LagFlagFactory(severity=Severity.RED)


def notify(flag):
    """Run the red-flag job as a worker would, its retries included (at once, not after the backoff)."""
    return tasks.notify_red_flags.apply(kwargs={"flag_ids": [flag.pk]})


def subject_of(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_a_red_flag_is_delivered_to_the_smtp_server_after_signing_in(smtp, red_flag):
    result = notify(red_flag)

    assert result.successful() and result.result == 1
    assert smtp.mailbox.logins == [USER]
    ((mail_from, recipients, message),) = smtp.mailbox.messages
    assert (mail_from, recipients) == ("gstp@example.gov.tw", ["sec@example.org"])
    assert subject_of(message).startswith("[GSTP] 紅燈")
    log = EmailLog.objects.get()
    assert (log.status, log.attempts, log.last_error, log.recipients) == (EmailStatus.SENT, 1, "", ["sec@example.org"])
    assert log.sent_at is not None


def test_a_server_that_refuses_twice_then_accepts_gets_the_email_once(smtp, red_flag):
    smtp.mailbox.refusals = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]

    result = notify(red_flag)

    assert result.successful() and result.result == 1
    assert len(smtp.mailbox.messages) == 1
    log = EmailLog.objects.get()
    assert (log.status, log.attempts) == (EmailStatus.SENT, 3)
    assert "451" in log.last_error and "Try again later" in log.last_error

    # and a further run sends nothing more
    assert notify(red_flag).result == 0
    assert len(smtp.mailbox.messages) == 1
    assert EmailLog.objects.get().attempts == 3


def test_a_server_that_keeps_refusing_leaves_the_email_failed_until_it_accepts(smtp, red_flag):
    smtp.mailbox.refusals = ["550 5.7.1 Relaying denied"] * (tasks.MAIL["max_retries"] + 1)

    result = notify(red_flag)

    assert result.failed()
    assert smtp.mailbox.messages == []
    log = EmailLog.objects.get()
    assert (log.status, log.attempts, log.sent_at) == (EmailStatus.FAILED, tasks.MAIL["max_retries"] + 1, None)
    assert log.last_error.startswith("SMTPDataError") and "Relaying denied" in log.last_error

    # when the server accepts again, the next run sends it, once
    assert notify(red_flag).result == 1
    assert notify(red_flag).result == 0
    assert len(smtp.mailbox.messages) == 1
    log.refresh_from_db()
    assert (log.status, log.attempts) == (EmailStatus.SENT, tasks.MAIL["max_retries"] + 2)
    assert log.sent_at is not None


def test_a_server_that_is_down_then_back_gets_the_email_once(smtp, red_flag):
    smtp.stop()

    assert notify(red_flag).failed()
    log = EmailLog.objects.get()
    assert log.status == EmailStatus.FAILED and log.last_error.startswith("ConnectionRefusedError")

    smtp.start()
    assert notify(red_flag).result == 1
    assert notify(red_flag).result == 0
    assert len(smtp.mailbox.messages) == 1
    assert EmailLog.objects.get().status == EmailStatus.SENT


def test_a_red_flag_is_delivered_over_starttls(smtp_with_starttls, red_flag):
    assert notify(red_flag).result == 1

    assert smtp_with_starttls.mailbox.logins == [USER]
    assert len(smtp_with_starttls.mailbox.messages) == 1
    assert EmailLog.objects.get().status == EmailStatus.SENT


def test_a_server_without_starttls_is_a_failed_email_when_tls_is_required(smtp, red_flag, settings):
    settings.EMAIL_USE_TLS = True

    assert notify(red_flag).failed()
    assert smtp.mailbox.messages == []
    log = EmailLog.objects.get()
    assert log.status == EmailStatus.FAILED and "STARTTLS" in log.last_error
