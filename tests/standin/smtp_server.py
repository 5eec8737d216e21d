"""An Exchange Online-like SMTP submission server (smtp.office365.com:587):
STARTTLS, AUTH XOAUTH2 with tokens from token_endpoint.py, SendAs checks,
DATA and BDAT. Replies use Exchange's codes and texts, so the relay is tested
against what it will really hear. Knobs (state.py) inject Exchange's failures."""
import asyncio
import email.utils
import os
import re
import ssl
import sys

import apps
import xoauth2

NAME = "STANDIN01.outlook.standin.test"
MAX_SIZE = 37748736          # Exchange Online's advertised SIZE (36 MB)
MAX_COMMAND = 32 * 1024      # long enough for a one-line AUTH XOAUTH2 with a big token
STREAM_LIMIT = 1024 * 1024   # longest message line we accept before giving up
IDLE_TIMEOUT = 600           # an abandoned client never pins a session forever
FAIL_535 = "535 5.7.3 Authentication unsuccessful [standin]"
DISABLED_535 = ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
                "for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. "
                "[standin]")
QUOTA_554 = ("554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to "
             "process message due to a permanent exception with message [BeginDiagnosticData]Cannot "
             "submit message.[EndDiagnosticData]")
ROLE = "SMTP.SendAsApp"
# Gmail's final refusal after its JSON challenge (a Google Workspace mailbox).
GOOGLE_535 = ("535 5.7.8 Username and Password not accepted. For more information, go to",
              "535 5.7.8  https://support.google.com/mail/?p=BadCredentials standin - gsmtp")
ADDR = re.compile(r"^(FROM|TO):\s*<([^<>]*)>(.*)$", re.IGNORECASE)


class Drop(Exception):
    """Close the connection now, without a reply (knob drop_after)."""


BARE_LF = re.compile(rb"(?<!\r)\n")


