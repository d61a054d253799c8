"""Transports: how one outgoing message reaches the customer (SMTP) or a system (webhook).

A transport returns once the receiver has accepted the message, raises ``DeliveryError``
when the receiver refused or failed this message (retried later with backoff) and
``TransportDown`` when it cannot be reached at all (the batch is handed back, no attempt is
counted). What goes on the wire is a function of the stored message alone: a repeat carries
the same Message-ID, the same Date and the same bytes, so a receiver can drop it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from types import TracebackType
from typing import Any, Self

from ordercare.notify.outbox import MESSAGES, DeliveryError, Outgoing, Transport, TransportDown
from ordercare.notify.sender_config import (
    SenderConfig,
    SmtpConfig,
    WebhookConfig,
    private_webhooks_allowed,
    public_address,
)
from ordercare.rules import RulesError
from ordercare.sellers.keys import SECRET_ENV, SellerKeys
from ordercare.sellers.notices import SELLER_MAILS, SELLER_NOTICES, OutgoingNotice

TRANSPORTS = ("smtp", "webhook", "seller-webhook", "seller-email")
SIGNATURE_HEADER = "X-Ordercare-Signature"


# ---- SMTP --------------------------------------------------------------------------------------

def build_email(message: Outgoing, from_address: str) -> EmailMessage:
    """The RFC 5322 message for ``message``: UTF-8 text, threaded on its case."""
    if not message.to_email:
        raise DeliveryError(f"customer {message.customer_id} has no e-mail address on record "
                            "(no customer.registered event with an email yet)")
    mail = EmailMessage(policy=policy.SMTP)
    try:
        mail["To"] = Address(display_name=message.to_name or "", addr_spec=message.to_email)
    except (ValueError, IndexError) as exc:
        raise DeliveryError(f"customer {message.customer_id}: {message.to_email!r} is not a "
                            f"usable e-mail address ({exc})") from None
    mail["From"] = from_address
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(datetime.fromisoformat(message.at))
    mail["Message-ID"] = message.header_id
    if message.in_reply_to:
        mail["In-Reply-To"] = message.in_reply_to
        mail["References"] = " ".join(message.references)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    mail.set_content(message.text, charset="utf-8", cte="quoted-printable")
    mail["Content-Language"] = message.lang  # after set_content, which clears Content-*
    return mail


def _smtp_reply(code: int, reply: bytes | str) -> str:
    said = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"SMTP {code} {said}".strip()


class SmtpTransport:
    """Plain SMTP to a relay (STARTTLS when configured); one connection per run, reopened
    after any error so that a half-finished dialogue never leaks into the next message."""

    name = "smtp"
    channels: tuple[str, ...] | None = ("email",)
    box = MESSAGES

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        c = self.config
        try:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds)
            smtp.ehlo()
            if c.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportDown(f"cannot open SMTP to {c.host}:{c.port}: {exc} "
                                f"(check smtp.host/port in senders.yaml or ORDERCARE_SMTP_HOST/"
                                f"ORDERCARE_SMTP_PORT)") from None
        self._smtp = smtp
        return smtp

    def deliver(self, message: Outgoing) -> None:
        mail = build_email(message, self.config.from_address)
        smtp = self._connection()
        try:
            smtp.send_message(mail, from_addr=self.config.mail_from,
                              to_addrs=[message.to_email or ""])
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            code, reply = next(iter(exc.recipients.values()))
            said = _smtp_reply(code, reply)
            if code == 421:  # the relay closes the channel: nothing can go now
                raise TransportDown(f"the SMTP relay is closing: {said}") from None
            raise DeliveryError(f"{said} (recipient {message.to_email})") from None
        except smtplib.SMTPSenderRefused as exc:
            self.close()
            if exc.smtp_code == 552:  # this message is too big (MAIL FROM ... SIZE=): its own failure
                raise DeliveryError(_smtp_reply(exc.smtp_code, exc.smtp_error)) from None
            # Refused for our own address: no message can go until the sender is put right,
            # so none is charged an attempt (nor ends dead for it).
            raise TransportDown(f"the SMTP relay refuses our sender {exc.sender!r}: "
                                f"{_smtp_reply(exc.smtp_code, exc.smtp_error)} "
                                "(check smtp.from_address or envelope_from in senders.yaml)") from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            if exc.smtp_code == 421:  # the relay closes the channel: nothing can go now
                raise TransportDown(f"the SMTP relay is closing: {_smtp_reply(exc.smtp_code, exc.smtp_error)}"
                                    ) from None
            raise DeliveryError(_smtp_reply(exc.smtp_code, exc.smtp_error)) from None
        except smtplib.SMTPNotSupportedError as exc:  # an address the relay cannot take (non-ASCII)
            self.close()
            raise DeliveryError(f"the SMTP relay cannot take this message: {exc} "
                                f"(recipient {message.to_email})") from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            why = str(exc) or type(exc).__name__
            raise DeliveryError(f"SMTP connection lost during delivery: {why}") from None


# ---- webhook -----------------------------------------------------------------------------------

def sign(secret: bytes, body: bytes) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """What a consumer does: recompute over the raw bytes and compare in constant time."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def webhook_body(message: Outgoing) -> bytes:
    """The JSON a consumer receives: the message as ``ordercare messages --json`` shows it,
    plus its address and thread. Deterministic, so a repeat is byte-identical."""
    data: dict[str, Any] = {
        "id": message.message_id, "message_id_header": message.header_id,
        "customer_id": message.customer_id, "order_id": message.order_id,
        "case_id": message.case_id, "kind": message.kind, "channel": message.channel,
        "lang": message.lang, "at": message.at, "subject": message.subject, "text": message.text,
        "to": {"email": message.to_email, "name": message.to_name},
        "in_reply_to": message.in_reply_to, "references": list(message.references)}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class _Connectionless:
    """A transport that holds no connection between messages (each POST stands alone)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None


class WebhookTransport(_Connectionless):
    """HTTP POST of each message as JSON, signed with HMAC-SHA256 over the raw body."""

    name = "webhook"
    channels: tuple[str, ...] | None = None
    box = MESSAGES

    def __init__(self, config: WebhookConfig, secret: bytes) -> None:
        self.config = config
        self.secret = secret

    def deliver(self, message: Outgoing) -> None:
        body = webhook_body(message)
        post_signed(self.config.url, body, self.secret, message.message_id, self.config.timeout_seconds,
                    {"X-Ordercare-Message-Id": message.header_id},
                    down_hint="check webhook.url in senders.yaml or ORDERCARE_WEBHOOK_URL")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not followed: the 3xx answer fails the delivery."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_UNREDIRECTED = urllib.request.build_opener(_NoRedirect)


def _pinned(connection: type[http.client.HTTPConnection], address: str) -> Callable[..., http.client.HTTPConnection]:
    """``connection`` that connects to ``address`` whatever its host resolves to by then (the
    host still names the server: the ``Host`` header, TLS's server name and certificate)."""
    def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
        conn = connection(host, **kwargs)
        conn._create_connection = (  # type: ignore[attr-defined]
            lambda where, *args, **kw: socket.create_connection((address, where[1]), *args, **kw))
        return conn
    return make


class _PinnedHTTP(urllib.request.HTTPHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_pinned(http.client.HTTPConnection, self.address), req)


class _PinnedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_pinned(http.client.HTTPSConnection, self.address), req,
                            context=self._context)  # type: ignore[attr-defined]


