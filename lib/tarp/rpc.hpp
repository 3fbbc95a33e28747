// TARP's RPC wire format: the request body {"args": B64(pickle(tuple)), "kwargs": B64(pickle(dict))}
// and the result {"payload": B64(pickle(value))}.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "tarp/pickle.hpp"
#include "value/value.hpp"

namespace pg::tarp {

struct RpcArgs {
  std::vector<value::Value> args;
  std::vector<std::pair<std::string, value::Value>> kwargs;  // in the caller's order, names unique
};

/// Decodes an RPC request body. Content-Type must be application/json (parameters such as charset
/// are ignored) or absent. The body must be a JSON object; "args" and "kwargs" (other keys are
/// ignored) are each absent/null (= empty) or a standard base64 string (whitespace tolerated) of a
/// pickle: args of a tuple, kwargs of a dict with str keys. Errors are messages for a 400 answer.
Result<RpcArgs> decode_rpc_body(std::string_view content_type, std::string_view body, const PickleLimits& limits = {});

/// base64(pickle(v)) with protocol 4: the "payload" of an RPC or asyncGet result.
std::string rpc_payload_b64(const value::Value& v);

}  // namespace pg::tarp
