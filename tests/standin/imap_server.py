"""An Exchange Online-like IMAP server (outlook.office365.com:993): implicit
TLS, AUTHENTICATE XOAUTH2 (SASL-IR or continuation, the error challenge),
then enough of IMAP4rev1 on one INBOX per mailbox for the relay's splice to
be tested with real clients: SELECT/EXAMINE, APPEND with literals of any
size, FETCH/UID FETCH of bodies, STORE, EXPUNGE, IDLE, LIST, NOOP, LOGOUT.
Texts follow Exchange's."""
import asyncio
import re
import ssl
import sys

import xoauth2
from line_session import LineSession

ROLE = "IMAP.AccessAsApp"
GREETING = "* OK The Microsoft Exchange IMAP4 service is ready. [U1RBTkRJTjAx]"
CAPS = "IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2{ir} UIDPLUS{move} ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
MAX_LITERAL = 64 * 1024 * 1024
LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r\n$")


def log(msg):
    print(f"standin imap: {msg}", file=sys.stderr, flush=True)


class Drop(Exception):
    """Close without a reply (knob drop_after)."""


def seq_numbers(spec, count, uids=None):
    """1-based positions named by a sequence set ("1", "2:4", "3:*", "1,5");
    with `uids`, the set names UIDs instead."""
    out = []
    top = (uids[-1] if uids else 0) if uids is not None else count
    for part in spec.split(","):
        lo, _, hi = part.partition(":")
        lo_n = top if lo == "*" else int(lo)
        hi_n = lo_n if not hi else (top if hi == "*" else int(hi))
        lo_n, hi_n = min(lo_n, hi_n), max(lo_n, hi_n)
        if uids is None:
            out += [n for n in range(lo_n, hi_n + 1) if 1 <= n <= count]
        else:
            out += [i + 1 for i, u in enumerate(uids) if lo_n <= u <= hi_n]
    return sorted(set(out))


