"""A real OpenLDAP server (Debian's slapd) on loopback for the LDAP sign-in tests: a slapd.conf in
a temporary folder checked with slaptest, users and groups loaded from an LDIF with slapadd, and a
self-signed certificate for StartTLS."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import _absent

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-password-for-tests"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-password-for-tests"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        _absent(f"{name} is not installed (apt-get install slapd ldap-utils)")
    return str(found)


def person(uid: str, password: str, given: str, surname: str) -> str:
    return (
        f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} {surname}\n"
        f"givenName: {given}\nsn: {surname}\nmail: {uid}@example.org\nuserPassword: {password}\n"
    )


def group(name: str, *uids: str) -> str:
    members = "".join(f"member: uid={uid},{PEOPLE}\n" for uid in uids)
    return f"dn: cn={name},{GROUPS}\nobjectClass: groupOfNames\ncn: {name}\n{members}"


@dataclass
class Slapd:
    uri: str
    ca_file: str
    folder: Path

    def modify(self, ldif: str) -> None:
        """Change the directory as its administrator would (ldapmodify)."""
        subprocess.run(
            [_binary("ldapmodify"), "-x", "-ZZ", "-H", self.uri, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
            input=ldif,
            env={**os.environ, "LDAPTLS_CACERT": self.ca_file},
            text=True,
            check=True,
            capture_output=True,
            timeout=30,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_slapd(folder: Path, entries: list[str]) -> Iterator[Slapd]:
    slapd, slapadd, slaptest = _binary("slapd"), _binary("slapadd"), _binary("slaptest")
    openssl = shutil.which("openssl") or _absent("openssl is not installed")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            str(openssl), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    (folder / "db").mkdir()
    includes = "".join(f"include /etc/ldap/schema/{name}.schema\n" for name in SCHEMAS)
    conf = folder / "slapd.conf"
    conf.write_text(
        f"{includes}modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {folder}/slapd.pid\n"
        f"TLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\n"
        # Every operation over TLS: a client that skips StartTLS is refused.
        "security tls=1\n"
        f'database mdb\nmaxsize 10485760\nsuffix "{SUFFIX}"\nrootdn "{ROOT_DN}"\nrootpw {ROOT_PASSWORD}\n'
        f"directory {folder}/db\n"
        "access to attrs=userPassword by self read by anonymous auth by * none\n"
        f'access to * by dn.exact="{READER_DN}" read by self read by * none\n'
    )
    base = (
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n"
        f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: reader\nuserPassword: {READER_PASSWORD}\n\n"
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n"
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n\n"
    )
    (folder / "data.ldif").write_text(base + "\n".join(entries))
    subprocess.run([slaptest, "-u", "-f", str(conf)], check=True, capture_output=True, timeout=60)
    subprocess.run(
        [slapadd, "-f", str(conf), "-l", str(folder / "data.ldif")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = _free_port()
    uri = f"ldap://127.0.0.1:{port}"
    log = (folder / "slapd.log").open("w")
    process = subprocess.Popen([slapd, "-d", "0", "-f", str(conf), "-h", f"{uri}/"], stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"slapd stopped: {(folder / 'slapd.log').read_text()}") from None
                time.sleep(0.05)
        yield Slapd(uri=uri, ca_file=str(cert), folder=folder)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
