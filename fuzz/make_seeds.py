#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from conversations
taken from the transcript tests (tests/unit/protocols/*). Run it after
changing a seed here; the files are committed. Machine targets take a 3-byte
header first (flags, answer seed, split seed: see fuzz/fuzz_common.hpp)."""
import base64
import hashlib
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))


def b64(s: bytes) -> bytes:
    return base64.b64encode(s)


PLAIN = b64(b"\0alice\0pw-alice")
PLAIN_BAD = b64(b"\0alice\0wrong")

# flags for the servers: 1 tls_active, 2 starttls_offered, 4 plaintext auth,
# 8 auth_required (SMTP) / small line limit (IMAP, POP3)
SMTP_TLS = bytes([1 | 8, 0, 0])
SMTP_TLS_SPLIT = bytes([1 | 8, 7, 5])
SMTP_STARTTLS = bytes([2 | 8, 1, 0])
SMTP_NOAUTH = bytes([1, 3, 9])
SMTP_SMALL = bytes([1 | 8 | 16, 2, 3])

SEEDS = {
    "fuzz_smtp_server": [
        SMTP_TLS + b"EHLO dev\r\nAUTH PLAIN " + PLAIN + b"\r\nMAIL FROM:<a@b.test> SIZE=20\r\n"
        b"RCPT TO:<c@d.test>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n",
        SMTP_TLS_SPLIT + b"EHLO dev\r\nAUTH LOGIN\r\n" + b64(b"alice") + b"\r\n" + b64(b"pw-alice") +
        b"\r\nMAIL FROM:<> BODY=8BITMIME\r\nRCPT TO:<c@d.test>\r\nBDAT 5\r\nhelloBDAT 0 LAST\r\nRSET\r\nNOOP\r\nQUIT\r\n",
        SMTP_STARTTLS + b"EHLO dev\r\nSTARTTLS\r\nEHLO dev\r\nAUTH PLAIN\r\n" + PLAIN + b"\r\nQUIT\r\n",
        SMTP_STARTTLS + b"EHLO dev\r\nSTARTTLS\r\nMAIL FROM:<evil@x>\r\n",
        SMTP_NOAUTH + b"HELO dev\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\nbare\nlf\n.\nQUIT\r\n",
        SMTP_TLS + b"EHLO dev\r\nAUTH PLAIN " + PLAIN_BAD + b"\r\nAUTH LOGIN\r\n*\r\nAUTH PLAIN !!!!\r\nAUTH CRAM-MD5\r\nAUTH\r\nVRFY x\r\nEXPN y\r\nHELP\r\n",
        SMTP_SMALL + b"EHLO dev\r\nAUTH PLAIN " + PLAIN + b"\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n" + b"x" * 400 + b"\r\n.\r\n",
        SMTP_NOAUTH + b"EHLO dev\r\nMAIL FROM:<a@b> SMTPUTF8\r\nRCPT TO:<\xc3\xa9@d>\r\nDATA\r\nA\r\r\n.\r\rB\r\n.\r\n",
        bytes([1 | 8 | 32, 0, 0]) + b"EHLO dev\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\npartial",
    ],
    "fuzz_smtp_client": [
        bytes([0, 0, 0]) + b"220 hi ESMTP\r\n250-mx.test\r\n250-STARTTLS\r\n250 SIZE 1000\r\n220 go ahead\r\n"
        b"250-mx.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-8BITMIME\r\n250 AUTH LOGIN XOAUTH2\r\n235 2.7.0 ok\r\n"
        b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n250 2.6.0 queued\r\n221 bye\r\n",
        bytes([1, 2, 3]) + b"220 hi\r\n250-x\r\n250 AUTH XOAUTH2\r\n235 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n",
        bytes([1 | 2, 5, 0]) + b"220 hi\r\n250-x\r\n250 AUTH XOAUTH2\r\n334 \r\n334 eyJzdGF0dXMiOiI0MDAifQ==\r\n535 5.7.3 no\r\n",
        bytes([0, 0, 9]) + b"554 go away\r\n",
        bytes([0, 0, 0]) + b"220 hi\r\n250 no tls here\r\n",
        bytes([1, 4, 2]) + b"220-multi\r\n220 line\r\n250 x\r\n",
        bytes([1, 6, 1]) + b"220 hi\r\n250-x\r\n250 AUTH XOAUTH2\r\n235 ok\r\n421 4.3.2 shutting down\r\n250 ok\r\n",
    ],
    "fuzz_imap_server": [
        bytes([1, 0, 0]) + b"a CAPABILITY\r\nb noop\r\nc ID (\"name\" \"x\")\r\na1 LOGIN alice pw-alice\r\nd SELECT INBOX\r\n",
        bytes([1, 1, 3]) + b"a1 LOGIN \"al ice\" \"p\\\"w\\\\x\"\r\na1 LOGIN {5}\r\nalice {8}\r\npw-alice\r\n",
        bytes([1, 2, 1]) + b"a1 LOGIN {5+}\r\nalice {3+}\r\np w\r\na2 AUTHENTICATE PLAIN " + PLAIN + b"\r\n",
        bytes([1, 3, 0]) + b"a1 authenticate plain\r\n" + PLAIN + b"\r\na2 AUTHENTICATE PLAIN\r\n*\r\n"
        b"a3 AUTHENTICATE PLAIN =\r\na4 AUTHENTICATE PLAIN !!!\r\na5 AUTHENTICATE CRAM-MD5\r\n",
        bytes([2, 0, 0]) + b"a CAPABILITY\r\na STARTTLS\r\nb LOGIN alice pw-alice\r\n",
        bytes([0, 0, 5]) + b"a1 LOGIN alice pw-alice\r\na2 LOGOUT\r\n",
        bytes([1 | 8 | 16, 0, 7]) + b"a1 LOGIN {100}\r\n" + b"x" * 100 + b" y\r\n" + b"z" * 80 + b"\r\n",
        bytes([1 | 32, 0, 0]) + b"a1 LOGIN alice\r\n",
    ],
    "fuzz_pop3_server": [
        bytes([1, 0, 0]) + b"CAPA\r\ncapa\r\nAUTH\r\nUSER alice\r\nPASS pw-alice\r\nSTAT\r\n",
        bytes([1, 1, 2]) + b"USER alice\r\nPASS pw with spaces \xc3\xa9\r\nPASS x\r\nUSER\r\n",
        bytes([1, 2, 0]) + b"AUTH PLAIN " + PLAIN + b"\r\nLIST\r\n",
        bytes([1, 3, 1]) + b"auth plain\r\n" + PLAIN + b"\r\nAUTH PLAIN\r\n*\r\nAUTH CRAM-MD5\r\nAUTH PLAIN !!\r\n",
        bytes([2, 0, 0]) + b"CAPA\r\nSTLS\r\nUSER alice\r\n",
        bytes([0, 0, 0]) + b"USER alice\r\nPASS pw-alice\r\nQUIT\r\n",
        bytes([1 | 8, 0, 3]) + b"USER " + b"a" * 100 + b"\r\nQUIT\r\n",
    ],
    "fuzz_imap_client": [
        bytes([0, 0, 0]) + b"* OK The Microsoft Exchange IMAP4 service is ready.\r\n"
        b"* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+\r\n"
        b"xr1 OK CAPABILITY completed.\r\nxr2 OK AUTHENTICATE completed.\r\n"
        b"* CAPABILITY IMAP4 IMAP4rev1 IDLE MOVE\r\nxr3 OK CAPABILITY completed.\r\n* 3 EXISTS\r\n",
        bytes([0, 0, 3]) + b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2] Dovecot ready.\r\n"
        b"xr2 OK [CAPABILITY IMAP4rev1 IDLE MOVE COMPRESS=DEFLATE] Logged in\r\n",
        bytes([1, 0, 1]) + b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] hi\r\n+ \r\nxr2 OK [CAPABILITY IMAP4rev1] done\r\n",
        bytes([1, 0, 0]) + b"* OK hi\r\n* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\nxr1 OK done\r\n"
        b"+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIn0=\r\nxr2 NO AUTHENTICATE failed.\r\n",
        bytes([1, 0, 0]) + b"* BYE go away\r\n",
        bytes([1, 0, 2]) + b"* OK hi\r\n* CAPABILITY IMAP4rev1\r\nxr1 OK done\r\n",
        bytes([1, 0, 0]) + b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] hi\r\nxr1 NO [UNAVAILABLE] busy\r\n",
    ],
    "fuzz_pop3_client": [
        bytes([0, 0, 0]) + b"+OK The Microsoft Exchange POP3 service is ready.\r\n+OK\r\nTOP\r\nUIDL\r\nSASL PLAIN XOAUTH2\r\nUSER\r\n.\r\n"
        b"+ \r\n+OK User successfully authenticated.\r\n",
        bytes([1, 0, 2]) + b"+OK hi\r\n-ERR unknown command\r\n+\r\n+OK in\r\n",
        bytes([1, 0, 1]) + b"+OK hi\r\n+OK\r\nSASL XOAUTH2\r\n.\r\n+ \r\n+ eyJzdGF0dXMiOiI0MDAifQ==\r\n"
        b"-ERR Authentication failure: unknown user name or bad password.\r\n",
        bytes([1, 0, 0]) + b"+OK hi\r\n+OK\r\nSASL PLAIN\r\nUSER\r\n.\r\n",
        bytes([1, 0, 0]) + b"-ERR go away\r\n",
        bytes([1, 0, 3]) + b"+OK hi\r\n+OK\r\nSASL XOAUTH2\r\n.\r\n+ \r\n-ERR [IN-USE] busy\r\n",
    ],
    "fuzz_dot_stuffing": [
        b"\x01Subject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n",
        b"\x02Subject: x\n\nline\r\n..dot\nlast\n.\nQUIT",
        b"\x03.\r\n",
        b"\x04a\r\n.\r\nNEXT",
        b"\x05A\r\r\n.\r\rB\r\n.\r\n",
        b"\x06\r\n.\r\n\r\n.\r\n",
        b"\x07.start\r\n.\r.\n..\r\n",
    ],
    "fuzz_from_header": [
        b"\x01\x03From: Printer <printer@example.com>\r\nTo: x@y\r\nSubject: s\r\n\r\nFrom: body\r\n",
        b"\x03\x05From: scanner@lan.local\r\nSubject: s\r\n\r\nbody\r\n",
        b"\x01\x07From: \"Big, Boss\" <ceo@x.test>,\r\n <printer@example.com>\r\nReply-To: r@x\r\n\r\n",
        b"\x00\x09from:\tone@allowed.example\r\nFROM: two@x\r\n\r\n",
        b"\x00\x01From: (printer@example.com) evil@x\r\n\r\nb",
        b"\x00\x02From: Printer <printer@example.com>\r\nTo: x@y\r\n\r\nbody\r\n",
        b"\x04\x03From : a@allowed.example\r\nX: " + b"y" * 200 + b"\r\n\r\n",
        b"\x00\x05Group: a@b;\r\nFrom: undisclosed: a@allowed.example, b@x;\r\n\r\n",
        b"\x02\x02Subject: no from\r\n\r\n",
        b"\x01\x04From: a@b\nX-Folded: one\n two\n\nbody\n",
    ],
    "fuzz_http_request": [
        b"\x01GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"\x02HEAD /readyz?x=1 HTTP/1.0\r\n\r\n",
        b"\x03GET /blocks HTTP/1.1\nHost: x\n\n",
        b"\x04POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        b"\x05GET  /x HTTP/1.1\r\n\r\n",
        b"\x06get /healthz HTTP/2\r\n\r\n",
    ],
    "fuzz_base64": [
        PLAIN, b"QQ==", b"QR==", b"YWJj", b"_-8", b"dXNlcj1ib3hAZXhhbXBsZS5jb20BYXV0aD1CZWFyZXIgdG9rAQE=", b"=", b"A===",
    ],
    "fuzz_protocol_sniff": [
        bytes([0, 0, 0]) + b"EHLO printer\r\nQUIT\r\n",
        bytes([5, 0, 3]) + b"a1 LOGIN user secret\r\n",
        bytes([6, 0, 7]) + b"USER scanner\r\nPASS secret\r\n",
        bytes([4, 0, 1]) + b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        bytes([1, 0, 9]) + b"A0001 capability\r\n",
    ],
    # Byte 0 flag 1: also build a CONNECT request from the first line (host)
    # and the next bytes (credentials).
    "fuzz_http_connect": [
        bytes([0, 0, 0]) + b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n",
        bytes([0, 0, 3]) + b"HTTP/1.1 200 Connection established\r\n\r\n220 mx.test ESMTP\r\n",
        bytes([0, 0, 1]) + b"HTTP/1.0 403 Access violation\r\nServer: tinyproxy/1.11.1\r\nContent-Type: text/html\r\n\r\n<html>",
        bytes([0, 0, 2]) + b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n\r\n",
        bytes([0, 0, 5]) + b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n* OK IMAP4\r\n",
        bytes([0, 0, 7]) + b"HTTP/1.0 200 OK\nVia: 1.1 squid\n\n+OK POP3\r\n",
        bytes([0, 0, 0]) + b"220 smtp.test ESMTP\r\n",
        bytes([1, 0, 4]) + b"smtp.office365.com\nrelay:s3cret\nHTTP/1.1 502 Bad Gateway\r\n",
        bytes([1, 0, 0]) + b"2001:db8::1\n",
    ],
    "fuzz_config": [],  # filled from conf/relay.example.yaml and tests below
    "fuzz_token_response": [
        b"\x00{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,\"access_token\":\"eyJ0eXAi.x.y\"}",
        b"\x00{\"token_type\":\"Bearer\",\"expires_in\":\"3599\",\"access_token\":\"abc\"}",
        b"\x00{\"expires_in\":9223372036854775807,\"access_token\":\"abc\"}",
        b"\x04{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\","
        b"\"error_codes\":[7000215],\"timestamp\":\"2026-01-01 00:00:00Z\",\"trace_id\":\"t\",\"correlation_id\":\"c\"}",
        b"\x05{\"error\":\"unauthorized_client\",\"error_codes\":[700016,50034]}",
        b"\x07{\"error\":\"temporarily_unavailable\"}",
        b"\x08<html>Service Unavailable</html>",
        b"\x00[1,2,3]",
    ],
}


def config_seeds():
    seeds = []
    with open(os.path.join(HERE, "..", "conf", "relay.example.yaml"), "rb") as f:
        seeds.append(f.read())
    seeds.append(b"""tenants:
  contoso:
    tenant_id: 00000000-0000-0000-0000-000000000001
    client_id: 00000000-0000-0000-0000-000000000002
    client_secret: {env: XR_FUZZ_UNSET}
listeners:
  - {protocol: smtp, listen: "127.0.0.1:2525", tls: none, proxy_protocol: true, proxy_from: ["10.0.0.5/32"]}
users:
  printer:
    password_hash: "$y$j9T$abc$def"
    tenant: contoso
    mailbox: box@contoso.example
    senders: [box@contoso.example, "*@contoso.example"]
    rewrite_sender: {from_header: true, reply_to: false}
    sources: ["10.0.0.0/8", "::1/128"]
no_auth:
  - {sources: ["192.168.1.0/24"], tenant: contoso, mailbox: scan@contoso.example}
limits: {max_message_size: 10M, auth_failure_window: 10m, max_header_size: 1M}
trusted_networks: ["10.0.0.0/8"]
admin: {listen: "127.0.0.1:9187", allow_from: ["127.0.0.0/8"]}
spool: {dir: spool, retry: [1m, 5m, 1h]}
""")
    seeds.append(b"server: {hostname: relay.test, user: nobody}\nlog: {level: debug, format: json}\n")
    seeds.append(b"tenants: [1, 2\n")
    seeds.append(b"a: &x [*x]\n")
    return seeds


def main():
    SEEDS["fuzz_config"] = config_seeds()
    root = os.path.join(HERE, "corpus")
    for target, seeds in SEEDS.items():
        d = os.path.join(root, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for s in seeds:
            name = hashlib.sha1(s).hexdigest()[:16]
            with open(os.path.join(d, name), "wb") as f:
                f.write(s)


if __name__ == "__main__":
    main()
