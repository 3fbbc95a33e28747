#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (valid inputs and the hostile cases of
issue 14). Re-run after changing it; files other helpers add to the directories are kept.
Needs only Python 3 (pickle, base64, json); msgpack and protobuf are encoded by hand here, and
the gRPC seeds with `protoc --encode` when protoc is installed."""
import base64, json, os, pickle, shutil, struct, subprocess, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CORPUS = os.path.join(ROOT, "corpus")
REPO = os.path.join(ROOT, "..")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- http: one connection's bytes -------------------------------------------------------
def req(method, target, headers=(), body=b"", version="1.1"):
    head = f"{method} {target} HTTP/{version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode() + (body.encode() if isinstance(body, str) else body)

H = ("Host", "127.0.0.1:8080")
put("http", "get", req("GET", "/echo?text=hi", [H]))
put("http", "get_http10", req("GET", "/echo?text=hi", [], version="1.0"))
put("http", "head", req("HEAD", "/echo?text=hi", [H]))
put("http", "post_json", req("POST", "/complete", [H, ("Content-Type", "application/json"), ("Content-Length", "16")], '{"prompt": "hi"}'))
put("http", "post_form", req("POST", "/complete", [H, ("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "9")], "prompt=hi"))
put("http", "keepalive_two", req("GET", "/a", [H]) + req("GET", "/b?x=1&x=2", [H, ("Connection", "close")]))
put("http", "chunked", req("POST", "/complete", [H, ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")],
                           "5\r\n{\"a\":\r\n3;ext=1\r\n 1}\r\n0\r\nX-Trailer: t\r\n\r\n"))
put("http", "sse_last_event_id", req("GET", "/gateway/jobs/0e6f2a5c-6a7b-4d2e-8f3a-1b2c3d4e5f60/events",
                                     [H, ("Accept", "text/event-stream"), ("Last-Event-ID", "0e6f2a5c-6a7b-4d2e-8f3a-1b2c3d4e5f60:7")]))
put("http", "sse_query_id", req("GET", "/echo?text=hi&last_event_id=3", [H, ("Accept", "text/event-stream")]))
put("http", "request_id", req("GET", "/healthz", [H, ("X-Request-Id", "abc-123")]))
put("http", "expect_continue", req("POST", "/complete", [H, ("Expect", "100-continue"), ("Content-Type", "application/json"), ("Content-Length", "2")], "{}"))
# Hostile (issue 14, class 1 and 6).
put("http", "smuggle_te_gzip", req("POST", "/echo", [H, ("Transfer-Encoding", "gzip"), ("Content-Length", "33")],
                                   req("GET", "/gateway/daemons", [H])))
put("http", "smuggle_te_chunked_gzip", req("POST", "/echo", [H, ("Transfer-Encoding", "chunked, gzip")], "0\r\n\r\n") + req("GET", "/x", [H]))
put("http", "smuggle_cl_te", req("POST", "/echo", [H, ("Content-Length", "4"), ("Transfer-Encoding", "chunked")], "0\r\n\r\nGET /x HTTP/1.1\r\n\r\n"))
put("http", "double_content_length", req("POST", "/echo", [H, ("Content-Length", "1"), ("Content-Length", "2")], "ab"))
put("http", "chunk_extension_long", req("POST", "/echo", [H, ("Transfer-Encoding", "chunked")], "1;" + "e" * 6000 + "\r\nx\r\n0\r\n\r\n"))
put("http", "trailer_long", req("POST", "/echo", [H, ("Transfer-Encoding", "chunked")], "1\r\nx\r\n0\r\n" + ("T: " + "v" * 100 + "\r\n") * 60 + "\r\n"))
put("http", "no_host", req("GET", "/echo?text=hi", []))
put("http", "absolute_form", req("GET", "http://127.0.0.1:8080/echo?text=hi", [H]))
put("http", "bad_host", req("GET", "/", [("Host", "evil.example")]))
put("http", "cross_site_post", req("POST", "/gateway/cancel", [H, ("Origin", "http://evil.example"), ("Sec-Fetch-Site", "cross-site"),
                                                                ("Content-Type", "text/plain"), ("Content-Length", "7")], "job=abc"))
put("http", "header_too_large", req("GET", "/", [H, ("X-Big", "a" * 5000)]))
put("http", "body_too_large", req("POST", "/echo", [H, ("Content-Length", "9000")], "a" * 9000))
put("http", "chunk_size_overflow", req("POST", "/echo", [H, ("Transfer-Encoding", "chunked")], "ffffffffffffffffff\r\nx\r\n"))
put("http", "truncated_body", req("POST", "/echo", [H, ("Content-Length", "100")], "short"))
put("http", "garbage", b"\x00\xff\r\n\r\nGET\r\n")

# ---- pickle ------------------------------------------------------------------------------
values = [None, True, 0, -1, 2**70, -2**200, 1.5, float("inf"), "héllo", b"\x00\xff", bytearray(b"ab"),
          (1, "a"), [1, [2, [3]]], {"k": [1, 2], "n": None}, {1, 2}, frozenset({"a"}), ((),), {"nested": {"d": (1.0, b"")}}]
for proto in range(6):
    put("pickle", f"values_p{proto}", pickle.dumps(values, protocol=proto))
put("pickle", "args_tuple", pickle.dumps(("hello", 3), protocol=4))
put("pickle", "kwargs_dict", pickle.dumps({"prompt": "hi", "max_tokens": 16}, protocol=4))
s = "x" * 1000
# Shared references (class 2): 1.4 KB that expands to 10 MB, an open finding (findings/README.md).
put("../findings/pickle", "memo_amplification", pickle.dumps([[s] * 100] * 100, protocol=4))
put("pickle", "deep_nesting", b"\x80\x04" + b"]" * 600 + b".")  # 600 EMPTY_LISTs, no APPENDs
put("pickle", "mark_flood", b"\x80\x04" + b"(" * 1000 + b".")
put("pickle", "global_os_system", b"cos\nsystem\n(S'id'\ntR.")
put("pickle", "reduce_builtins_eval", b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.")
put("pickle", "long4_huge", b"\x80\x04\x8b\xff\xff\xff\x7f" + b"\x01" * 16 + b".")
put("pickle", "binunicode_len_overflow", b"\x80\x04X\xff\xff\xff\xff" + b"a" * 8 + b".")
put("pickle", "truncated", pickle.dumps({"a": [1, 2, 3]}, protocol=4)[:-3])
put("pickle", "frame_bad", b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7f.")

# ---- rpc_body ---------------------------------------------------------------------------
def b64p(v, proto=4):
    return base64.b64encode(pickle.dumps(v, protocol=proto)).decode()
put("rpc_body", "args_kwargs", json.dumps({"args": b64p(("hi",)), "kwargs": b64p({"n": 2})}))
put("rpc_body", "empty", "{}")
put("rpc_body", "nulls", '{"args": null, "kwargs": null}')
put("rpc_body", "args_p2", json.dumps({"args": b64p((1, 2.5, b"x"), 2)}))
put("rpc_body", "whitespace_b64", json.dumps({"args": "\n".join(b64p(("a" * 50,)) [i:i + 10] for i in range(0, 80, 10))}))
put("rpc_body", "memo_amplification", json.dumps({"args": b64p(([["y" * 500] * 50] * 50,))}))
put("rpc_body", "kwargs_not_dict", json.dumps({"kwargs": b64p([1, 2])}))
put("rpc_body", "kwargs_int_keys", json.dumps({"kwargs": b64p({1: 2})}))
put("rpc_body", "bad_base64", '{"args": "!!!!"}')
put("rpc_body", "not_object", "[1, 2]")

# ---- json --------------------------------------------------------------------------------
for i, t in enumerate(['{"a": [1, 2.5, "x", null, true, false]}', '123456789012345678901234567890', '-9223372036854775809',
                       '18446744073709551615', '1e400', '"\\ud83d\\ude00 \\u0000"', '[]', '{"k": {"k": {"k": {}}}}',
                       '"\\ud800"', '[' * 600 + ']' * 600, '{"a": 1, "a": 2}', '1' * 5000, '0.1e-400', '[1,]', "\xef\xbb\xbf{}"]):
    put("json", f"seed{i:02d}", t)

# ---- query: first byte picks the Content-Type (0 json, 1 form, 2 json;charset, 3 text, 4 none) --
for i, t in enumerate(["text=hi&n=1", "a=1&a=2&b", "%41%2x%zz+plus%20", "&&=&=x&", "k=" + "%00" * 100, "/gateway%2Fjobs/%2e%2e/"]):
    put("query", f"query{i}", b"\x01" + t.encode())
put("query", "json_body", b"\x00" + b'{"prompt": "hi", "n": 2, "f": 1.5, "b": true, "z": null}')
put("query", "json_nested", b"\x02" + b'{"prompt": {"x": 1}}')
put("query", "json_array", b"\x00" + b"[1, 2]")
put("query", "text_body", b"\x03" + b"hello")
put("query", "many_keys", b"\x01" + "&".join(f"k{i}=v" for i in range(2000)).encode())  # distinct keys: cost grows with the square

# ---- ids ---------------------------------------------------------------------------------
for i, t in enumerate(["7", "0e6f2a5c-6a7b-4d2e-8f3a-1b2c3d4e5f60", "0E6F2A5C-6A7B-4D2E-8F3A-1B2C3D4E5F60:12",
                       "job:18446744073709551616", "last_event_id=5", "last_event_id=a%3A3&last_event_id=4", "-1", ":",
                       "abc\r\nSet-Cookie: x", "r" * 200, "0e6f2a5c-6a7b-4d2e-8f3a-1b2c3d4e5f6g"]):
    put("ids", f"id{i:02d}", t)

# ---- config ------------------------------------------------------------------------------
put("config", "gateway.yaml", open(os.path.join(REPO, "config", "gateway.yaml"), "rb").read())
minimal = "servers:\n  - name: s\n    uri: ws://127.0.0.1:9123/\nendpoints:\n  - name: echo\n    kind: get\n    inferlet: std/echo@0.1.0\n    arguments: [\"{text}\"]\n    params:\n      - name: text\n"
put("config", "minimal.yaml", minimal)
put("config", "duplicate_key.yaml", minimal + "limits:\n  read_timeout: 30s\n  read_timeout: 0s\n")
put("config", "two_documents.yaml", minimal + "---\nlimits: {}\n")
put("config", "read_timeout_zero.yaml", minimal + "limits:\n  read_timeout: 0s\n")
put("config", "durations.yaml", minimal + "limits:\n  read_timeout: 1.5\n  idle_timeout: 2m\n")
put("config", "anchors.yaml", "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n" + minimal)
put("config", "token_missing.yaml", minimal.replace("uri: ws://127.0.0.1:9123/\n", "uri: ws://127.0.0.1:9123/\n    auth:\n      kind: token\n      token_file: /nonexistent/token\n"))
put("config", "not_a_mapping.yaml", "- 1\n- 2\n")
put("config", "tabs_and_junk.yaml", "servers:\n\t- name: [\n")

# ---- pie_v02 / pie_v05: msgpack maps, encoded by hand ------------------------------------
def mp(v):
    if v is None: return b"\xc0"
    if v is True: return b"\xc3"
    if v is False: return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128: return bytes([v])
        if 0 <= v < 2**32: return b"\xce" + struct.pack(">I", v)
        return b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)]) if len(b) < 256 else b"\xda" + struct.pack(">H", len(b))) + b
    if isinstance(v, bytes): return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, list): return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    if isinstance(v, dict): return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)

v02 = {
    "ping": {"type": "ping", "corr_id": 1},
    "launch_instance": {"type": "launch_instance", "corr_id": 7, "inferlet": "std/echo", "arguments": ["hi"], "detached": False},
    "upload_program": {"type": "upload_program", "corr_id": 2, "program_hash": "ab" * 32, "manifest": "[package]\n",
                       "chunk_index": 0, "total_chunks": 1, "chunk_data": b"\x00asm"},
    "identification": {"type": "identification", "corr_id": 3, "username": "u"},
    "signal_instance": {"type": "signal_instance", "instance_id": "i-1", "message": "hello"},
    "response": {"type": "response", "corr_id": 1, "successful": True, "result": "ok"},
    "instance_launch_result": {"type": "instance_launch_result", "corr_id": 7, "successful": True, "message": "i-1"},
    "instance_event": {"type": "instance_event", "instance_id": "i-1", "event": 1, "message": "done"},
    "streaming_output": {"type": "streaming_output", "instance_id": "i-1", "output": {"Stdout": "tok"}},
    "live_instances": {"type": "live_instances", "corr_id": 4, "instances": [
        {"id": "i-1", "arguments": ["a"], "status": "Attached", "username": "u", "elapsed_secs": 3, "kv_pages_used": 1}]},
    "server_event": {"type": "server_event", "message": "bye"},
}
v05 = {
    "ping": {"type": "ping", "corr_id": 1},
    "launch_process": {"type": "launch_process", "corr_id": 5, "inferlet": "echo@0.1.0", "input": '{"text":"hi"}', "capture_outputs": True},
    "add_program": {"type": "add_program", "corr_id": 2, "program_hash": "ab" * 32, "manifest": "[package]\n", "force_overwrite": False,
                    "chunk_index": 0, "total_chunks": 1, "chunk_data": b"\x00asm"},
    "check_program": {"type": "check_program", "corr_id": 3, "name": "echo", "version": "0.1.0", "wasm_hash": None},
    "transfer_file": {"type": "transfer_file", "process_id": "p-1", "file_hash": "cd" * 32, "chunk_index": 0, "total_chunks": 1, "chunk_data": b"x"},
    "response": {"type": "response", "corr_id": 1, "ok": True, "result": "ok"},
    "process_event": {"type": "process_event", "process_id": "p-1", "event": "stdout", "value": "tok"},
    "file": {"type": "file", "process_id": "p-1", "file_hash": "cd" * 32, "chunk_index": 0, "total_chunks": 1, "chunk_data": b"x", "name": "out.bin"},
}
for target, msgs in (("pie_v02", v02), ("pie_v05", v05)):
    for name, m in msgs.items():
        put(target, name, mp(m))
    # Hostile frames: lengths past the end, a map claiming 2^32-1 entries, deep nesting, wrong types.
    put(target, "str32_len_past_end", b"\x82" + mp("type") + b"\xdb\xff\xff\xff\xff" + b"ping")
    put(target, "map32_huge", b"\xdf\xff\xff\xff\xff" + mp("type") + mp("ping"))
    put(target, "array32_huge", b"\x83" + mp("type") + mp("launch_instance") + mp("arguments") + b"\xdd\xff\xff\xff\xff")
    put(target, "deep_nesting", b"\x82" + mp("type") + mp("ping") + mp("corr_id") + b"\x91" * 5000 + b"\x01")
    put(target, "corr_id_negative", b"\x82" + mp("type") + mp("ping") + mp("corr_id") + b"\xd3" + struct.pack(">q", -1))
    put(target, "type_not_first", b"\x82" + mp("corr_id") + b"\x01" + mp("type") + mp("ping"))
    put(target, "ext_chunk", b"\x82" + mp("type") + mp("upload_program") + mp("chunk_data") + b"\xc7\x01\x05x")
put("pie_v05", "text_turn_done", '{"type":"turn_done"}')
put("pie_v05", "text_error", '{"type":"error","message":"boom"}')

# ---- grpc: CallRequest in protobuf text format, encoded by protoc -------------------------
grpc_text = {
    "call_args": 'endpoint: "echo" args { string_value: "hi" } args { int_value: 3 } kwargs { key: "n" value { double_value: 1.5 } }',
    "call_nested": 'endpoint: "x" args { list_value { values { map_value { fields { key: "k" value { bool_value: true } } } } values { null_value: NULL_VALUE } } }',
    "call_bytes_input": 'endpoint: "upload" args { bytes_value: "\\000\\377" } input: "body"',
    "call_big_int": 'endpoint: "x" args { big_int_value: "123456789012345678901234567890" }',
    "call_no_kind": 'endpoint: "x" args { }',
    "call_deep": 'endpoint: "x" args ' + '{ list_value { values ' * 70 + '{ int_value: 1 }' + ' } }' * 70,
}
protoc = shutil.which("protoc")
if protoc:
    for name, text in grpc_text.items():
        out = subprocess.run([protoc, "--proto_path", os.path.join(REPO, "proto"), "--proto_path", "/usr/include",
                              "--encode=pie.gateway.v1.CallRequest", "pie/gateway/v1/gateway.proto"],
                             input=text.encode(), capture_output=True, check=True).stdout
        put("grpc", name, out)
else:
    print("protoc not found: grpc seeds not written", file=sys.stderr)
put("grpc", "malformed_varint", b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")
put("grpc", "wrong_wire_type", b"\x0b\x01\x02")
