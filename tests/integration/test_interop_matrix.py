"""The interoperability matrix (docs/interop.md): every client row of
interop_clients.ROWS over every listener kind, through the relay, in front of
Postfix and Dovecot. With XR_INTEROP_RESULTS=<file>, each cell's outcome is
also appended there (scripts/interop-matrix.sh renders the table from it)."""
import json
import os
import re

import pytest

from control import body_of
from interop_clients import KINDS, MAILBOX, ROWS, Cell, cell_message, redact
from interop_doc import DOC_PATH, render, strip_versions
from real_upstream import real_relay

CELLS = [(row, kind) for row in ROWS if row.run for kind in KINDS]


def record(row, kind, ok, detail=""):
    path = os.environ.get("XR_INTEROP_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"row": row.id, "kind": kind, "ok": ok, "detail": detail[:300]}) + "\n")


@pytest.mark.parametrize("row,kind", CELLS, ids=[f"{row.id}-{kind}" for row, kind in CELLS])
def test_client(standin, realservers, relay, tmp_path, row, kind):
    try:
        check_cell(standin, realservers, relay, str(tmp_path), row, kind)
    except Exception as e:
        record(row, kind, False, redact(str(e)).splitlines()[0] if str(e) else type(e).__name__)
        raise
    record(row, kind, True)


def check_cell(standin, realservers, relay, tmp, row, kind):
    r = real_relay(relay, realservers)
    message = cell_message(f"{row.id}-{kind}".lower())
    cell = Cell(row, kind, r, standin, tmp, message)
    if row.protocol == "smtp":
        row.run(cell)
        [stored] = realservers.wait_messages(MAILBOX, 1)
        body_of(stored, message)  # byte for byte, after Postfix's and Dovecot's trace headers
    else:
        realservers.deliver(MAILBOX, message)
        [stored] = realservers.wait_messages(MAILBOX, 1)
        body_of(stored, message)
        got = row.run(cell)
        body_of(got, message, loose=True)  # clients saving files may use LF and add their own Received
    # The relay saw the login this row is about, and relayed it.
    mech = f'"{row.login}"' if " " in row.login else row.login
    log = r.log_text()
    assert re.search(rf"event=auth_ok user=\S+ mechanism={re.escape(mech)} ", log), \
        f"no auth_ok with mechanism={mech} in the relay's log"
    assert "event=upstream_ok" in log
    if kind != "plain":  # the login came after TLS (the relay offers none before it on these listeners)
        assert "event=tls " in log


def test_docs_interop_md_shows_the_current_matrix():
    """docs/interop.md is generated (scripts/interop-matrix.sh), never edited:
    it must list exactly today's rows and cells, all passing. Versions are
    left out of the comparison (Debian point releases)."""
    every_cell_passed = {(row.id, kind): {"ok": True} for row, kind in CELLS}
    with open(DOC_PATH, encoding="utf-8") as f:
        on_disk = f.read()
    assert strip_versions(on_disk) == strip_versions(render(every_cell_passed)), \
        "docs/interop.md is out of date: run scripts/interop-matrix.sh"
