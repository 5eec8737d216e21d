#!/usr/bin/python3
"""Office 365 stand-in for xoauth2-relay tests: an Entra ID token endpoint
(HTTPS), Exchange Online-like SMTP (STARTTLS), IMAP and POP3 (implicit TLS)
servers that take XOAUTH2, and a control API, all on 127.0.0.1 with
ephemeral ports.

    /usr/bin/python3 tests/standin/standin.py --dir DIR --config APPS.json [--maildir M]

Writes DIR/ports.json once listening. Exits when stdin closes or on
SIGTERM/SIGINT, so it never outlives the test run that started it."""
import argparse
import asyncio
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import apps  # noqa: E402
import control  # noqa: E402
import google_token  # noqa: E402
import graph_endpoint  # noqa: E402
import imap_server  # noqa: E402
import pop3_server  # noqa: E402
from line_session import TlsLineServer  # noqa: E402
import pki  # noqa: E402
import smtp_server  # noqa: E402
import state  # noqa: E402
import token_endpoint  # noqa: E402


def write_ports(directory, ports):
    # Atomic: a waiting test either sees no file or the complete one.
    path = os.path.join(directory, "ports.json")
    with open(path + ".tmp", "w") as f:
        json.dump(ports, f)
    os.replace(path + ".tmp", path)


def watch_stdin(loop, stop):
    """Stops the stand-in when stdin reaches EOF (the parent closed it or died)."""
    def run():
        # os.read, not sys.stdin: a daemon thread blocked inside a buffered
        # reader holds its lock and makes interpreter shutdown abort.
        try:
            while os.read(0, 4096):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(stop.set)
    threading.Thread(target=run, name="stdin", daemon=True).start()


async def main(args):
    os.makedirs(args.dir, exist_ok=True)
    if args.maildir:
        os.makedirs(args.maildir, exist_ok=True)
    signing_key = pki.ensure(args.dir)
    cert = os.path.join(args.dir, pki.SERVER_CERT)
    key = os.path.join(args.dir, pki.SERVER_KEY)
    registry = apps.Registry(args.config)
    st = state.State()
    issuer = token_endpoint.TokenIssuer(signing_key)

    token = token_endpoint.TokenServer(st, registry, issuer, cert, key)
    ctl = control.ControlServer(st, registry)
    smtp = smtp_server.SmtpServer(st, registry, issuer, cert, key, maildir=args.maildir)
    imap = TlsLineServer(imap_server.Session, st, registry, issuer, smtp.tls_context)
    pop3 = TlsLineServer(pop3_server.Session, st, registry, issuer, smtp.tls_context)
    graph = graph_endpoint.GraphServer(st, registry, issuer, cert, key, maildir=args.maildir)
    google = google_token.GoogleTokenServer(st, registry, issuer, cert, key)  # Google's /token
    ctl.graph = graph.graph  # /graph/faults, /stats "graph", cleared by /reset
    ports = {"token": token.start(), "smtp": await smtp.start(), "imap": await imap.start(),
             "pop3": await pop3.start(), "control": ctl.start(), "graph": graph.start(),
             "google_token": google.start()}

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch_stdin(loop, stop)
    write_ports(args.dir, ports)
    print(f"standin: listening {json.dumps(ports)}", file=sys.stderr, flush=True)
    await stop.wait()
    for server in (smtp, imap, pop3):
        server.server.close()
    token.shutdown()
    graph.shutdown()
    google.shutdown()
    ctl.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="certificates, keys and ports.json go here")
    parser.add_argument("--config", required=True, help="app registrations (JSON)")
    parser.add_argument("--maildir", help="also write each accepted message to this directory")
    asyncio.run(main(parser.parse_args()))