def header_from(data):
    """The address in the message's From: header, or None (Exchange checks it
    against SendAs like MAIL FROM)."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    value = None
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t"):
            if value is not None:
                value += line
            continue
        if value is not None:
            break
        name, sep, rest = line.partition(":")
        if sep and name.strip().lower() == "from":
            value = rest
    if value is None:
        return None
    return email.utils.parseaddr(value)[1] or None


def log(msg):
    # One line per refusal helps whoever debugs a failing relay test; never
    # includes tokens or other credentials.
    print(f"standin smtp: {msg}", file=sys.stderr, flush=True)


def ehlo_lines(tls):
    ext = ["SIZE %d" % MAX_SIZE, "PIPELINING", "DSN", "ENHANCEDSTATUSCODES"]
    ext += ["AUTH LOGIN XOAUTH2"] if tls else ["STARTTLS"]
    ext += ["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]
    return [f"{NAME} Hello [127.0.0.1]"] + ext


class Session:
    def __init__(self, server, reader, writer):
        self.srv, self.state = server, server.state
        self.reader, self.writer = reader, writer
        self.tls = False
        self.greeted = False
        self.mailbox = None   # set by a successful AUTH
        self.connection = None  # this connection's number (stats' "connections" after it)
        self.send_as = []
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpts = []
        self.chunks = None    # bytearray while a BDAT transfer is under way
        self.too_big = False

    def drop_point(self, point):
        if self.state.knob("drop_after") == point:
            raise Drop(point)

    async def reply(self, *lines):
        delay = self.state.knob("reply_delay")
        if delay:
            await asyncio.sleep(delay)
        out = "".join(f"{l[:3]}-{l[4:]}\r\n" for l in lines[:-1]) + lines[-1] + "\r\n"
        self.writer.write(out.encode("utf-8"))
        await self.writer.drain()

    async def read_line(self):
        try:
            line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), IDLE_TIMEOUT)
        except asyncio.IncompleteReadError:
            raise ConnectionError("client went away")
        except asyncio.LimitOverrunError:
            await self.reply("500 5.5.2 Line too long")
            raise ConnectionError("line over the stream limit")
        return line

    async def run(self):
        self.connection = self.state.count_smtp("connections")
        try:
            delay = self.state.knob("greeting_delay")
            if delay:
                await asyncio.sleep(delay)
            self.drop_point("greeting")
            date = email.utils.formatdate(usegmt=True)
            await self.reply(f"220 {NAME} Microsoft ESMTP MAIL Service ready at {date}")
            while True:
                line = await self.read_line()
                if len(line) > MAX_COMMAND:
                    await self.reply("500 5.5.2 Line too long")
                    continue
                text = line[:-2].decode("utf-8", "replace")
                verb, _, arg = text.partition(" ")
                handler = getattr(self, "cmd_" + verb.upper(), None) if verb.isalpha() else None
                if handler is None:
                    await self.reply("500 5.3.3 Unrecognized command")
                    continue
                if await handler(arg.strip()) == "quit":
                    return
        except Drop as point:
            log(f"dropping the connection at {point}")
        except (ConnectionError, asyncio.TimeoutError, ssl.SSLError, OSError):
            pass
        finally:
            if self.mailbox:
                self.state.session_close(self.mailbox)
            self.writer.close()

    # connection-level commands ---------------------------------------------
    async def cmd_EHLO(self, arg):
        self.drop_point("ehlo")
        if not arg:
            return await self.reply("501 5.5.4 Invalid domain name")
        self.greeted = True
        self.reset()
        await self.reply(*["250 " + l for l in ehlo_lines(self.tls)])

    async def cmd_HELO(self, arg):
        self.drop_point("ehlo")
        self.greeted = True
        self.reset()
        await self.reply(f"250 {NAME} Hello [127.0.0.1]")

    async def cmd_STARTTLS(self, arg):
        if self.tls:
            return await self.reply("503 5.5.1 Bad sequence of commands")
        await self.reply("220 2.0.0 SMTP server ready")
        # RFC 3207: nothing may follow STARTTLS before the handshake. Bytes
        # already buffered would be a plaintext injection; a relay that does
        # this has a bug, and hanging up makes its test fail loudly.
        if self.reader._buffer:  # noqa: SLF001 - asyncio has no public peek
            log("client pipelined plaintext after STARTTLS; closing")
            raise ConnectionError("pipelined STARTTLS")
        await self.writer.start_tls(self.srv.tls_context)
        self.tls, self.greeted = True, False
        self.reset()

    async def cmd_NOOP(self, arg):
        await self.reply("250 2.0.0 OK")

    async def cmd_RSET(self, arg):
        self.reset()
        await self.reply("250 2.0.0 Resetting")

    async def cmd_QUIT(self, arg):
        await self.reply("221 2.0.0 Service closing transmission channel")
        return "quit"

    # authentication --------------------------------------------------------
    async def cmd_AUTH(self, arg):
        if not self.tls:
            return await self.reply("504 5.7.4 Unrecognized authentication type")
        if not self.greeted:
            return await self.reply("503 5.5.2 Send hello first")
        if self.mailbox:
            return await self.reply("503 5.5.2 Already authenticated")
        mech, _, initial = arg.partition(" ")
        self.drop_point("auth")
        mech = mech.upper()
        if mech == "XOAUTH2":
            response = initial.strip()
            if not response:
                await self.reply("334 ")
                line = await self.read_line()
                if len(line) > MAX_COMMAND:
                    return await self.refuse("500 5.5.2 Line too long", "XOAUTH2 line over 32 KB")
                response = line[:-2].decode("ascii", "replace")
            if response == "*":
                return await self.reply("501 5.0.0 Authentication cancelled")
            return await self.xoauth2(response)
        if mech == "LOGIN":
            # Basic auth is gone at Exchange Online; a relay must never use it.
            await self.reply("334 VXNlcm5hbWU6")
            await self.read_line()
            await self.reply("334 UGFzc3dvcmQ6")
            await self.read_line()
            self.state.count_smtp("auth_failed")
            log("AUTH LOGIN refused (basic auth)")
            return await self.reply("535 5.7.139 Authentication unsuccessful, basic authentication "
                                    "is disabled. [standin]")
        await self.reply("504 5.7.4 Unrecognized authentication type")

    async def refuse(self, reply, why, google=False):
        self.state.count_smtp("auth_failed")
        log(f"AUTH XOAUTH2 refused: {why}")
        if google:
            # Gmail: a 334 with base64 JSON, then 535 5.7.8 after the empty line.
            await self.reply("334 " + xoauth2.GOOGLE_FAIL_CHALLENGE)
            await self.read_line()
            return await self.reply(*GOOGLE_535)
        if reply.startswith("535") and self.state.knob("auth_fail_challenge"):
            # Google's XOAUTH2 failure form: a 334 with base64 JSON; the client
            # must answer with an empty line before it gets the final reply.
            await self.reply("334 " + xoauth2.FAIL_CHALLENGE)
            await self.read_line()
        await self.reply(reply)

    async def xoauth2(self, response):
        st = self.state
        google = xoauth2.is_google(response, self.srv.registry)  # Gmail's texts for its mailboxes
        if st.knob("auth_fail"):
            return await self.refuse(FAIL_535, "knob auth_fail", google)
        if st.knob("smtp_auth_disabled"):
            return await self.refuse(DISABLED_535, "knob smtp_auth_disabled")
        mailbox, send_as, why = xoauth2.check(response, self.srv.issuer, self.srv.registry, ROLE)
        if why:
            return await self.refuse(FAIL_535, why, google)
        if not st.session_open(mailbox, st.knob("max_concurrent_per_mailbox")):
            st.count_smtp("throttled")
            return await self.refuse("432 4.3.2 Concurrent connections limit exceeded.",
                                     f"concurrency limit for {mailbox}")
        self.mailbox, self.send_as = mailbox, send_as
        st.count_smtp("auth_ok")
        await self.reply("235 2.7.0 Accepted" if google else "235 2.7.0 Authentication successful")

    # mail transaction ------------------------------------------------------
    async def cmd_MAIL(self, arg):
        if not self.greeted:
            return await self.reply("503 5.5.2 Send hello first")
        if not self.mailbox:
            return await self.reply("530 5.7.57 Client not authenticated to send mail")
        if self.mail_from is not None:
            return await self.reply("503 5.5.2 Sender already specified")
        m = ADDR.match(arg)
        if not m or m.group(1).upper() != "FROM":
            return await self.reply("501 5.5.4 Invalid arguments")
        self.drop_point("mail")
        sender, params = m.group(2), m.group(3).split()
        for p in params:
            key, _, value = p.partition("=")
            if key.upper() == "SIZE" and value.isdigit() and int(value) > MAX_SIZE:
                return await self.reply("552 5.3.4 Message size exceeds fixed maximum message size")
        if not apps.may_send_as(self.send_as, sender):
            log(f"send-as refused: {sender} from mailbox {self.mailbox}")
            return await self.reply("550 5.7.60 SMTP; Client does not have permissions to send as "
                                    "this sender")
        self.mail_from = sender
        await self.reply("250 2.1.0 Sender OK")

    async def cmd_RCPT(self, arg):
        if self.mail_from is None:
            return await self.reply("503 5.5.2 Need mail command")
        m = ADDR.match(arg)
        if not m or m.group(1).upper() != "TO" or not m.group(2):
            return await self.reply("501 5.5.4 Invalid arguments")
        self.drop_point("rcpt")
        rejects = {k.lower(): v for k, v in (self.state.knob("reject_rcpt") or {}).items()}
        rejection = rejects.get(m.group(2).lower())
        if rejection:
            log(f"RCPT refused by knob reject_rcpt: {rejection['code']}")
            return await self.reply(f"{rejection['code']} {rejection.get('text', '')}".rstrip())
        self.rcpts.append(m.group(2))
        await self.reply("250 2.1.5 Recipient OK")

    async def cmd_DATA(self, arg):
        if not self.rcpts or self.chunks is not None:
            return await self.reply("503 5.5.2 Need rcpt command")
        self.drop_point("data_start")
        await self.reply("354 Start mail input; end with <CRLF>.<CRLF>")
        data, first = bytearray(), True
        while True:
            line = await self.read_line()
            if line == b".\r\n":
                break
            if first:
                first = False
                self.drop_point("data_mid")
            if line.startswith(b"."):
                line = line[1:]  # dot-unstuffing (RFC 5321 4.5.2)
            if len(data) + len(line) > MAX_SIZE:
                self.too_big = True
            elif not self.too_big:
                data += line
        self.drop_point("data_end")
        await self.finish(data)

    async def cmd_BDAT(self, arg):
        parts = arg.split()
        if not (1 <= len(parts) <= 2 and parts[0].isdigit()) or \
                (len(parts) == 2 and parts[1].upper() != "LAST"):
            return await self.reply("501 5.5.4 Invalid arguments")
        size, last = int(parts[0]), len(parts) == 2
        if not self.rcpts:
            # The chunk still follows on the wire; swallow it to stay in sync.
            await self.reader.readexactly(size)
            return await self.reply("503 5.5.2 Need rcpt command")
        if self.chunks is None:
            self.drop_point("data_start")
            self.chunks = bytearray()
        if self.state.knob("drop_after") == "data_mid":
            await self.reader.readexactly(size // 2)
            raise Drop("data_mid")
        chunk = await asyncio.wait_for(self.reader.readexactly(size), IDLE_TIMEOUT)
        if len(self.chunks) + size > MAX_SIZE:
            self.too_big = True
        elif not self.too_big:
            self.chunks += chunk
        if not last:
            return await self.reply(f"250 2.0.0 {size} bytes received")
        self.drop_point("data_end")
        await self.finish(self.chunks)

    async def finish(self, data):
        try:
            if self.too_big:
                return await self.reply("552 5.3.4 Message size exceeds fixed maximum message size")
            if BARE_LF.search(data):
                return await self.reply("550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal; message contains bare "
                                        "linefeeds, which cannot be sent via DATA and receiving system does "
                                        "not support BDAT")
            author = header_from(data)
            if author is not None and not apps.may_send_as(self.send_as, author):
                log(f"send-as refused for From: {author} from mailbox {self.mailbox}")
                return await self.reply("550 5.7.60 SMTP; Client does not have permissions to send as "
                                        "this sender")
            rejection = self.state.knob("reject_data")
            if rejection:
                return await self.reply(f"{rejection['code']} {rejection.get('text', '')}".rstrip())
            mid = self.state.store(self.mailbox, self.mail_from, self.rcpts, data, self.connection)
            if mid is None:
                log(f"submission quota exceeded for {self.mailbox}")
                return await self.reply(QUOTA_554)
            self.srv.save_copy(mid, data)
            await self.reply(f"250 2.0.0 OK <{mid}> [Hostname=standin]")
        finally:
            self.reset()


class SmtpServer:
    def __init__(self, state, registry, issuer, cert, key, maildir=None):
        self.state, self.registry, self.issuer, self.maildir = state, registry, issuer, maildir
        self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls_context.minimum_version = ssl.TLSVersion.TLSv1_2  # as Exchange Online
        self.tls_context.load_cert_chain(cert, key)
        self.server = None

    async def start(self):
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=STREAM_LIMIT)
        return self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader, writer):
        await Session(self, reader, writer).run()

    def save_copy(self, mid, data):
        """With --maildir, each accepted message also lands in a file (for demos)."""
        if not self.maildir:
            return
        name = os.path.join(self.maildir, mid.replace("@", "_") + ".eml")
        with open(name + ".tmp", "wb") as f:
            f.write(data)
        os.replace(name + ".tmp", name)
