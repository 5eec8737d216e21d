"""The stand-in's Microsoft Graph endpoint (tests/standin/graph_endpoint.py):
what it checks and answers, so the relay's Graph tests rest on known ground."""
import base64
import concurrent.futures
import http.client
import json

import pytest

from conftest import CLIENT_ID, NOROLE_CLIENT_ID, RBAC_CLIENT_ID
import jwt_tokens

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
MIME = (b"From: scanner@contoso.com\r\nTo: alice@example.com\r\nSubject: scan\r\n"
        b"Message-ID: <1@printer>\r\n\r\nhello\r\n.dots stay\r\n")


def graph_token(standin, client_id=CLIENT_ID):
    return standin.token(scope=GRAPH_SCOPE, client_id=client_id)


def call(standin, method, path, token=None, body=None, ctype="text/plain", chunked=False, headers=None):
    """(status, headers (lower-case), JSON body or None)."""
    conn = http.client.HTTPSConnection("127.0.0.1", standin.graph_port, context=standin.tls_context(),
                                       timeout=30)
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    if body is not None:
        h["Content-Type"] = ctype
    try:
        if chunked:
            conn.putrequest(method, path)
            for k, v in dict(h, **{"Transfer-Encoding": "chunked"}).items():
                conn.putheader(k, v)
            conn.endheaders()
            for i in range(0, len(body), 1000):
                part = body[i:i + 1000]
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            conn.send(b"0\r\n\r\n")
        else:
            conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(raw) if raw else None
    finally:
        conn.close()


def send(standin, mime=MIME, mailbox="scanner@contoso.com", token=None, body=None, **kw):
    """sendMail with `mime` base64-encoded, or `body` as it is."""
    if token is None:
        token = graph_token(standin)
    return call(standin, "POST", f"/v1.0/users/{mailbox}/sendMail", token,
                base64.b64encode(mime) if body is None else body, **kw)


def graph_error(reply, status, code):
    got_status, headers, doc = reply
    assert (got_status, doc["error"]["code"]) == (status, code), doc
    assert doc["error"]["message"]
    assert headers["request-id"] == doc["error"]["innerError"]["request-id"]
    return headers, doc


def test_graph_token_has_graph_audience_and_roles(standin):
    _, claims = jwt_tokens.split(graph_token(standin))
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["roles"] == ["Mail.Send"]
    _, exchange = jwt_tokens.split(standin.token())
    assert exchange["aud"] == "https://outlook.office365.com"
    assert "Mail.Send" not in exchange["roles"] and "SMTP.SendAsApp" in exchange["roles"]


def test_send_mail_stores_the_mime_byte_for_byte_with_header_recipients(standin):
    mime = (b"From: scanner@contoso.com\r\nTo: A <a@example.com>, b@example.com\r\n"
            b"Cc: c@example.com\r\nBcc: hidden@example.com\r\nSubject: x\r\n\r\nbody\r\n")
    status, headers, doc = send(standin, mime)
    assert (status, doc) == (202, None)
    assert headers["request-id"]
    [m] = standin.messages()
    assert m["data"] == mime and m["via"] == "graph" and m["mailbox"] == "scanner@contoso.com"
    assert m["rcpts"] == ["a@example.com", "b@example.com", "c@example.com", "hidden@example.com"]
    assert m["request_id"] == headers["request-id"]
    assert standin.graph_stats()["accepted"] == 1


def test_chunked_request_is_accepted(standin):
    status, _, _ = send(standin, chunked=True)
    assert status == 202
    assert standin.messages()[0]["data"] == MIME


def test_bad_base64_and_content_type(standin):
    graph_error(send(standin, body=b"not base64!!"), 400, "ErrorMimeContentInvalidBase64String")
    # Strict: line breaks inside the base64 are refused too.
    b64 = base64.encodebytes(MIME * 20)
    graph_error(send(standin, body=b64), 400, "ErrorMimeContentInvalidBase64String")
    graph_error(send(standin, ctype="application/json"), 400, "ErrorInvalidRequest")
    assert standin.messages() == []


def test_request_over_4_mb_is_413(standin):
    raw = b"To: a@example.com\r\n\r\n" + b"x" * (3 * 1024 * 1024 + 200_000)
    assert len(base64.b64encode(raw)) > 4 * 1024 * 1024
    graph_error(send(standin, raw), 413, "ErrorMessageSizeExceeded")
    # Just below the limit passes.
    ok = b"From: scanner@contoso.com\r\nTo: a@example.com\r\n\r\n" + b"y" * (3 * 1024 * 1024 - 100)
    assert send(standin, ok)[0] == 202


@pytest.mark.parametrize("token, why", [
    (None, "empty"), ("garbage", "not well formed"), ("exchange", "Invalid audience"), ("expired", "expired")])
