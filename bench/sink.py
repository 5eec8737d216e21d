#!/usr/bin/python3
"""A fast Office 365 look-alike for benchmarks: SMTP with STARTTLS and AUTH
XOAUTH2 (any bearer accepted), messages counted and discarded; IMAP with
implicit TLS, AUTHENTICATE XOAUTH2, SELECT, IDLE (enough to hold idle
sessions) and FETCH / UID FETCH answered with its one message of
--fetch-size bytes whatever was asked (the splice's bulk path). It checks
nothing, so the relay and not the peer is what a benchmark measures.
127.0.0.1 only. Writes its ports to --port-file ("smtp imap smtps", the last
an implicit-TLS SMTP port) once
listening; --smtp-port picks the SMTP port (default: any free one);
--stats-file gets '{"sessions": S, "messages": M, "bytes": B}'
whenever the counters change (the spool benchmark counts deliveries)."""
import argparse
import asyncio
import json
import os
import resource
import ssl

EHLO_PLAIN = b"250-sink\r\n250-STARTTLS\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"
EHLO_TLS = (b"250-sink\r\n250-AUTH XOAUTH2\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
            b"250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n")


class Counters:
    sessions = 0
    messages = 0
    bytes = 0


async def session(reader, writer, tls_ctx, tls=False):
    Counters.sessions += 1

    async def reply(data):
        writer.write(data)
        await writer.drain()

    try:
        await reply(b"220 sink ready\r\n")
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                await reply(EHLO_TLS if tls else EHLO_PLAIN)
            elif verb == b"STAR":
                await reply(b"220 2.0.0 Ready to start TLS\r\n")
                await writer.start_tls(tls_ctx)
                tls = True
            elif verb == b"AUTH":
                if line.strip().upper() == b"AUTH XOAUTH2":
                    await reply(b"334 \r\n")
                    await reader.readline()
                await reply(b"235 2.7.0 Authentication successful\r\n")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                await reply(b"250 2.0.0 OK\r\n")
            elif verb == b"DATA":
                await reply(b"354 Start mail input\r\n")
                Counters.bytes += await read_data(reader)
                Counters.messages += 1
                await reply(b"250 2.0.0 OK queued\r\n")
            elif verb == b"BDAT":
                parts = line.split()
                size = int(parts[1])
                await reader.readexactly(size)
                Counters.bytes += size
                if len(parts) > 2:
                    Counters.messages += 1
                    await reply(b"250 2.0.0 OK queued\r\n")
                else:
                    await reply(b"250 2.0.0 chunk\r\n")
            elif verb == b"QUIT":
                await reply(b"221 2.0.0 Bye\r\n")
                return
            else:
                await reply(b"500 5.5.1 Unknown\r\n")
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def read_data(reader):
    """Reads DATA up to its end line; returns the bytes before it. Whole
    stretches up to the next ".\r\n" at a time: a readline per line made the
    sink's Python, not the relay, set the pace of the 5 MB scenarios. The
    input is dot-stuffed, so a ".\r\n" is the end line exactly when it starts
    the data or follows a "\n"."""
    n = 0
    while True:
        chunk = await reader.readuntil(b".\r\n")
        if len(chunk) == 3 or chunk[-4:-3] == b"\n":
            return n + len(chunk) - 3
        n += len(chunk)


IMAP_CAPS = b"IMAP4rev1 AUTH=XOAUTH2 SASL-IR IDLE"


def fetch_reply(size):
    """The untagged FETCH response carrying the mailbox's one message: built
    once, so serving it costs the sink one write of prepared bytes."""
    line = b"x" * 76 + b"\r\n"
    head = b"From: scanner@contoso.com\r\nTo: dest@example.com\r\nSubject: fetch bench\r\n\r\n"
    body = head + line * (size // len(line) + 1)
    body = body[:size - 2] + b"\r\n"
    return b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(body) + body + b")\r\n"


async def imap_session(reader, writer, fetch):
    async def reply(data):
        writer.write(data)
        await writer.drain()

    try:
        await reply(b"* OK [CAPABILITY " + IMAP_CAPS + b"] sink ready\r\n")
        while True:
            line = await reader.readline()
            if not line:
                return
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            words = rest.split(b" ", 2)
            verb = words[0].upper()
            if verb == b"UID" and len(words) > 1:
                verb = words[1].upper()
            if verb == b"AUTHENTICATE":
                await reply(tag + b" OK [CAPABILITY " + IMAP_CAPS + b"] AUTHENTICATE completed.\r\n")
            elif verb == b"SELECT":
                await reply(b"* 1 EXISTS\r\n" + tag + b" OK [READ-WRITE] SELECT completed.\r\n")
            elif verb == b"FETCH":
                writer.write(fetch)  # not concatenated: no 5 MB copy per FETCH
                await reply(tag + b" OK FETCH completed.\r\n")
            elif verb == b"IDLE":
                await reply(b"+ IDLE accepted, awaiting DONE command.\r\n")
                await reader.readline()
                await reply(tag + b" OK IDLE completed.\r\n")
            elif verb == b"LOGOUT":
                await reply(b"* BYE bye\r\n" + tag + b" OK LOGOUT completed.\r\n")
                return
            else:
                await reply(tag + b" OK done\r\n")
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    smtp = await asyncio.start_server(lambda r, w: session(r, w, ctx), "127.0.0.1", args.smtp_port, backlog=4096,
                                      limit=64 << 20)  # readuntil() needs a whole message's room
    fetch = fetch_reply(args.fetch_size)
    imap = await asyncio.start_server(lambda r, w: imap_session(r, w, fetch), "127.0.0.1", 0, backlog=4096, ssl=ctx)
    # Implicit-TLS SMTP: what HAProxy, which cannot STARTTLS, relays to in
    # bench/floor.py.
    smtps = await asyncio.start_server(lambda r, w: session(r, w, ctx, tls=True), "127.0.0.1", 0, backlog=4096,
                                       limit=64 << 20, ssl=ctx)
    ports = [srv.sockets[0].getsockname()[1] for srv in (smtp, imap, smtps)]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(" ".join(map(str, ports)))
    os.replace(args.port_file + ".tmp", args.port_file)
    tasks = [smtp.serve_forever(), imap.serve_forever(), smtps.serve_forever()]
    if args.stats_file:
        tasks.append(write_stats(args.stats_file))
    async with smtp, imap, smtps:
        await asyncio.gather(*tasks)


async def write_stats(path):
    last = None
    while True:
        now = (Counters.sessions, Counters.messages, Counters.bytes)
        if now != last:
            with open(path + ".tmp", "w") as f:
                json.dump(dict(zip(("sessions", "messages", "bytes"), now)), f)
            os.replace(path + ".tmp", path)
            last = now
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--smtp-port", type=int, default=0)
    p.add_argument("--stats-file")
    p.add_argument("--fetch-size", type=int, default=5_000_000, help="bytes of the message FETCH returns")
    asyncio.run(main(p.parse_args()))
