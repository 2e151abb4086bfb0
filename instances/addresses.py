"""Parsing and normalising instance addresses (docs/instance-api.md, "Operations").

An address is ``host``, ``host:port``, ``[ipv6]:port``, ``http(s)://host[:port][/path]`` or
``redis(s)://host[:port]``. The host is lower-cased and IP literals are written in their canonical
form, and a scheme gives its default port, so that ``HTTPS://API.example.com`` and
``api.example.com:443`` are the same instance. ``https`` and ``rediss`` say that the instance speaks
TLS from the first byte (``TLS_SCHEMES``): its probes, and the gateway, talk to it over TLS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import idna

from core.net import IPNetwork, network_containing, parse_ip

DEFAULT_PORTS = {"http": 80, "https": 443, "redis": 6379, "rediss": 6379}
HTTP_SCHEMES = frozenset({"http", "https"})
REDIS_SCHEMES = frozenset({"redis", "rediss"})
TLS_SCHEMES = frozenset({"https", "rediss"})
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HOST_PORT = re.compile(r"^(?P<host>[^:\[\]]+)(?::(?P<port>[^:]*))?$")
_BRACKETED = re.compile(r"^\[(?P<host>[^\]]+)\](?::(?P<port>.*))?$")
# A host every dot-separated part of which is a number as inet_aton reads one (decimal, octal with a
# leading 0, or hexadecimal with 0x): the resolver takes it for an IPv4 address, not a name.
_NUMERIC_HOST = re.compile(r"(?:(?:0x[0-9a-f]*|[0-9]*)\.)*(?:0x[0-9a-f]*|[0-9]+)")
MAX_ADDRESS_LENGTH = 300


def _(message: str) -> str:
    """Marks a message for translation (makemessages) without importing Django: the probes use
    this module. The message is translated where a person reads it (``AddressError.translated``)."""
    return message


class AddressError(ValueError):
    """The address cannot be used; the message says why, in words a person can act on: ``str()``
    in English (the Kato-compatible API's words), ``translated()`` in the active language."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params = message, params

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The message through ``gettext`` (Django's, passed in by whoever shows it)."""
        text = gettext(self.message)
        return text % self.params if self.params else text


@dataclass(frozen=True)
class Address:
    host: str
    port: int | None = None
    scheme: str = ""

    @property
    def is_ip(self) -> bool:
        return parse_ip(self.host) is not None

    def __str__(self) -> str:
        return format_address(self.host, self.port, self.scheme)


def format_address(host: str, port: int | None, scheme: str = "") -> str:
    shown = f"[{host}]" if ":" in host else host
    if scheme:
        default = DEFAULT_PORTS.get(scheme)
        return f"{scheme}://{shown}" if port in (None, default) else f"{scheme}://{shown}:{port}"
    return f"{shown}:{port}" if port else shown


def split_addresses(text: str, *, spaces: bool = True) -> list[str]:
    """Several addresses pasted at once (one a line, or separated by commas, and by spaces unless
    ``spaces`` is False), as the list of what each is; an address itself never contains any of these.
    A one-line input field needs ``spaces``: a browser turns pasted line breaks into spaces there."""
    separators = r"[\s,]+" if spaces else r"\s*[\r\n,]+\s*"
    return [part for part in re.split(separators, text.strip()) if part]


def parse_address(raw: object) -> Address:
    """Parse one address as a person or a script writes it; raises AddressError."""
    if not isinstance(raw, str):
        raise AddressError(_("The address must be a string such as 10.0.0.7 or db.example.com:3306."))
    text = raw.strip()
    if not text:
        raise AddressError(_("The address is empty."))
    if len(text) > MAX_ADDRESS_LENGTH or any(ch.isspace() for ch in text):
        raise AddressError(
            _("%(address)s is not an address: it is too long or contains spaces."), address=_shown(text)
        )
    scheme = ""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text)
    if match:
        scheme, text = match.group(1).lower(), match.group(2)
        if scheme not in DEFAULT_PORTS:
            raise AddressError(
                _(
                    "Only http://, https://, redis:// and rediss:// addresses are supported, not %(scheme)s://."
                ),
                scheme=scheme,
            )
        text = text.split("/", 1)[0]
        if "@" in text:
            raise AddressError(_("An address must not contain a user name or password."))
    host, port_text = _split_host_port(text, raw)
    port = _parse_port(port_text, raw) if port_text is not None else DEFAULT_PORTS.get(scheme)
    return Address(host=_normalise_host(host, raw), port=port, scheme=scheme)


def _split_host_port(text: str, raw: str) -> tuple[str, str | None]:
    if text.startswith("["):
        match = _BRACKETED.match(text)
        if not match:
            raise AddressError(
                _(
                    "%(address)s is not an address: an IPv6 address goes in brackets, as in [2001:db8::7]:3306."
                ),
                address=_shown(raw),
            )
        return match.group("host"), match.group("port")
    if text.count(":") > 1:
        # A bare IPv6 address without a port.
        return text, None
    match = _HOST_PORT.match(text)
    if not match:
        raise AddressError(
            _("%(address)s is not an address such as 10.0.0.7:3306 or db.example.com."), address=_shown(raw)
        )
    return match.group("host"), match.group("port")


def _parse_port(text: str, raw: str) -> int:
    # isdigit() alone accepts ², ① and other digits that int() refuses: only ASCII digits are a port.
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise AddressError(
            _("%(address)s has an invalid port: a port is a number from 1 to 65535."), address=_shown(raw)
        )
    return int(text)


def _normalise_host(host: str, raw: str) -> str:
    host = host.lower().rstrip(".")
    ip = parse_ip(host)
    if ip is not None:
        if ip.version == 6 and ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ip)
    if ":" in host or "%" in host:
        raise AddressError(_("%(address)s is not a valid IPv6 address."), address=_shown(raw))
    if _NUMERIC_HOST.fullmatch(host):
        # The system resolver reads 0xa9fea9fe, 2852039166, 0251.0376.0251.0376 or 169.254.43518
        # as an IPv4 address (inet_aton): only the canonical dotted quad is accepted, so that the
        # policy sees the address the probes would reach.
        raise AddressError(
            _("%(address)s is not a valid IPv4 address: write it as four decimal numbers, such as 10.0.0.7."),
            address=_shown(raw),
        )
    if not host.isascii():
        # An internationalised name (bücher.example) is stored as IDNA (xn--bcher-kva.example),
        # which is what DNS, the probes and the gateway use.
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise AddressError(
                _("%(address)s is not a valid internationalised DNS name."), address=_shown(raw)
            ) from None
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise AddressError(_("%(address)s is not a valid IP address or DNS name."), address=_shown(raw))
    return host


def _shown(raw: str) -> str:
    text = raw if len(raw) <= 60 else raw[:57] + "..."
    return repr(text)


def check_policy(address: Address, denied_networks: Sequence[IPNetwork]) -> None:
    """Refuse an IP literal inside a denied network, or an IPv6 address that carries an IPv4
    address inside one (names are checked again after DNS by the probes)."""
    ip = parse_ip(address.host)
    network = network_containing(ip, denied_networks) if ip is not None else None
    if network is not None:
        raise AddressError(
            _("%(host)s is in a denied network (%(network)s); it cannot be registered."),
            host=address.host,
            network=network,
        )