class Session(LineSession):
    def __init__(self, server, reader, writer):
        super().__init__(server, reader, writer)
        self.selected = False
        self.known = 0  # messages the client has been told about
        # False after a login the knob imap_full_access_at_select let through
        # although the app has no FullAccess on the mailbox.
        self.connected = True

    def caps(self, after_login):
        ir = "" if self.state.knob("imap_no_sasl_ir") else " SASL-IR"
        return CAPS.format(ir=ir, move=" MOVE" if after_login else "")

    async def read_command(self):
        """(text with literals removed, [literal bytes]); literals are read
        as announced, with "+" for synchronizing ones."""
        text, literals = b"", []
        while True:
            line = await self.read_crlf_line()
            m = LITERAL.search(line)
            if not m:
                return (text + line[:-2]).decode("utf-8", "replace"), literals
            size = int(m.group(1))
            if size > MAX_LITERAL:
                raise ConnectionError("literal too large")
            if not m.group(2):
                await self.send("+ Ready for additional command text.")
            literals.append(await self.reader.readexactly(size))
            text += line[:m.start()] + b"\x00"

    async def run(self):
        self.state.count("imap", "connections")
        try:
            if self.state.knob("drop_after") == "greeting":
                raise Drop("greeting")
            await self.send(GREETING)
            while True:
                text, literals = await self.read_command()
                tag, _, rest = text.partition(" ")
                name, _, args = rest.partition(" ")
                name = name.upper()
                if name == "UID":
                    sub, _, args = args.partition(" ")
                    name = "UID " + sub.upper()
                handler = getattr(self, "cmd_" + name.replace(" ", "_"), None)
                if not tag or handler is None:
                    await self.send(f"{tag or '*'} BAD Command Error. 12")
                    continue
                if self.mailbox is None and name not in ("CAPABILITY", "NOOP", "LOGOUT", "ID", "AUTHENTICATE",
                                                         "LOGIN"):
                    await self.send(f"{tag} BAD Command received in Invalid state.")
                    continue
                if await handler(tag, args, literals) == "logout":
                    return
        except Drop as point:
            log(f"dropping the connection at {point}")
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ssl.SSLError, OSError):
            pass
        finally:
            if self.mailbox:
                self.state.session_close(self.mailbox, "imap")
            self.writer.close()

    # --- any state ----------------------------------------------------------
    async def cmd_CAPABILITY(self, tag, args, literals):
        await self.send("* CAPABILITY " + self.caps(self.mailbox is not None))
        await self.send(f"{tag} OK CAPABILITY completed.")

    async def cmd_NOOP(self, tag, args, literals):
        await self.report_new()
        await self.send(f"{tag} OK NOOP completed.")

    async def cmd_ID(self, tag, args, literals):
        await self.send("* ID NIL")
        await self.send(f"{tag} OK ID completed.")

    async def cmd_LOGOUT(self, tag, args, literals):
        await self.send("* BYE Microsoft Exchange Server IMAP4 server signing off.")
        await self.send(f"{tag} OK LOGOUT completed.")
        return "logout"

    async def cmd_LOGIN(self, tag, args, literals):
        # Basic auth is gone at Exchange Online; a relay must never use it.
        self.state.count("imap", "auth_failed")
        log("LOGIN refused (basic auth)")
        await self.send(f"{tag} NO LOGIN failed.")

    async def cmd_AUTHENTICATE(self, tag, args, literals):
        mech, _, initial = args.partition(" ")
        if self.mailbox is not None:
            return await self.send(f"{tag} BAD Command received in Invalid state.")
        if mech.upper() != "XOAUTH2":
            return await self.send(f"{tag} NO AUTHENTICATE failed.")
        if initial and self.state.knob("imap_no_sasl_ir"):
            return await self.send(f"{tag} BAD Command Argument Error. 11")
        if not initial:
            await self.send("+ ")
            initial = (await self.read_crlf_line())[:-2].decode("ascii", "replace")
            if initial == "*":
                return await self.send(f"{tag} BAD AUTHENTICATE aborted.")
        if self.state.knob("drop_after") == "auth":
            raise Drop("auth")
        google = xoauth2.is_google(initial, self.srv.registry)  # Gmail's texts for its mailboxes
        if self.state.knob("auth_fail"):
            return await self.refuse(tag, "knob auth_fail", google)
        lazy = self.state.knob("imap_full_access_at_select")
        mailbox, send_as, why = xoauth2.check(initial, self.srv.issuer, self.srv.registry, ROLE,
                                              mailbox_access=not lazy)
        if why:
            return await self.refuse(tag, why, google)
        self.connected = send_as is not None
        if not self.connected:
            log(f"login for {mailbox} accepted without FullAccess (knob imap_full_access_at_select)")
        if not self.state.session_open(mailbox, self.state.knob("max_concurrent_per_mailbox"), "imap"):
            self.state.count("imap", "auth_failed")
            log(f"concurrency limit for {mailbox}")
            return await self.send(f"{tag} NO Request is throttled. Suggested Backoff Time: 5000 milliseconds")
        self.mailbox = mailbox
        self.state.count("imap", "auth_ok")
        await self.send(f"{tag} OK {mailbox} authenticated (Success)" if google
                        else f"{tag} OK AUTHENTICATE completed.")

    async def refuse(self, tag, why, google=False):
        self.state.count("imap", "auth_failed")
        log(f"AUTHENTICATE XOAUTH2 refused: {why}")
        if google:
            # Gmail: "+ <base64 JSON>", then NO after the client's empty line.
            await self.send("+ " + xoauth2.GOOGLE_FAIL_CHALLENGE)
            await self.read_crlf_line()
            return await self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")
        if self.state.knob("auth_fail_challenge"):
            await self.send("+ " + xoauth2.FAIL_CHALLENGE)
            await self.read_crlf_line()
        await self.send(f"{tag} NO AUTHENTICATE failed.")

    # --- after login --------------------------------------------------------
    def snapshot(self):
        _, _, msgs = self.state.mailbox(self.mailbox)
        return msgs

    async def report_new(self):
        """Untagged EXISTS when the selected mailbox grew."""
        if self.selected:
            n = len(self.snapshot())
            if n != self.known:
                self.known = n
                await self.send(f"* {n} EXISTS")

    async def not_connected(self, tag):
        """Exchange's answer when the app has no FullAccess on the mailbox it
        logged in to; True when it was sent."""
        if self.connected:
            return False
        await self.send(f"{tag} BAD User is authenticated but not connected.")
        return True

    async def cmd_SELECT(self, tag, args, literals, mode="READ-WRITE"):
        if await self.not_connected(tag):
            return
        if args.strip('"').upper() != "INBOX":
            return await self.send(f"{tag} NO The requested item could not be found.")
        validity, next_uid, msgs = self.state.mailbox(self.mailbox)
        self.selected, self.known = True, len(msgs)
        await self.send("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)")
        await self.send(f"* {len(msgs)} EXISTS")
        await self.send("* 0 RECENT")
        await self.send(f"* OK [UIDVALIDITY {validity}] UIDVALIDITY value")
        await self.send(f"* OK [UIDNEXT {next_uid}] The next unique identifier value")
        await self.send(f"{tag} OK [{mode}] {'SELECT' if mode == 'READ-WRITE' else 'EXAMINE'} completed.")

    async def cmd_EXAMINE(self, tag, args, literals):
        await self.cmd_SELECT(tag, args, literals, mode="READ-ONLY")

    async def cmd_LIST(self, tag, args, literals):
        await self.send('* LIST (\\HasNoChildren) "/" INBOX')
        await self.send(f"{tag} OK LIST completed.")

    async def cmd_APPEND(self, tag, args, literals):
        if await self.not_connected(tag):
            return
        if not literals or not args.upper().startswith(("INBOX", '"INBOX"')):
            return await self.send(f"{tag} BAD Command Argument Error. 11")
        flags = re.search(r"\(([^)]*)\)", args)
        uid = self.state.deliver(self.mailbox, literals[-1], flags.group(1).split() if flags else ())
        validity, _, _ = self.state.mailbox(self.mailbox)
        await self.send(f"{tag} OK [APPENDUID {validity} {uid}] APPEND completed.")

    async def fetch(self, tag, args, by_uid):
        spec, _, items = args.partition(" ")
        msgs = self.snapshot()
        try:
            wanted = seq_numbers(spec, len(msgs), [m["uid"] for m in msgs] if by_uid else None)
        except ValueError:
            return await self.send(f"{tag} BAD Command Argument Error. 11")
        items = items.upper()
        for n in wanted:
            m = msgs[n - 1]
            parts = [f"UID {m['uid']}"] if by_uid or "UID" in items else []
            if "FLAGS" in items:
                parts.append("FLAGS (" + " ".join(m["flags"]) + ")")
            if "RFC822.SIZE" in items:
                parts.append(f"RFC822.SIZE {len(m['data'])}")
            body = None
            if "BODY[]" in items or "BODY.PEEK[]" in items:
                body = "BODY[]"
            elif re.search(r"RFC822(?![.])", items):
                body = "RFC822"
            head = f"* {n} FETCH (" + " ".join(parts)
            if body:
                head += (" " if parts else "") + f"{body} {{{len(m['data'])}}}\r\n"
                if self.state.knob("drop_after") == "fetch_mid":
                    await self.send(head.encode() + m["data"][:len(m["data"]) // 2])
                    raise Drop("fetch_mid")
                await self.send(head.encode() + m["data"] + b")\r\n")
            else:
                await self.send(head + ")")
        await self.send(f"{tag} OK {'UID FETCH' if by_uid else 'FETCH'} completed.")

    async def cmd_FETCH(self, tag, args, literals):
        await self.fetch(tag, args, by_uid=False)

    async def cmd_UID_FETCH(self, tag, args, literals):
        await self.fetch(tag, args, by_uid=True)

    async def cmd_STORE(self, tag, args, literals):
        spec, _, rest = args.partition(" ")
        msgs = self.snapshot()
        flags = re.search(r"\(([^)]*)\)", rest)
        new = flags.group(1).split() if flags else []
        for n in seq_numbers(spec, len(msgs)):
            m = msgs[n - 1]
            merged = sorted(set(m["flags"]) | set(new)) if rest.upper().startswith("+FLAGS") else new
            self.state.set_flags(self.mailbox, m["uid"], merged)
            await self.send(f"* {n} FETCH (FLAGS ({' '.join(merged)}))")
        await self.send(f"{tag} OK STORE completed.")

    async def cmd_EXPUNGE(self, tag, args, literals):
        msgs = self.snapshot()
        gone = [i + 1 for i, m in enumerate(msgs) if "\\Deleted" in m["flags"]]
        self.state.remove(self.mailbox, [msgs[n - 1]["uid"] for n in gone])
        for k, n in enumerate(gone):
            await self.send(f"* {n - k} EXPUNGE")
        self.known = len(msgs) - len(gone)
        await self.send(f"{tag} OK EXPUNGE completed.")

    async def cmd_IDLE(self, tag, args, literals):
        await self.send("+ IDLE accepted, awaiting DONE command.")
        done = asyncio.ensure_future(self.read_crlf_line())
        try:
            while not done.done():
                await self.report_new()
                await asyncio.wait([done], timeout=0.1)
        finally:
            if not done.done():
                done.cancel()
        done.result()  # raises if the client went away
        await self.send(f"{tag} OK IDLE completed.")
