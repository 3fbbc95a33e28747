"""HTTPS and gRPC-over-TLS on a running gateway (tests/integration/tls_front_test.cpp starts it
with `tls:` naming LIVE/server.pem, LIVE/server.key and a client CA): curl, requests, the TARP
client with server_key=, SSE, Python grpc with SSL credentials, client certificates, hostile
bytes on the TLS port, the TLS floor, and a SIGHUP that rotates the certificate.
usage: tls_front.py HTTPS_URL GRPC_TARGET ADMIN_URL PKI_DIR LIVE_DIR PROTO_ROOT GATEWAY_PID GATEWAY_LOG
Prints one 'OK <check>' or 'FAIL <check>: <why>' line per check; exits 1 if any failed."""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import requests

import tarp_client
from checks import check, expect, finish

URL, GRPC, ADMIN, PKI, LIVE, PROTO, PID, LOG = sys.argv[1:9]
PID = int(PID)
HOST, PORT = "127.0.0.1", int(URL.rsplit(":", 1)[1])
GRPC_PORT = int(GRPC.rsplit(":", 1)[1])
CA = os.path.join(PKI, "ca.pem")


def pki(name):
    return os.path.join(PKI, name)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "20", *args, "-w", "\n%{http_code}"], capture_output=True,
                       text=True, timeout=30)
    body, _, code = r.stdout.rpartition("\n")
    return r.returncode, int(code or 0), body, r.stderr


def log_text():
    with open(LOG, encoding="utf-8", errors="replace") as f:
        return f.read()


def access_line(request_id):
    """The access line of the request with this X-Request-Id (waits a little: logs are async to us)."""
    for _ in range(100):
        for line in log_text().splitlines():
            if " request " in line and f"id={request_id} " in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no access line for request id {request_id}")


def wait_log(needle, count):
    """Until `needle` appears at least `count` times in the log (bounded)."""
    for _ in range(200):
        if log_text().count(needle) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"the log never showed {needle!r} {count} times")


