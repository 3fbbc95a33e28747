// TARP's JSON envelope ({"status":"success","mimetype":M,"result":R} / {"status":"error",...}).
// Content-Type is exactly "application/json": the Python client compares the string.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

#include "http/message.hpp"

namespace pg::tarp {

inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kText = "text/plain";

/// 200 with a success envelope around `result`, whose own MIME type is `mimetype`.
http::Response success(const nlohmann::json& result, std::string_view mimetype);
/// 200 with a text result (mimetype text/plain, the plain string: not base64 as the reference server does).
http::Response success_text(std::string_view text);
/// An error envelope with an HTTP status; `extra` (an object, may be null) adds fields beside message.
http::Response error(int status, std::string_view type, std::string_view message);
http::Response error(int status, std::string_view type, std::string_view message, const nlohmann::json& extra);

}  // namespace pg::tarp
