"""Drives the gateway the way lab code does, through tarp_client.Client. Prints one line per
check: 'OK <name>' or 'FAIL <name>: <why>', and exits non-zero if any check failed.
Usage: tarp_session.py http://127.0.0.1:PORT"""
import sys
import time

import requests

import tarp_client
from checks import check, expect, finish

URL = sys.argv[1]

c = tarp_client.Client(URL)


def discovery():
    names = {k: [e["name"] for e in v] for k, v in c.discovery.items()}
    expect("echo" in names["GET"], names)
    expect("echo_rpc" in names["RPC"], names)
    expect("sleep_async" in names["ASYNCRPC"] and "fail_async" in names["ASYNCRPC"], names)
    expect("gateway/jobs" in names["GET"] and "gateway/cancel" in names["POST"], names)


def web_get():
    expect(c.echo(text="hello") == ("text/plain", "hello"), c.echo(text="hello"))


def web_post():
    mime, result = c.complete({"prompt": "Once", "max_tokens": 3})
    expect(mime == "text/plain" and len(result.split()) == 3, result)


def rpc():
    expect(c.echo_rpc("a", "b") == "a b", c.echo_rpc("a", "b"))
    expect(c.echo_rpc("x", 1, 2.5, True, None) == "x 1 2.5 true null", c.echo_rpc("x", 1, 2.5, True, None))


def rpc_json_result():
    value = c.json_rpc('{"a": [1, 2, {"b": null}], "big": 123456789012345678901234567890}')
    expect(value == {"a": [1, 2, {"b": None}], "big": 123456789012345678901234567890}, value)


def rpc_errors():
    try:
        c.echo_rpc_kw(nope=1)
        raise AssertionError("an unknown keyword must fail")
    except tarp_client.ApiError as e:
        expect(e.status == 400 and "unknown parameter 'nope'" in e.body["message"], e.body)
    r = requests.post(f"{URL}/echo_rpc?x=1", data="{}", headers={"Content-Type": "application/json"})
    expect(r.status_code == 400 and "query string" in r.json()["message"], r.text)


def async_wait():
    h = c.sleep_async(ms=300)
    expect(h.status() == "in_progress", h.probe())
    expect(h.wait() == "slept 300 ms", "wait")
    # A fetched handle is forgotten.
    r = requests.get(f"{URL}/asyncGet?UUID={h.id}")
    expect(r.status_code == 404, r.status_code)


def async_in_progress_503():
    h = c.sleep_async(ms=400)
    r = requests.get(f"{URL}/asyncGet?UUID={h.id}")
    expect(r.status_code == 503 and r.json()["type"] == "OperationInProgress", r.text)
    expect(int(r.headers["Retry-After"]) >= 1, r.headers)
    expect(h.wait() == "slept 400 ms", "wait")


def async_wait_cycle():
    h = c.sleep_async(ms=200)
    for _ in range(50):
        value = h.waitCycle()
        if value is not None:
            expect(value == "slept 200 ms", value)
            return
    raise AssertionError("waitCycle never returned the value")


def async_failure():
    h = c.fail_async()
    for _ in range(100):
        p = h.probe()
        if p["status"] != "in_progress":
            break
        time.sleep(0.05)
    expect(p["status"] == "failed" and "simulated failure" in p["error"], p)
    try:
        h.wait()
        raise AssertionError("asyncGet of a failed job must raise")
    except tarp_client.ApiError as e:
        expect(e.body["status"] == "error" and e.body["type"] == "Exception", e.body)
        expect("simulated failure" in e.body["message"], e.body)


def unknown_ids():
    for path in ("asyncProbe", "asyncGet"):
        r = requests.get(f"{URL}/{path}?UUID=00000000-0000-4000-8000-000000000000")
        expect(r.status_code == 404 and r.json()["status"] == "error", r.text)
        r = requests.get(f"{URL}/{path}")
        expect(r.status_code == 400, r.text)


def json_format_for_other_clients():
    h = c.sleep_async(ms=50)
    for _ in range(100):
        if h.status() != "in_progress":
            break
        time.sleep(0.05)
    r = requests.get(f"{URL}/asyncGet?UUID={h.id}&format=json")
    expect(r.status_code == 200 and r.json()["result"] == "slept 50 ms", r.text)


def web_async_endpoint():
    mime, result = c.echo_async(text="later")
    h = tarp_client.Handle(c, result["ID"], result["suggested_wait"])
    expect(h.wait() == "later", "wait")


def builtins():
    h = c.sleep_async(ms=5000)
    _, jobs = c.gateway_jobs()  # queued until Pie accepts the launch, then running
    expect(any(j["id"] == h.id and j["state"] in ("queued", "running") for j in jobs), jobs)
    _, result = c.gateway_cancel({"UUID": h.id})
    expect(result["status"] == "cancelled", result)
    p = h.probe()
    expect(p["status"] == "failed" and "cancel" in p["error"].lower(), p)
    _, servers = c.gateway_servers()
    expect(servers[0]["state"] == "healthy", servers)


def eviction():
    h = c.sleep_async(ms=10)
    for _ in range(100):
        if h.status() != "in_progress":
            break
        time.sleep(0.05)
    time.sleep(3.6)  # the test config keeps finished jobs for 3 s
    r = requests.get(f"{URL}/asyncProbe?UUID={h.id}")
    expect(r.status_code == 404, r.text)


def hostile_pickle():
    import base64
    evil = base64.b64encode(b"cos\nsystem\n(S'true'\ntR.").decode()
    r = requests.post(f"{URL}/echo_rpc", json={"args": evil, "kwargs": base64.b64encode(b"}.").decode()})
    expect(r.status_code == 400 and "GLOBAL" in r.json()["message"], r.text)


for name, fn in list(globals().items()):
    if callable(fn) and fn.__module__ == "__main__":
        check(name, fn)
finish()
