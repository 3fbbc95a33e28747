#include "endpoints/result.hpp"

namespace pg::endpoints {

Result<value::Value> result_value(const jobs::Job& job) {
  const std::string& text = job.result();
  if (job.spec.result == config::ResultSource::Blob) {
    if (job.blobs.empty())
      return make_error("endpoint '" + job.spec.endpoint + "' returns a blob, but the inferlet completed without sending one");
    return value::Value::bytes(text);
  }
  if (job.spec.format == config::ResultFormat::Text) return value::Value::str(text);
  auto v = value::parse_json(text);
  if (!v) {
    std::string head = text.size() > 200 ? text.substr(0, 200) + "..." : text;
    return make_error("endpoint '" + job.spec.endpoint + "' declares a JSON result, but the inferlet returned (" +
                      v.error() + "): " + head);
  }
  return std::move(*v);
}

}  // namespace pg::endpoints