def peer_cert(port, alpn=None):
    """The certificate a new TLS connection to `port` is shown (verified against the CA)."""
    ctx = ssl.create_default_context(cafile=CA)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    with socket.create_connection((HOST, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.getpeercert()


def cn_of(cert):
    return dict(x[0] for x in cert["subject"])["commonName"]


# --- HTTPS -----------------------------------------------------------------------------------

def curl_get():
    rc, code, body, err = curl("--cacert", CA, f"{URL}/echo?text=hi")
    expect(rc == 0 and code == 200, (rc, code, err))
    expect(json.loads(body)["result"] == "hi", body)


def curl_post():
    rc, code, body, err = curl("--cacert", CA, "-H", "Content-Type: application/json", "-d",
                               '{"prompt": "Once", "max_tokens": 3}', f"{URL}/complete")
    expect(rc == 0 and code == 200, (rc, code, err))
    expect(len(json.loads(body)["result"].split()) == 3, body)


def curl_untrusted_fails():
    rc, _, _, err = curl(f"{URL}/echo?text=hi")  # the system store does not know the test CA
    expect(rc == 60, (rc, err))  # curl: peer certificate cannot be authenticated


def plain_http_refused():
    rc, code, body, err = curl(f"http://{HOST}:{PORT}/echo?text=hi")
    expect(rc == 0 and code == 400, (rc, code, err))
    expect("speaks HTTPS only" in json.loads(body)["message"], body)


def hostile_bytes_survived():
    def send(data, then_close=True):
        with socket.create_connection((HOST, PORT), timeout=10) as s:
            s.sendall(data)
            if not then_close:
                s.shutdown(socket.SHUT_WR)
                s.settimeout(10)
                try:
                    while s.recv(4096):
                        pass
                except OSError:
                    pass
    send(b"\x16\x03\x01\x00\x05hello")                      # a handshake record holding garbage
    send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")    # the start of a ClientHello, then EOF
    send(b"\x16" + os.urandom(300), then_close=False)        # random bytes after a handshake type
    send(os.urandom(200), then_close=False)                  # random bytes: answered as plain HTTP, or closed
    send(b"")                                                # connect, say nothing, close
    rc, code, _, err = curl("--cacert", CA, f"{URL}/echo?text=alive")
    expect(rc == 0 and code == 200, (rc, code, err))
    metrics = requests.get(f"{ADMIN}/metrics", timeout=10).text
    failures = [l for l in metrics.splitlines() if l.startswith("pie_gateway_http_tls_handshake_failures_total")]
    expect(failures and float(failures[0].split()[-1]) >= 3, failures)


def tls_floor():
    for port in (PORT, GRPC_PORT):
        old = subprocess.run(["openssl", "s_client", "-connect", f"{HOST}:{port}", "-tls1_1", "-cipher",
                              "DEFAULT@SECLEVEL=0"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=30)
        expect(old.returncode != 0, f"port {port} accepted TLS 1.1: {old.stdout[-400:]}")
        tls12 = subprocess.run(["openssl", "s_client", "-connect", f"{HOST}:{port}", "-tls1_2", "-CAfile", CA],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        # (Its exit status depends on who closes first; the handshake's outcome is in the text.)
        expect("Verify return code: 0 (ok)" in tls12.stdout and "Protocol  : TLSv1.2" in tls12.stdout,
               tls12.stdout[-600:])
        expect("Compression: NONE" in tls12.stdout, tls12.stdout[-600:])
        cipher = [l for l in tls12.stdout.splitlines() if "Cipher is" in l]
        expect(cipher and ("ECDHE" in cipher[0]) and ("GCM" in cipher[0] or "CHACHA20" in cipher[0]), cipher)


def sse_events(r):
    """The event names of an SSE response, up to its final result or error (bounded)."""
    events = []
    for i, line in enumerate(r.iter_lines(decode_unicode=True)):
        if line.startswith("event: "):
            events.append(line[7:])
        if events and events[-1] in ("result", "error") or i > 500:
            break
    r.close()
    return events


def sse_over_https():
    r = requests.get(f"{URL}/complete?prompt=Once&max_tokens=5", headers={"Accept": "text/event-stream"},
                     stream=True, timeout=30, verify=CA)
    expect(r.status_code == 200 and r.headers["Content-Type"] == "text/event-stream", r.headers)
    events = sse_events(r)
    expect("job" in events and events[-1] == "result", events)


def slow_answers_outlive_read_timeout():
    # read_timeout (1.5 s here) bounds reading a request and each write, not the wait for an answer:
    # the watch for the client going away (a TLS read) must not time out meanwhile.
    r = requests.get(f"{URL}/sleep?ms=3000", verify=CA, timeout=30)
    expect(r.status_code == 200 and r.json()["result"] == "slept 3000 ms", r.text)
    r = requests.get(f"{URL}/sleep?ms=3000", headers={"Accept": "text/event-stream"}, stream=True, timeout=30, verify=CA)
    events = sse_events(r)
    expect(events and events[-1] == "result", events)


def tarp_client_with_server_key():
    c = tarp_client.Client(URL, server_key=CA)
    expect(c.echo(text="hello") == ("text/plain", "hello"), "echo")
    expect(c.echo_rpc("a", "b") == "a b", "rpc")


# --- gRPC over TLS ---------------------------------------------------------------------------

out = tempfile.mkdtemp(prefix="pg-tls-py-")
subprocess.check_call([sys.executable, "-m", "grpc_tools.protoc", "-I" + PROTO, "-I/usr/include", "--python_out=" + out,
                       "--grpc_python_out=" + out, "pie/gateway/v1/gateway.proto"])
sys.path.insert(0, out)
import grpc  # noqa: E402
from pie.gateway.v1 import gateway_pb2 as pb  # noqa: E402
from pie.gateway.v1 import gateway_pb2_grpc as pb_grpc  # noqa: E402


def grpc_channel(client_cert=False):
    creds = grpc.ssl_channel_credentials(root_certificates=read(CA),
                                         private_key=read(pki("client.key")) if client_cert else None,
                                         certificate_chain=read(pki("client.pem")) if client_cert else None)
    return grpc.secure_channel(GRPC, creds)


def grpc_call(channel, text, request_id):
    stub = pb_grpc.GatewayStub(channel)
    req = pb.CallRequest(endpoint="echo", kwargs={"text": pb.Value(string_value=text)})
    return stub.Call(req, timeout=20, metadata=[("x-request-id", request_id)]).result.string_value


def grpc_over_tls():
    with grpc_channel() as ch:
        names = [e.name for e in pb_grpc.GatewayStub(ch).ListEndpoints(pb.ListEndpointsRequest(), timeout=20).endpoints]
        expect("echo" in names, names)
        resp = grpc_call(ch, "over tls", "grpc-nocert-1")
        expect(resp == "over tls", resp)
    expect(" cn=" not in access_line("grpc-nocert-1"), access_line("grpc-nocert-1"))


def grpc_plaintext_refused():
    with grpc.insecure_channel(GRPC) as ch:
        try:
            pb_grpc.GatewayStub(ch).ListEndpoints(pb.ListEndpointsRequest(), timeout=5)
            raise AssertionError("a plaintext call to the TLS port succeeded")
        except grpc.RpcError as e:
            expect(e.code() == grpc.StatusCode.UNAVAILABLE, e.code())


# --- client certificates ---------------------------------------------------------------------

def client_cert_cn_http():
    rc, code, _, err = curl("--cacert", CA, "--cert", pki("client.pem"), "--key", pki("client.key"),
                            "-H", "X-Request-Id: http-alice-1", f"{URL}/echo?text=me")
    expect(rc == 0 and code == 200, (rc, code, err))
    expect(" cn=alice" in access_line("http-alice-1"), access_line("http-alice-1"))
    rc, code, _, err = curl("--cacert", CA, "-H", "X-Request-Id: http-nocert-1", f"{URL}/echo?text=anon")
    expect(rc == 0 and code == 200, (rc, code, err))  # optional: without a certificate still served
    expect(" cn=" not in access_line("http-nocert-1"), access_line("http-nocert-1"))


def untrusted_client_cert_refused():
    rc, code, _, err = curl("--cacert", CA, "--cert", pki("rogue.pem"), "--key", pki("rogue.key"),
                            "-H", "X-Request-Id: http-rogue-1", f"{URL}/echo?text=me")
    expect(rc != 0 and code == 0, (rc, code, err))
    expect("id=http-rogue-1 " not in log_text(), "a request with an unverified certificate was served")


def client_cert_cn_grpc():
    with grpc_channel(client_cert=True) as ch:
        expect(grpc_call(ch, "me", "grpc-alice-1") == "me", "call")
    line = access_line("grpc-alice-1")
    expect("door=grpc" in line and " cn=alice" in line, line)


# --- SIGHUP rotation -------------------------------------------------------------------------

def replace_file(dst, src):
    tmp = dst + ".new"
    with open(tmp, "wb") as f:
        f.write(read(src))
    os.replace(tmp, dst)


def rotation():
    ctx = ssl.create_default_context(cafile=CA)
    before = http.client.HTTPSConnection(HOST, PORT, context=ctx, timeout=20)
    before.request("GET", "/echo?text=before")
    expect(before.getresponse().read() and before.sock.getpeercert()["serialNumber"] == "1001", "first cert")
    sock_before = before.sock
    old_channel = grpc_channel()
    expect(grpc_call(old_channel, "before", "grpc-before") == "before", "grpc before")
    expect(peer_cert(GRPC_PORT, ["h2"])["serialNumber"] == "1001", "grpc first cert")

    replace_file(os.path.join(LIVE, "server.pem"), pki("server2.pem"))
    replace_file(os.path.join(LIVE, "server.key"), pki("server2.key"))
    os.kill(PID, signal.SIGHUP)
    wait_log("TLS: new connections get certificate subject CN=gateway-2", 1)

    # Connections opened before keep working, on their first certificate.
    before.request("GET", "/echo?text=after")
    resp = before.getresponse()
    expect(resp.status == 200 and json.loads(resp.read())["result"] == "after", resp.status)
    expect(before.sock is sock_before and before.sock.getpeercert()["serialNumber"] == "1001", "same connection")
    before.close()
    expect(grpc_call(old_channel, "after", "grpc-after") == "after", "grpc channel from before")
    old_channel.close()
    # New connections see the new certificate, on both listeners.
    for port, alpn in ((PORT, None), (GRPC_PORT, ["h2"])):
        cert = peer_cert(port, alpn)
        expect(cert["serialNumber"] == "1002" and cn_of(cert) == "gateway-2", (port, cert))
    with grpc_channel() as ch:
        expect(grpc_call(ch, "new", "grpc-new") == "new", "a new gRPC channel")


def failed_reload_keeps_certificates():
    failures = log_text().count("reload failed")
    replace_file(os.path.join(LIVE, "server.key"), pki("other.key"))  # matches no certificate
    os.kill(PID, signal.SIGHUP)
    wait_log("reload failed", failures + 1)
    line = [l for l in log_text().splitlines() if "does not match the certificate" in l]
    expect(line and "tls.key_file" in line[-1], line)
    for port, alpn in ((PORT, None), (GRPC_PORT, ["h2"])):
        expect(peer_cert(port, alpn)["serialNumber"] == "1002", port)
    rc, code, _, err = curl("--cacert", CA, f"{URL}/echo?text=still")
    expect(rc == 0 and code == 200, (rc, code, err))


check("curl GET over HTTPS", curl_get)
check("curl POST over HTTPS", curl_post)
check("curl without the CA refuses the certificate", curl_untrusted_fails)
check("plain HTTP to the HTTPS port: 400 saying so", plain_http_refused)
check("garbage and half handshakes close only their connection (counted)", hostile_bytes_survived)
check("TLS 1.2 floor, AEAD ciphers, no compression", tls_floor)
check("SSE over HTTPS", sse_over_https)
check("slow answers and streams outlive read_timeout over HTTPS", slow_answers_outlive_read_timeout)
check("TARP client with server_key= over https", tarp_client_with_server_key)
check("gRPC over TLS (ssl_channel_credentials)", grpc_over_tls)
check("plaintext gRPC to the TLS port fails", grpc_plaintext_refused)
check("client certificate CN on the HTTP access line", client_cert_cn_http)
check("a client certificate from another CA fails the handshake", untrusted_client_cert_refused)
check("client certificate CN on the gRPC access line", client_cert_cn_grpc)
check("SIGHUP rotates the certificate without dropping connections", rotation)
check("a failed reload keeps the running certificate", failed_reload_keeps_certificates)
finish()
