// The TARP front door's browser routes: CORS (preflights and response headers), the /ui page,
// `/` for browsers (these three need no credential), a job's event stream, result and blobs,
// and resuming a call's event stream (the caller's own jobs only).
#include <charconv>

#include "frontdoor/cors.hpp"
#include "frontdoor/job_answers.hpp"
#include "frontdoor/sse.hpp"
#include "frontdoor/tarp_http.hpp"
#include "frontdoor/ui.hpp"
#include "tarp/envelope.hpp"

namespace pg::frontdoor {

namespace {

http::Response no_content() {
  http::Response r;
  r.status = 204;  // also what stops an EventSource from reconnecting
  return r;
}

std::optional<std::size_t> parse_index(std::string_view s) {
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return n;
}

/// Where a stream of `job` resumes after event `index`, or an answer that ends the matter
/// (204: everything was delivered; 400: an index the gateway never sent).
std::variant<std::size_t, http::Response> resume_point(const jobs::Job& job, std::optional<std::size_t> index) {
  std::size_t from = index ? *index + 1 : 0;
  if (jobs::is_finished(job.state) && from >= job.events.size()) return no_content();
  if (from > job.events.size())
    return tarp::error(400, "BadRequest",
                       "Last-Event-ID " + std::to_string(*index) + " is past job " + job.id.str() + "'s events (it has " +
                           std::to_string(job.events.size()) + ")");
  return from;
}

}  // namespace

void TarpHttp::set_cors(config::Cors cors) { cors_ = std::make_shared<const config::Cors>(std::move(cors)); }

bool TarpHttp::browser(const std::string& path, http::Request& req, http::Responder& respond) {
  if (req.method == "OPTIONS") {  // preflights carry their own CORS headers
    respond(options_answer(*cors_, req));
    return true;
  }
  if (cors_->enabled()) {
    respond = [cors = cors_, origin = std::string(req.header("Origin")), respond = std::move(respond)](http::Response r) {
      add_cors_headers(*cors, origin, r.headers);
      respond(std::move(r));
    };
  }
  if (auto refused = cross_site_refusal(*cors_, req)) {  // POST from a web page elsewhere
    respond(std::move(*refused));
  } else if (auto ui = ui_answer(path, req)) {
    respond(std::move(*ui));
  } else if (path == "/" && req.method == "GET" && req.header("Accept").find("text/html") != std::string_view::npos) {
    // A browser opening the gateway gets the page; TARP clients (Accept: */* or JSON) get discovery.
    http::Response r;
    r.status = 303;
    r.headers.emplace_back("Location", "ui");
    r.headers.emplace_back("Vary", "Accept");
    respond(std::move(r));
  } else {
    return false;
  }
  return true;
}

void TarpHttp::job_route(const std::string& rest, const Caller& caller, http::Request& req, http::Responder& respond) {
  auto slash = rest.find('/');
  const std::string id = rest.substr(0, slash);
  const std::string what = slash == std::string::npos ? "" : rest.substr(slash + 1);
  const bool blob = what.rfind("blobs/", 0) == 0;
  if (what != "events" && what != "result" && !blob)
    return respond(tarp::error(404, "NotFound", "gateway/jobs/<id>/ has events, result and blobs/<n>"));
  if (req.method != "GET") {
    auto r = tarp::error(405, "MethodNotAllowed", "gateway/jobs/<id>/" + what + " answers GET only");
    r.headers.emplace_back("Allow", "GET");
    return respond(std::move(r));
  }
  auto job = find_job(caller, id);
  if (!job) return respond(tarp::error(404, "NotFound", "no job with UUID '" + id + "' (finished jobs are kept for a while only)"));
  if (what == "result") {
    if (!jobs::is_finished(job->state)) return respond(in_progress_answer(*job));
    return respond(web_answer(*job));  // unlike asyncGet, the job stays known
  }
  if (blob) {
    auto n = parse_index(std::string_view(what).substr(6));
    if (!n || *n >= job->blobs.size())
      return respond(tarp::error(404, "NotFound", "job " + id + " has " + std::to_string(job->blobs.size()) +
                                                     " blobs; '" + what.substr(6) + "' is not one of them"));
    http::Response r;
    r.content_type = job->spec.result == config::ResultSource::Blob && !job->spec.content_type.empty()
                         ? job->spec.content_type
                         : "application/octet-stream";
    r.body = job->blobs[*n].bytes;
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return respond(std::move(r));
  }
  auto last = last_event_id(req, true);
  if (!last) return respond(tarp::error(400, "BadRequest", last.error()));
  std::optional<std::size_t> index;
  if (*last) {
    if (!(*last)->job.empty() && (*last)->job != job->id.str())
      return respond(tarp::error(400, "BadRequest", "Last-Event-ID names job " + (*last)->job + ", not " + job->id.str()));
    index = (*last)->index;
  }
  auto from = resume_point(*job, index);
  if (auto* answer = std::get_if<http::Response>(&from)) return respond(std::move(*answer));
  respond(sse_answer(jobs_, job, {.from = std::get<std::size_t>(from), .call = false}));
}

bool TarpHttp::resume_call(const endpoints::Endpoint& ep, const Caller& caller, http::Request& req,
                           http::Responder& respond) {
  auto last = last_event_id(req, false);  // the query string holds the endpoint's parameters
  if (last && !*last) return false;       // a new call
  if (!last) {
    respond(tarp::error(400, "BadRequest", last.error()));
    return true;
  }
  const auto& id = **last;
  auto job = id.job.empty() ? nullptr : find_job(caller, id.job);
  if (id.job.empty()) {
    respond(tarp::error(400, "BadRequest", "an endpoint call's Last-Event-ID is <job>:<index>, as its events carry"));
  } else if (!job || job->spec.endpoint != ep.cfg.name) {
    respond(tarp::error(404, "NotFound", "no job " + id.job + " of endpoint '" + ep.cfg.name + "' to resume"));
  } else {
    auto from = resume_point(*job, id.index);
    if (auto* answer = std::get_if<http::Response>(&from)) {
      respond(std::move(*answer));
    } else {
      const bool cancel = !job->spec.async && ep.cfg.cancel_on_disconnect;
      respond(sse_answer(jobs_, job, {.from = std::get<std::size_t>(from), .call = true, .cancel_on_disconnect = cancel}));
    }
  }
  return true;
}

}  // namespace pg::frontdoor
