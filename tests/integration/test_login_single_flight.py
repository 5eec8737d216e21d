"""Single flight of password checks against the real binary: a burst of
concurrent logins by one user right after start costs one yescrypt (one
`cached=no` in the relay's log, the others answered by the login cache),
while a burst with a wrong password is refused every time and every attempt
counts toward the brute-force throttle."""
import base64
import threading

from relay_helpers import PASSWORD, USER, RawSmtp

N = 20


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode())


def burst(port, password, n=N):
    """n sessions say EHLO, then send AUTH PLAIN at the same moment; their replies."""
    conns = []
    for _ in range(n):
        c = RawSmtp(port)
        assert c.read_reply().startswith(b"220")
        assert c.cmd(b"EHLO device.test").startswith(b"250")
        conns.append(c)
    replies = [None] * n
    go = threading.Barrier(n)

    def login(i):
        go.wait()
        replies[i] = conns[i].cmd(b"AUTH PLAIN " + plain(USER, password))

    threads = [threading.Thread(target=login, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for c in conns:
        c.close()
    return replies


def test_concurrent_logins_of_one_user_cost_one_password_check(relay):
    # 235 comes once the upstream session is up: room for all of them at once.
    r = relay(listeners=[{"tls": "none"}], limits={"max_sessions_per_ip": 1000},
              tenants={"contoso": {"smtp": {"max_connections_per_mailbox": N}}})
    replies = burst(r.port("plain"), PASSWORD)
    assert all(x.startswith(b"235") for x in replies), replies
    log = r.log_text()
    assert log.count("event=auth_ok") == N
    assert log.count("cached=no") == 1, "more than one yescrypt for one burst of one login"
    assert log.count("cached=yes") == N - 1


def test_a_burst_of_one_wrong_password_is_refused_and_each_attempt_counted(relay):
    r = relay(listeners=[{"tls": "none"}],
              limits={"max_sessions_per_ip": 1000, "auth_failures_per_ip": 5, "auth_failures_per_user": 1000})
    wrong = "not the password"
    r.forbid_in_log("the wrong password", wrong)
    replies = burst(r.port("plain"), wrong, n=5)
    assert not any(x.startswith(b"235") for x in replies), replies
    assert "cached=yes" not in r.log_text()
    # Five failures counted: the source is now blocked, even for the right password.
    c = RawSmtp(r.port("plain"))
    try:
        first = c.read_reply()
        if first.startswith(b"220"):
            c.cmd(b"EHLO device.test")
            first = c.cmd(b"AUTH PLAIN " + plain(USER, PASSWORD))
        assert first.startswith(b"421"), first
    finally:
        c.close()
