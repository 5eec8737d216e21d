#!/usr/bin/python3
"""A fast Office 365 look-alike for benchmarks: SMTP with STARTTLS and AUTH
XOAUTH2 (any bearer accepted), messages counted and discarded; IMAP with
implicit TLS, AUTHENTICATE XOAUTH2, SELECT and IDLE (enough to hold idle
sessions). It checks nothing, so the relay and not the peer is what a
benchmark measures. 127.0.0.1 only. Writes its ports to --port-file
("smtp imap") once listening; --smtp-port picks the SMTP port (default: any
free one); --stats-file gets '{"sessions": S, "messages": M, "bytes": B}'
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


async def session(reader, writer, tls_ctx):
    Counters.sessions += 1
    tls = False

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
                while True:
                    chunk = await reader.readline()
                    if not chunk or chunk == b".\r\n":
                        break
                    Counters.bytes += len(chunk)
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


IMAP_CAPS = b"IMAP4rev1 AUTH=XOAUTH2 SASL-IR IDLE"


async def imap_session(reader, writer):
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
            verb = rest.split(b" ", 1)[0].upper()
            if verb == b"AUTHENTICATE":
                await reply(tag + b" OK [CAPABILITY " + IMAP_CAPS + b"] AUTHENTICATE completed.\r\n")
            elif verb == b"SELECT":
                await reply(b"* 0 EXISTS\r\n" + tag + b" OK [READ-WRITE] SELECT completed.\r\n")
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
                                      limit=1 << 20)
    imap = await asyncio.start_server(imap_session, "127.0.0.1", 0, backlog=4096, ssl=ctx)
    ports = [srv.sockets[0].getsockname()[1] for srv in (smtp, imap)]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(" ".join(map(str, ports)))
    os.replace(args.port_file + ".tmp", args.port_file)
    tasks = [smtp.serve_forever(), imap.serve_forever()]
    if args.stats_file:
        tasks.append(write_stats(args.stats_file))
    async with smtp, imap:
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
    asyncio.run(main(p.parse_args()))
