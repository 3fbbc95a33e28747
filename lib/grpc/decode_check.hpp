// Why a request's bytes did not parse as its message (gRPC only says that they did not). A scan
// of the protobuf wire format guided by the message's descriptor, iterative (no recursion however
// deep the input nests), bounded by the input's size. Protobuf only: no gRPC headers.
#pragma once

#include <string>
#include <string_view>

namespace google::protobuf {
class Descriptor;
}

namespace pg::grpc_api {

/// Protobuf's own nesting limit for parsing (messages inside messages).
inline constexpr int kProtobufNestingLimit = 100;

/// "request is not a valid pie.gateway.v1.CallRequest: <what is wrong>", naming the problem:
/// truncated or malformed wire data (with its byte offset), a wrong wire type for a field, nesting
/// past protobuf's limit (how many levels of Value, in which field), or text that is not UTF-8.
std::string explain_undecodable(std::string_view bytes, const google::protobuf::Descriptor* type);

}  // namespace pg::grpc_api
