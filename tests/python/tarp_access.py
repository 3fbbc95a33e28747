"""The unchanged TARP client (tarp_client.Client) against a gateway with `access:` on: the token
goes in the URL (http://user:TOKEN@host:port, which requests sends as Basic auth) or in a netrc
file (requests reads $NETRC, else ~/.netrc). Prints 'OK <name>' / 'FAIL <name>: <why>'.
Usage: tarp_access.py http://127.0.0.1:PORT TOKEN WORKDIR"""
import os
import sys
from urllib.parse import urlsplit

import tarp_client
from checks import check, expect, finish

URL, TOKEN, WORKDIR = sys.argv[1], sys.argv[2], sys.argv[3]
host = urlsplit(URL).netloc
WITH_TOKEN = f"http://alice:{TOKEN}@{host}"


def no_credentials():
    try:
        tarp_client.Client(URL)
        raise AssertionError("discovery without a token must be refused")
    except tarp_client.ApiError as e:
        expect(e.status == 401 and e.body["type"] == "Unauthorized", e.body)


def token_in_url_sync_and_rpc():
    c = tarp_client.Client(WITH_TOKEN)
    expect(c.echo(text="hello") == ("text/plain", "hello"), c.echo(text="hello"))
    expect(c.echo_rpc("a", "b") == "a b", "rpc")


def token_in_url_async():
    c = tarp_client.Client(WITH_TOKEN)
    h = c.sleep_async(ms=200)
    expect(h.wait() == "slept 200 ms", "wait")
    # The handle was fetched (and forgotten): the same as an unknown one now.
    try:
        h.probe()
        raise AssertionError("a fetched handle must be gone")
    except tarp_client.ApiError as e:
        expect(e.status == 404, e.body)


def token_in_netrc():
    path = os.path.join(WORKDIR, "netrc")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(f"machine {urlsplit(URL).hostname} login alice password {TOKEN}\n")
    os.environ["NETRC"] = path
    try:
        c = tarp_client.Client(URL)  # no credentials in the URL: requests finds them in $NETRC
        expect(c.echo(text="from netrc") == ("text/plain", "from netrc"), "echo")
        expect(c.sleep_async(ms=50).wait() == "slept 50 ms", "async")
    finally:
        del os.environ["NETRC"]


def jobs_list_is_own():
    c = tarp_client.Client(WITH_TOKEN)
    _, jobs = c.gateway_jobs()
    expect(jobs and all(j["client"] == "alice" for j in jobs), jobs)


check("no_credentials", no_credentials)
check("token_in_url_sync_and_rpc", token_in_url_sync_and_rpc)
check("token_in_url_async", token_in_url_async)
check("token_in_netrc", token_in_netrc)
check("jobs_list_is_own", jobs_list_is_own)
finish()
