"""Sender configuration: how the outbox reaches customers, as data (``senders.yaml``).

Transports, retry policy, batch and lease sizes are operations facts, tuned without touching
Python. The file loads into strict models through ``ordercare.rules`` (unknown keys refused,
errors name the file, the path inside it and the line). A few environment variables override
the file for deployments; a bad value is refused with the variable's name, never guessed.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator

from ordercare.rules import RulesError, StrictModel, load_packaged_rules, load_rules

CONFIG_FILE = "senders.yaml"
ENV_SMTP_HOST = "ORDERCARE_SMTP_HOST"
ENV_SMTP_PORT = "ORDERCARE_SMTP_PORT"
ENV_WEBHOOK_URL = "ORDERCARE_WEBHOOK_URL"
# "allow": sellers' webhooks may point at private and loopback addresses (a test bench or a
# development machine where the sellers' receivers run beside ordercare). Never in production.
ENV_SELLER_PRIVATE = "ORDERCARE_SELLER_WEBHOOK_PRIVATE"


def _check_address(value: str) -> str:
    _name, addr = parseaddr(value)
    if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
        raise ValueError(f"{value!r} is not an e-mail address (e.g. 'Shop <care@shop.example>')")
    return value


def http_url(value: str) -> str:
    """``value`` if it is an http(s) URL with a host (a webhook's address), else ValueError."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def private_webhooks_allowed(env: Mapping[str, str] | None = None) -> bool:
    """Whether the operator let sellers' webhooks point inside (``ENV_SELLER_PRIVATE``)."""
    return (os.environ if env is None else env).get(ENV_SELLER_PRIVATE, "").strip().lower() == "allow"


def public_webhook(url: str, resolve: bool) -> str:
    """``url`` if its host is a public internet address, else ValueError saying why.

    A seller chooses the address ordercare POSTs its notices to: one inside the platform's
    network (loopback, private ranges, link-local such as the cloud metadata service at
    169.254.169.254) would let a seller make our sender call our own services. The host is
    checked as written (IP literals in every form the resolver accepts: ``2130706433`` is
    127.0.0.1), and with ``resolve`` (at each delivery) every address its name resolves to.
    A name that does not resolve passes: the delivery fails on its own."""
    _public_addresses(url, resolve)
    return url


def public_address(url: str) -> str | None:
    """The address to deliver to ``url`` at, once every address its host resolves to is found
    public (else ValueError, as ``public_webhook``); ``None`` if the name does not resolve.
    The delivery connects to this very address (``transports.post_signed``'s ``pin``): a
    name asked again at connection time could answer otherwise (DNS rebinding)."""
    found = _public_addresses(url, resolve=True)
    return str(found[0]) if found else None


def _public_addresses(url: str, resolve: bool) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address] | None:
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise ValueError(f"{url!r} has no host")
    if host == "localhost" or host.endswith(".localhost"):
        raise ValueError(f"{host} is this machine: a webhook must be a public internet address")
    addresses = _literal(host)
    if addresses is None and resolve:
        try:
            found = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                       proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            return None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    for address in addresses or ():
        inner = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        if not (inner or address).is_global or address.is_multicast:
            raise ValueError(f"{host} is a private or reserved address ({address}): "
                             "a webhook must be a public internet address")
    return addresses