def test_bad_tokens_are_401_invalid_authentication_token(standin, token, why):
    if token == "exchange":
        token = standin.token()
    elif token == "expired":
        standin.knobs(token_lifetime=0)
        token = graph_token(standin)
    headers, doc = graph_error(send(standin, token=token or ""), 401, "InvalidAuthenticationToken")
    assert why in doc["error"]["message"]
    assert headers["www-authenticate"].startswith("Bearer ")
    assert standin.graph_stats()["unauthorized"] == 1


def test_permissions_role_rbac_and_mailboxes(standin):
    graph_error(send(standin, token=graph_token(standin, NOROLE_CLIENT_ID)), 403, "ErrorAccessDenied")
    rbac = graph_token(standin, RBAC_CLIENT_ID)
    assert jwt_tokens.split(rbac)[1]["roles"] == []
    assert send(standin, token=rbac)[0] == 202
    mfp = MIME.replace(b"scanner@", b"mfp@")
    graph_error(send(standin, mfp, mailbox="mfp@contoso.com", token=rbac), 403, "ErrorAccessDenied")
    graph_error(send(standin, mailbox="nobody@contoso.com"), 404, "ErrorInvalidUser")


def test_send_as_and_recipients(standin):
    graph_error(send(standin, MIME.replace(b"From: scanner@", b"From: boss@")), 403, "ErrorSendAsDenied")
    # mfp may send as anyone @contoso.com (its SendAs grant).
    assert send(standin, MIME.replace(b"From: scanner@", b"From: boss@"), mailbox="mfp@contoso.com")[0] == 202
    graph_error(send(standin, MIME.replace(b"alice@example.com", b"x@nowhere.invalid")), 400,
                "ErrorInvalidRecipients")
    graph_error(send(standin, b"From: scanner@contoso.com\r\nSubject: none\r\n\r\nx\r\n"), 400,
                "ErrorInvalidRecipients")
    assert len(standin.messages()) == 1


def test_get_user_dry_check(standin):
    status, _, doc = call(standin, "GET", "/v1.0/users/scanner@contoso.com", graph_token(standin))
    assert status == 200 and doc["userPrincipalName"] == "scanner@contoso.com"
    graph_error(call(standin, "GET", "/v1.0/users/nobody@contoso.com", graph_token(standin)), 404,
                "Request_ResourceNotFound")
    rbac = graph_token(standin, RBAC_CLIENT_ID)
    assert call(standin, "GET", "/v1.0/users/scanner@contoso.com", rbac)[0] == 200
    graph_error(call(standin, "GET", "/v1.0/users/other@contoso.com", rbac), 403, "ErrorAccessDenied")
    graph_error(call(standin, "GET", "/v1.0/users/other@contoso.com", graph_token(standin, NOROLE_CLIENT_ID)),
                403, "ErrorAccessDenied")


def test_more_than_four_at_once_per_mailbox_is_429(standin):
    standin.knobs(graph_delay=1.0)
    token = graph_token(standin)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda _: send(standin, token=token), range(6)))
    statuses = sorted(r[0] for r in replies)
    assert statuses == [202] * 4 + [429] * 2
    for status, headers, doc in replies:
        if status == 429:
            assert doc["error"]["code"] == "ApplicationThrottled" and int(headers["retry-after"]) >= 1
    stats = standin.graph_stats()
    assert stats["peak_concurrent"]["scanner@contoso.com"] == 4 and stats["throttled"] == 2
    # Another mailbox has its own four.
    assert stats["concurrent"] == {}


def test_injected_faults_then_healthy(standin):
    standin.graph_faults({"status": 429, "retry_after": 7, "count": 2}, {"status": 503})
    token = graph_token(standin)
    for _ in range(2):
        headers, _ = graph_error(send(standin, token=token), 429, "ApplicationThrottled")
        assert headers["retry-after"] == "7"
    graph_error(send(standin, token=token), 503, "ServiceUnavailable")
    assert send(standin, token=token)[0] == 202
    standin.graph_faults({"status": 401}, {"status": 403, "code": "ErrorSendAsDenied"})
    graph_error(send(standin, token=token), 401, "InvalidAuthenticationToken")
    graph_error(send(standin, token=token), 403, "ErrorSendAsDenied")
    standin.graph_faults({"drop": True})
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        send(standin, token=token)
    assert [e["status"] for e in standin.graph_stats()["log"]] == [429, 429, 503, 202, 401, 403, 0]
    assert len(standin.messages()) == 1


def test_reset_clears_faults_and_unknown_fault_fields_are_refused(standin):
    standin.graph_faults({"status": 503, "count": 5})
    standin.reset()
    assert send(standin)[0] == 202
    import urllib.error
    with pytest.raises(urllib.error.HTTPError):
        standin.graph_faults({"status": 503, "typo": 1})
