#!/usr/bin/python3
"""Holds N logged-in sessions open and idle, to measure what an idle session
costs the relay. SMTP: EHLO, AUTH PLAIN (the relay is then connected and
logged in upstream). IMAP: LOGIN, then IDLE. Prints "ready <n>" when all are
up, then waits until stdin closes. 127.0.0.1 only."""
import argparse
import asyncio
import base64
import resource
import ssl
import sys


def user(args, i):
    """Session i logs in as bench00, bench01, ... (--users of them) unless --user is given."""
    return args.user or f"bench{i % args.users:02d}"


async def smtp(args, ctx, i):
    r, w = await asyncio.open_connection("127.0.0.1", args.port)

    async def cmd(line):
        if line:
            w.write(line + b"\r\n")
            await w.drain()
        while True:
            reply = await r.readline()
            if not reply:
                raise ConnectionError("closed")
            if reply[3:4] != b"-":
                return reply

    await cmd(None)
    await cmd(b"EHLO idle")
    if args.tls == "starttls":
        await cmd(b"STARTTLS")
        await w.start_tls(ctx, server_hostname="localhost")
        await cmd(b"EHLO idle")
    creds = base64.b64encode(b"\0" + user(args, i).encode() + b"\0" + args.password.encode())
    reply = await cmd(b"AUTH PLAIN " + creds)
    if not reply.startswith(b"235"):
        raise RuntimeError(reply)
    return w


async def imap(args, ctx, i):
    if args.tls == "implicit":
        r, w = await asyncio.open_connection("127.0.0.1", args.port, ssl=ctx, server_hostname="localhost")
    else:
        r, w = await asyncio.open_connection("127.0.0.1", args.port)
    await r.readline()
    if args.tls == "starttls":
        w.write(b"s STARTTLS\r\n")
        await w.drain()
        await r.readline()
        await w.start_tls(ctx, server_hostname="localhost")
    w.write(b'a LOGIN "%s" "%s"\r\n' % (user(args, i).encode(), args.password.encode()))
    await w.drain()
    while True:
        line = await r.readline()
        if not line:
            raise ConnectionError("closed")
        if line.startswith(b"a "):
            if not line.startswith(b"a OK"):
                raise RuntimeError(line)
            break
    w.write(b"b SELECT INBOX\r\n")
    await w.drain()
    while not (await r.readline()).startswith(b"b "):
        pass
    w.write(b"c IDLE\r\n")
    await w.drain()
    if not (await r.readline()).startswith(b"+"):
        raise RuntimeError("IDLE refused")
    return w


async def main(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = ssl.create_default_context(cafile=args.ca) if args.ca else None
    open_one = smtp if args.protocol == "smtp" else imap
    sem = asyncio.Semaphore(100)

    async def guarded(i):
        async with sem:
            return await open_one(args, ctx, i)

    writers = await asyncio.gather(*(guarded(i) for i in range(args.count)))
    print(f"ready {len(writers)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for w in writers:
        w.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--protocol", choices=["smtp", "imap"], default="smtp")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    p.add_argument("--ca")
    p.add_argument("--user", help="one login for all sessions")
    p.add_argument("--users", type=int, default=1, help="else bench00..bench<N-1>, round robin")
    p.add_argument("--password", default="bench-password")
    p.add_argument("--count", type=int, default=1000)
    asyncio.run(main(p.parse_args()))
