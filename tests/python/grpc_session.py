"""Drives pie-gateway's gRPC API from Python (Debian's python3-grpcio), with stubs generated at
run time from proto/pie/gateway/v1/gateway.proto by grpc_tools.protoc: proof that the API is
usable outside C++. Also the standard health service and server reflection, spoken with raw
bytes (Debian ships no grpc_health/grpc_reflection Python packages).

usage: grpc_session.py HOST:PORT PROTO_ROOT
Prints one "OK <check>" or "FAIL <check>: <why>" line per check; exits 1 if any failed.
"""
import queue
import subprocess
import sys
import tempfile
import time

target, proto_root = sys.argv[1], sys.argv[2]
out = tempfile.mkdtemp(prefix="pg-grpc-py-")
subprocess.check_call([sys.executable, "-m", "grpc_tools.protoc", "-I" + proto_root, "-I/usr/include",
                       "--python_out=" + out, "--grpc_python_out=" + out, "pie/gateway/v1/gateway.proto"])
sys.path.insert(0, out)

import grpc  # noqa: E402
from pie.gateway.v1 import gateway_pb2 as pb  # noqa: E402
from pie.gateway.v1 import gateway_pb2_grpc as pb_grpc  # noqa: E402

failures = 0


def check(name, cond, why=""):
    global failures
    if cond:
        print("OK " + name, flush=True)
    else:
        failures += 1
        print("FAIL %s: %s" % (name, why), flush=True)


channel = grpc.insecure_channel(target)
stub = pb_grpc.GatewayStub(channel)

# Health (grpc.health.v1): HealthCheckRequest{service=1}, HealthCheckResponse{status=1}; SERVING = 1.
health = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda b: b,
                             response_deserializer=lambda b: b)


def health_status(service):
    name = service.encode()
    try:
        reply = health(b"\x0a" + bytes([len(name)]) + name if name else b"", timeout=5)
    except grpc.RpcError as e:
        return e.code()
    return reply[1] if len(reply) == 2 and reply[0] == 0x08 else 0


status = None
for _ in range(100):  # readiness follows the Pie sessions, refreshed twice a second
    status = health_status("")
    if status == 1:
        break
    time.sleep(0.05)
check("health '' SERVING", status == 1, repr(status))
check("health group/g1 SERVING", health_status("group/g1") == 1, repr(health_status("group/g1")))
check("health of an unknown service is NOT_FOUND", health_status("nope") == grpc.StatusCode.NOT_FOUND)

# Reflection (v1alpha): list_services (field 7) -> the Gateway service is named.
reflect = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                request_serializer=lambda b: b, response_deserializer=lambda b: b)
replies = list(reflect(iter([b"\x3a\x01*"]), timeout=5))
check("reflection lists pie.gateway.v1.Gateway", any(b"pie.gateway.v1.Gateway" in r for r in replies), repr(replies))

endpoints = stub.ListEndpoints(pb.ListEndpointsRequest(), timeout=5)
check("ListEndpoints", [e.name for e in endpoints.endpoints][:2] == ["echo", "complete"], str(endpoints))

resp, call = stub.Call.with_call(pb.CallRequest(endpoint="echo", kwargs={"text": pb.Value(string_value="from python")}),
                                 metadata=[("x-request-id", "py-1")], timeout=10)
check("Call", resp.result.string_value == "from python" and resp.server == "sim", str(resp))
check("x-request-id echoed", ("x-request-id", "py-1") in call.initial_metadata(), str(call.initial_metadata()))

events = list(stub.CallStream(pb.CallRequest(endpoint="complete", args=[pb.Value(string_value="py")],
                                             kwargs={"max_tokens": pb.Value(int_value=5)}), timeout=10))
kinds = [e.WhichOneof("kind") for e in events]
text = b"".join(e.stdout for e in events if e.WhichOneof("kind") == "stdout").decode()
check("CallStream order", kinds == ["started"] + ["stdout"] * 5 + ["end"], str(kinds))
check("CallStream result", events[-1].end.result.string_value == text, "%r vs %r" % (events[-1].end.result, text))

try:
    stub.Call(pb.CallRequest(endpoint="fail"), timeout=10)
    check("inferlet failure is ABORTED", False, "no error")
except grpc.RpcError as e:
    trailers = dict(e.trailing_metadata())
    check("inferlet failure is ABORTED", e.code() == grpc.StatusCode.ABORTED, str(e.code()))
    check("pie-error-type trailer", trailers.get("pie-error-type") == "Exception", str(trailers))
    rich = pb.RichStatus.FromString(trailers.get("grpc-status-details-bin", b""))
    info = pb.ErrorInfo()
    check("ErrorInfo in details", len(rich.details) >= 1 and rich.details[0].Unpack(info) and info.type == "Exception",
          str(rich))

try:
    stub.Call(pb.CallRequest(endpoint="sleep", args=[pb.Value(int_value=5000)]), timeout=0.3)
    check("deadline is DEADLINE_EXCEEDED", False, "no error")
except grpc.RpcError as e:
    check("deadline is DEADLINE_EXCEEDED", e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, str(e.code()))

job = stub.SubmitJob(pb.CallRequest(endpoint="echo", args=[pb.Value(string_value="later")]), timeout=5)
done = stub.WaitJob(pb.WaitJobRequest(id=job.job_id), timeout=10)
check("SubmitJob + WaitJob", done.state == pb.JOB_STATE_COMPLETED and done.result.string_value == "later", str(done))
watched = list(stub.WatchJob(pb.WatchJobRequest(id=job.job_id), timeout=10))
check("WatchJob replays a finished job", watched[0].HasField("started") and watched[-1].HasField("end"), str(watched))

try:
    stub.GetJob(pb.GetJobRequest(id="00000000-0000-4000-8000-000000000000"), timeout=5)
    check("unknown job is NOT_FOUND", False, "no error")
except grpc.RpcError as e:
    check("unknown job is NOT_FOUND", e.code() == grpc.StatusCode.NOT_FOUND, str(e.code()))

servers = stub.ListServers(pb.ListServersRequest(), timeout=5)
check("ListServers", [s.name for s in servers.servers] == ["sim"] and "g1" in servers.servers[0].groups, str(servers))

# Converse: a conversation with a session endpoint (std/chat) over one bidirectional stream;
# requests are fed from a queue so each can wait for the previous answer.
outbox = queue.Queue()


def converse_requests():
    while (r := outbox.get()) is not None:
        yield r


outbox.put(pb.ConverseRequest(open=pb.ConverseOpen(endpoint="chat")))
answers = stub.Converse(converse_requests(), timeout=10)
opened = next(answers)
check("Converse open", opened.WhichOneof("kind") == "opened" and len(opened.opened.session_id) == 36, str(opened))
outbox.put(pb.ConverseRequest(say=pb.ConverseSay(text="hi from python")))
reply = next(answers)
check("Converse say", reply.reply.text == "echo: hi from python" and not reply.reply.ended, str(reply))
outbox.put(pb.ConverseRequest(close=pb.ConverseClose()))
closed = next(answers)
outbox.put(None)
rest = list(answers)
check("Converse close", closed.closed.job.state == pb.JOB_STATE_COMPLETED and rest == [], str(closed) + str(rest))

sys.exit(1 if failures else 0)
