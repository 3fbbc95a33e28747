// The TARP front door over HTTP: discovery at GET /, and the web-like endpoints
// (GET/POST /<name>) answered with TARP's JSON envelope. Each call is a job.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "endpoints/registry.hpp"
#include "http/message.hpp"
#include "jobs/job_service.hpp"

namespace pg::frontdoor {

class TarpHttp : public http::Handler {
 public:
  /// `ready` says whether at least one Pie server can take work (for /readyz).
  TarpHttp(std::shared_ptr<const endpoints::Registry> registry, jobs::JobService& jobs, std::function<bool()> ready);

  void handle(http::Request req, http::Responder respond) override;
  http::Response transport_error(int status, std::string_view type, std::string_view message) override;

 private:
  void call_endpoint(const endpoints::Endpoint& ep, http::Request& req, http::Responder& respond);

  std::shared_ptr<const endpoints::Registry> registry_;
  jobs::JobService& jobs_;
  std::function<bool()> ready_;
  http::Response discovery_;
};

/// The HTTP answer for a finished job (success envelope or the mapped error).
http::Response job_response(const jobs::Job& job);

}  // namespace pg::frontdoor
