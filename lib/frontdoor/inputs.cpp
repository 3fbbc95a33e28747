#include "frontdoor/inputs.hpp"

#include <algorithm>

namespace pg::frontdoor {

bool body_is_input(const config::Endpoint& ep) {
  return std::any_of(ep.inputs.begin(), ep.inputs.end(), [](const auto& in) { return in.param.empty(); });
}

Result<std::vector<jobs::JobSpec::Input>> call_inputs(const config::Endpoint& ep, const std::string& body,
                                                      const endpoints::CallArgs& args) {
  std::vector<jobs::JobSpec::Input> out;
  for (const auto& in : ep.inputs) {
    jobs::JobSpec::Input i;
    i.send = in.send;
    if (in.param.empty()) {
      i.bytes = body;
    } else {
      auto named = std::find_if(args.named.rbegin(), args.named.rend(), [&](const auto& kv) { return kv.first == in.param; });
      auto decl = std::find_if(ep.params.begin(), ep.params.end(), [&](const auto& p) { return p.name == in.param; });
      const auto pos = static_cast<std::size_t>(decl - ep.params.begin());
      if (named != args.named.rend()) i.bytes = named->second;
      else if (pos < args.positional.size()) i.bytes = args.positional[pos];
      else if (decl != ep.params.end() && decl->default_value) i.bytes = *decl->default_value;
      else return make_error("parameter '" + in.param + "' is required (the endpoint sends it to the inferlet)");
    }
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace pg::frontdoor
