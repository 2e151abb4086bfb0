"""Inputs that every door of the console must refuse, shared by the instance API, console API and page tests."""

from __future__ import annotations

# Spellings of the cloud metadata address (169.254.169.254, denied by default) that the system
# resolver or the network would take to it: inet_aton's numeric forms, and IPv6 addresses that
# carry it (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo).
DENIED_SPELLINGS = [
    "0xa9fea9fe",
    "0xA9FEA9FE:80",
    "0xa9.0xfe.0xa9.0xfe",
    "2852039166",
    "0251.0376.0251.0376",
    "169.254.43518",
    "169.16689662",
    "0xa9.254.0251.254",
    "http://0xa9fea9fe/latest/meta-data",
    "[::169.254.169.254]",
    "[::a9fe:a9fe]:80",
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]:80",
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b::169.254.169.254]:80",
    "[64:ff9b:1:a9fe:a9:fe00::]",
    "[2002:a9fe:a9fe::1]",
    "http://[2002:a9fe:a9fe::]:8080",
    # Teredo: server 169.254.169.254, any client.
    "[2001:0:a9fe:a9fe::1]",
]

# Digits that str.isdigit() accepts but that are not ASCII (int() refuses some and reads others).
NON_ASCII_DIGITS = {
    "superscript": "\u00b2",
    "circled": "\u2460",
    "arabic-indic": "\u0663\u0663\u0660\u0666",
    "fullwidth": "\uff13\uff13\uff10\uff16",
    "devanagari": "\u0969",
    "mathematical bold": "\U0001d7d1",
    "subscript": "\u2082",
}
PORT_SPELLINGS = ("10.0.0.2:{}", "[::1]:{}", "http://10.0.0.2:{}", "db.example.com:{}")
NON_ASCII_PORTS = [
    spelling.format(digits) for digits in NON_ASCII_DIGITS.values() for spelling in PORT_SPELLINGS
]
