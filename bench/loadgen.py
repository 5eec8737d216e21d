#!/usr/bin/python3
"""Load generator: N SMTP sessions against the relay, C at a time, each
logging in (AUTH PLAIN) and sending M messages of S bytes. Runs W worker
processes so the generator is not the bottleneck on its own; prints one JSON
line with throughput and latency. 127.0.0.1 only."""
import argparse
import asyncio
import base64
import json
import multiprocessing
import re
import ssl
import time

QUEUED = re.compile(rb"^250 2\.0\.0 Queued as ([0-9A-F]{20})\r?\n$")


def message(size):
    line = b"x" * 76 + b"\r\n"
    head = b"From: scanner@contoso.com\r\nTo: dest@example.com\r\nSubject: bench\r\n\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


async def expect(reader, code):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            if not line.startswith(code):
                raise RuntimeError(line.decode(errors="replace").strip())
            return line


async def one_session(args, msg, ctx, latencies, ids):
    implicit = ctx if args.tls == "implicit" else None
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port, limit=1 << 20, ssl=implicit,
                                                   server_hostname="localhost" if implicit else None)

    async def cmd(line, code):
        writer.write(line + b"\r\n")
        await writer.drain()
        await expect(reader, code)

    try:
        await expect(reader, b"220")
        await cmd(b"EHLO loadgen", b"250")
        if args.tls == "starttls":
            await cmd(b"STARTTLS", b"220")
            await writer.start_tls(ctx, server_hostname="localhost")
            await cmd(b"EHLO loadgen", b"250")
        creds = base64.b64encode(b"\0" + args.user.encode() + b"\0" + args.password.encode())
        await cmd(b"AUTH PLAIN " + creds, b"235")
        for _ in range(args.messages):
            t0 = time.perf_counter()
            await cmd(b"MAIL FROM:<scanner@contoso.com>", b"250")
            await cmd(b"RCPT TO:<dest@example.com>", b"250")
            await cmd(b"DATA", b"354")
            writer.write(msg + b".\r\n")
            await writer.drain()
            reply = await expect(reader, b"250")
            if args.expect_queued:
                # delivery: spool: the relay's own acceptance, after fsync.
                m = QUEUED.match(reply)
                if not m:
                    raise RuntimeError("not a spool acceptance: " + reply.decode(errors="replace").strip())
                ids.append(m.group(1).decode())
            latencies.append(time.perf_counter() - t0)
        await cmd(b"QUIT", b"221")
    finally:
        writer.close()


async def worker_main(args, sessions):
    ctx = ssl.create_default_context(cafile=args.ca) if args.ca else None
    msg = message(args.size)
    latencies, errors, ids = [], [], []
    sem = asyncio.Semaphore(args.concurrency)

    async def guarded():
        async with sem:
            try:
                await one_session(args, msg, ctx, latencies, ids)
            except Exception as e:  # counted, first few reported
                errors.append(repr(e))

    await asyncio.gather(*(guarded() for _ in range(sessions)))
    return latencies, errors, ids


def run_workers(worker, args, sessions, workers):
    """`sessions` spread over `workers` processes (one core each is the point:
    one Python process cannot load the relay); their results and the wall time."""
    workers = max(1, min(workers, sessions))
    per = [sessions // workers + (1 if i < sessions % workers else 0) for i in range(workers)]
    q = multiprocessing.Queue()
    t0 = time.perf_counter()
    procs = [multiprocessing.Process(target=worker, args=(args, n, q)) for n in per]
    for pr in procs:
        pr.start()
    results = [q.get() for _ in procs]
    for pr in procs:
        pr.join()
    return results, time.perf_counter() - t0


def worker(args, sessions, out):
    out.put(asyncio.run(worker_main(args, sessions)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="starttls",
                   help="implicit: TLS from the first byte (bench/floor.py's HAProxy)")
    p.add_argument("--ca")
    p.add_argument("--user", default="bench01")
    p.add_argument("--password", default="bench-password")
    p.add_argument("--sessions", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=50, help="per worker")
    p.add_argument("--messages", type=int, default=1)
    p.add_argument("--size", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--expect-queued", action="store_true",
                   help="every DATA reply must be `250 2.0.0 Queued as <ID>` (delivery: spool); prints the ids")
    args = p.parse_args()
    results, seconds = run_workers(worker, args, args.sessions, args.workers)
    lat = sorted(x for r in results for x in r[0])
    errors = [e for r in results for e in r[1]]
    pick = lambda q_: round(lat[min(len(lat) - 1, int(q_ * len(lat)))] * 1000, 1) if lat else None  # noqa: E731
    print(json.dumps({"sessions": args.sessions, "messages": len(lat), "errors": len(errors),
                      "first_errors": errors[:3], "seconds": round(seconds, 2),
                      "sessions_per_s": round(args.sessions / seconds, 1),
                      "mb_per_s": round(len(lat) * args.size / seconds / 1e6, 2),
                      "p50_ms": pick(0.50), "p99_ms": pick(0.99),
                      **({"queued_ids": [i for r in results for i in r[2]]} if args.expect_queued else {})}))


if __name__ == "__main__":
    main()
