#!/usr/bin/python3
"""IMAP FETCH load: N sessions against the relay's implicit-TLS IMAP
listener, C at a time per worker process, each LOGIN, SELECT INBOX, then F
times `UID FETCH 1 BODY[]` (bench/sink.py answers with its one message);
every literal is read whole and its length checked against --size. Prints
one JSON line: bytes of message delivered, seconds, MB/s. 127.0.0.1 only."""
import argparse
import asyncio
import json
import re
import ssl

from loadgen import run_workers  # bench/loadgen.py, beside this file

LITERAL = re.compile(rb"^\* \d+ FETCH \(.*BODY\[\] \{(\d+)\}\r\n$")


async def tagged(reader, tag):
    """Reads up to the tagged reply; it must be OK."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line.startswith(tag + b" "):
            if not line.startswith(tag + b" OK"):
                raise RuntimeError(line.decode(errors="replace").strip())
            return


async def one_session(args, ctx):
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port, ssl=ctx, server_hostname="localhost",
                                                   limit=1 << 20)
    got = 0
    try:
        if not (await reader.readline()).startswith(b"* OK"):
            raise RuntimeError("no greeting")
        writer.write(b'a LOGIN "%s" "%s"\r\n' % (args.user.encode(), args.password.encode()))
        await writer.drain()
        await tagged(reader, b"a")
        writer.write(b"b SELECT INBOX\r\n")
        await writer.drain()
        await tagged(reader, b"b")
        for i in range(args.fetches):
            tag = b"f%d" % i
            writer.write(tag + b" UID FETCH 1 BODY[]\r\n")
            await writer.drain()
            m = LITERAL.match(await reader.readline())
            if not m:
                raise RuntimeError("no FETCH literal")
            n = int(m.group(1))
            if n != args.size:
                raise RuntimeError(f"literal of {n} bytes, expected {args.size}")
            body = await reader.readexactly(n)  # the whole literal, not just its announced size
            if len(body) != n or await reader.readline() != b")\r\n":
                raise RuntimeError("FETCH response cut short")
            await tagged(reader, tag)
            got += n
        writer.write(b"z LOGOUT\r\n")
        await writer.drain()
        await tagged(reader, b"z")
    finally:
        writer.close()
    return got


async def worker_main(args, sessions):
    ctx = ssl.create_default_context(cafile=args.ca)
    sem = asyncio.Semaphore(args.concurrency)
    total, errors = [], []

    async def guarded():
        async with sem:
            try:
                total.append(await one_session(args, ctx))
            except Exception as e:  # counted, first few reported
                errors.append(repr(e))

    await asyncio.gather(*(guarded() for _ in range(sessions)))
    return sum(total), errors


def worker(args, sessions, out):
    out.put(asyncio.run(worker_main(args, sessions)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--user", default="bench01")
    p.add_argument("--password", default="bench-password")
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--fetches", type=int, default=5, help="per session")
    p.add_argument("--size", type=int, default=5_000_000, help="the literal's expected length (the sink's --fetch-size)")
    p.add_argument("--concurrency", type=int, default=1, help="per worker")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    # Several processes: decrypting 5 MB literals in Python is slow enough
    # that one client process would set the pace.
    results, seconds = run_workers(worker, args, args.sessions, args.workers)
    got = sum(r[0] for r in results)
    errors = [e for r in results for e in r[1]]
    print(json.dumps({"sessions": args.sessions, "fetches": got // args.size, "bytes": got, "errors": len(errors),
                      "first_errors": errors[:3], "seconds": round(seconds, 2),
                      "mb_per_s": round(got / seconds / 1e6, 2)}))


if __name__ == "__main__":
    main()