def _literal(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address] | None:
    """The address ``host`` spells, if it is one (dotted, IPv6, or a legacy IPv4 form)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        return [ipaddress.IPv4Address(socket.inet_aton(host))]
    except (OSError, ValueError):
        return None


class SmtpConfig(StrictModel):
    """An SMTP relay: plain SMTP on ``port``, upgraded with STARTTLS when asked."""

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    from_address: str
    envelope_from: str | None = None
    starttls: bool = False
    timeout_seconds: float = Field(gt=0, le=300)

    @field_validator("from_address", "envelope_from")
    @classmethod
    def _addresses(cls, value: str | None) -> str | None:
        return None if value is None else _check_address(value)

    @property
    def mail_from(self) -> str:
        """The bare address given in MAIL FROM (bounces go there)."""
        return parseaddr(self.envelope_from or self.from_address)[1]


class WebhookConfig(StrictModel):
    """An HTTP endpoint that receives each message as signed JSON."""

    url: str
    secret_env: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout_seconds: float = Field(gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    def secret(self, env: Mapping[str, str] | None = None) -> bytes:
        """The signing key, read from the environment variable named in the file."""
        value = (os.environ if env is None else env).get(self.secret_env, "")
        if not value:
            raise RulesError(f"webhook: the signing secret is read from ${self.secret_env}, "
                             f"which is not set; export {self.secret_env}=<shared secret>")
        return value.encode()


class RetryPolicy(StrictModel):
    """Exponential backoff: ``base * 2**(attempts-1)`` seconds, at most ``cap``."""

    max_attempts: int = Field(ge=1, le=100)
    base_backoff_seconds: float = Field(gt=0)
    backoff_cap_seconds: float = Field(gt=0)

    @model_validator(mode="after")
    def _cap_covers_base(self) -> RetryPolicy:
        if self.backoff_cap_seconds < self.base_backoff_seconds:
            raise ValueError(f"backoff_cap_seconds ({self.backoff_cap_seconds}) must be at least "
                             f"base_backoff_seconds ({self.base_backoff_seconds})")
        return self


class SenderConfig(StrictModel):
    """The whole ``senders.yaml``."""

    smtp: SmtpConfig
    webhook: WebhookConfig
    retry: RetryPolicy
    batch_size: int = Field(ge=1, le=10_000)
    lease_seconds: float = Field(gt=0)
    message_id_domain: str = Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")

    @model_validator(mode="after")
    def _lease_outlives_a_delivery(self) -> SenderConfig:
        """A claim must outlive one delivery with room to spare, or two senders could both
        hold the same message (the sender stops a batch once half the lease is used)."""
        longest = max(self.smtp.timeout_seconds, self.webhook.timeout_seconds)
        if self.lease_seconds < 2 * longest:
            raise ValueError(f"lease_seconds ({self.lease_seconds}) must be at least twice the "
                             f"longest transport timeout ({longest})")
        return self


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Values from the environment, each checked here so that the error names the variable."""
    smtp: dict[str, Any] = {}
    webhook: dict[str, Any] = {}
    host = env.get(ENV_SMTP_HOST)
    if host is not None:
        if not host.strip() or any(c.isspace() for c in host):
            raise RulesError(f"{ENV_SMTP_HOST}={host!r}: not a host name; expected e.g. "
                             f"smtp.example.com or 127.0.0.1")
        smtp["host"] = host
    port = env.get(ENV_SMTP_PORT)
    if port is not None:
        if not port.strip().isdigit() or not 1 <= int(port) <= 65535:
            raise RulesError(f"{ENV_SMTP_PORT}={port!r}: not a port number; expected an integer "
                             f"from 1 to 65535 (e.g. 25 or 587)")
        smtp["port"] = int(port)
    url = env.get(ENV_WEBHOOK_URL)
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RulesError(f"{ENV_WEBHOOK_URL}={url!r}: not an http(s) URL; expected e.g. "
                             f"https://hooks.example.com/ordercare")
        webhook["url"] = url
    return {"smtp": smtp, "webhook": webhook}


def with_overrides(config: SenderConfig, smtp: Mapping[str, Any] | None = None,
                   webhook: Mapping[str, Any] | None = None, **top: Any) -> SenderConfig:
    """A copy of ``config`` with some values replaced, validated again (for the CLI, tests)."""
    data = config.model_dump()
    data["smtp"].update(smtp or {})
    data["webhook"].update(webhook or {})
    data.update(top)
    try:
        return SenderConfig.model_validate(data)
    except ValidationError as exc:
        raise RulesError("\n".join(
            f"sender setting {'.'.join(str(p) for p in e['loc']) or '(top level)'}="
            f"{e.get('input')!r}: {e['msg']}" for e in exc.errors())) from None


def load_sender_config(path: str | Path | None = None,
                       env: Mapping[str, str] | None = None) -> SenderConfig:
    """The packaged ``senders.yaml`` (or ``path``), then the environment overrides."""
    if path is None:
        config = load_packaged_rules("ordercare.notify", CONFIG_FILE, SenderConfig)
    else:
        config = load_rules(path, SenderConfig)
    over = _env_overrides(os.environ if env is None else env)
    return with_overrides(config, **over) if over["smtp"] or over["webhook"] else config


__all__ = ["RetryPolicy", "SenderConfig", "SmtpConfig", "WebhookConfig",
           "load_sender_config", "with_overrides"]