def _opener(outsider: bool, pin: str | None) -> Callable[..., Any]:
    if pin is not None:
        return urllib.request.build_opener(_NoRedirect, _PinnedHTTP(pin), _PinnedHTTPS(pin)).open
    return _UNREDIRECTED.open if outsider else urllib.request.urlopen


def post_signed(url: str, body: bytes, secret: bytes, key: str, timeout: float,
                headers: Mapping[str, str] | None = None, down_hint: str | None = None,
                outsider: bool = False, pin: str | None = None) -> None:
    """POST ``body`` as JSON signed with ``secret``, ``Idempotency-Key: key``; return once the
    receiver answered 2xx. Unreachable: ``TransportDown`` when ``down_hint`` is given (one
    endpoint for everything: nothing else can go), else ``DeliveryError`` (one receiver among
    many is down: it is retried, the others go on). ``outsider``: a URL someone outside chose
    (a seller's): a redirect is not followed (it could lead inside our network). ``pin``: the
    address to connect to, checked already (``sender_config.public_address``); no redirect
    is followed either."""
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: sign(secret, body),
        "Idempotency-Key": key, "User-Agent": "ordercare-sender", **(headers or {})})
    try:
        with _opener(outsider, pin)(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} {exc.reason} from {url}") from None
    except urllib.error.URLError as exc:
        if down_hint is not None and isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
            raise TransportDown(f"cannot reach the webhook {url}: {exc.reason} ({down_hint})") from None
        raise DeliveryError(f"webhook {url}: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise DeliveryError(f"webhook {url}: {exc or type(exc).__name__}") from None
    except http.client.HTTPException as exc:  # the receiver answered something that is not HTTP
        raise DeliveryError(f"webhook {url}: the answer is not HTTP ({type(exc).__name__}: {exc})") from None
    except ValueError as exc:  # a URL urllib cannot use (a seller registers its own)
        raise DeliveryError(f"webhook {url}: {exc}") from None


class SellerWebhookTransport(_Connectionless):
    """Each seller's notices POSTed to the webhook the seller registered, signed with
    HMAC-SHA256 keyed by the seller's own API token (``sellers/keys.py``). One seller's
    endpoint being down delays only that seller's notices (retried with backoff)."""

    name = "seller-webhook"
    channels: tuple[str, ...] | None = None
    box = SELLER_NOTICES

    def __init__(self, keys: SellerKeys, timeout_seconds: float, private_ok: bool = False) -> None:
        self.keys = keys
        self.timeout_seconds = timeout_seconds
        self.private_ok = private_ok  # (``ORDERCARE_SELLER_WEBHOOK_PRIVATE=allow``: a test bench)

    def deliver(self, notice: OutgoingNotice) -> None:
        pin = None
        if not self.private_ok:
            try:  # checked at each delivery: a name may come to resolve inside since it was registered
                pin = public_address(notice.url)
            except ValueError as exc:
                raise DeliveryError(f"webhook {notice.url}: not delivered, {exc}") from None
        post_signed(notice.url, notice.body, self.keys.token(notice.seller_id).encode(), notice.key,
                    self.timeout_seconds, {"X-Ordercare-Seller": notice.seller_id}, outsider=True, pin=pin)


class SellerEmailTransport(SmtpTransport):
    """The notices of sellers with no webhook, e-mailed to the address they registered
    (``seller.registered`` ``email``) through the same SMTP relay as the customers' mail."""

    name = "seller-email"
    channels: tuple[str, ...] | None = None
    box = SELLER_MAILS


# ---- choosing one --------------------------------------------------------------------------------

def make_transport(name: str, config: SenderConfig,
                   env: Mapping[str, str] | None = None) -> Transport:
    """The transport called ``name`` (one of ``TRANSPORTS``), configured from ``config``."""
    if name == "smtp":
        return SmtpTransport(config.smtp)
    if name == "webhook":
        return WebhookTransport(config.webhook, config.webhook.secret(env))
    if name == "seller-webhook":
        keys = SellerKeys.from_env(env)
        if keys is None:
            raise RulesError(f"--transport seller-webhook signs each notice with the seller's token: set {SECRET_ENV}")
        return SellerWebhookTransport(keys, config.webhook.timeout_seconds, private_webhooks_allowed(env))
    if name == "seller-email":
        return SellerEmailTransport(config.smtp)
    raise RulesError(f"--transport {name!r} is not one of {', '.join(TRANSPORTS)}")
