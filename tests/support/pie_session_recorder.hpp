// Helpers for tests of pg::pie::Session (either protocol line): a sink that records what one
// instance produced, and a `done` callback whose result is read later. Single-threaded: used on
// the io_context the session runs on.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pie/session.hpp"

namespace pg::test {

// What one instance produced, in order ("out:..", "err:..", "msg:..", "blob:..", "end:..").
struct Recorder {
  std::vector<std::string> log;
  std::string out, err;
  std::vector<std::string> out_chunks, messages;
  std::vector<std::pair<std::string, std::string>> blobs;
  std::optional<pie::InstanceEnd> end;
  std::string end_message;
  int ends = 0;
  std::function<void()> on_first_stdout;

  static pie::InstanceSink sink(const std::shared_ptr<Recorder>& r) {
    pie::InstanceSink s;
    s.on_stdout = [r](std::string_view t) {
      r->log.push_back("out:" + std::string(t));
      r->out += t;
      r->out_chunks.emplace_back(t);
      if (auto f = std::exchange(r->on_first_stdout, nullptr)) f();
    };
    s.on_stderr = [r](std::string_view t) {
      r->log.push_back("err:" + std::string(t));
      r->err += t;
    };
    s.on_message = [r](std::string_view t) {
      r->log.push_back("msg:" + std::string(t));
      r->messages.emplace_back(t);
    };
    s.on_blob = [r](std::string_view hash, std::string bytes) {
      r->log.push_back("blob:" + std::string(hash));
      r->blobs.emplace_back(std::string(hash), std::move(bytes));
    };
    s.on_end = [r](pie::InstanceEnd e, std::string_view m) {
      r->log.push_back(std::string("end:") + pie::to_string(e));
      r->end = e;
      r->end_message = std::string(m);
      ++r->ends;
    };
    return s;
  }
};

// A `done` callback's result, filled later.
struct Reply {
  std::optional<Result<std::string>> r;
  pie::Session::Done cb() {
    return [this](Result<std::string> x) { r.emplace(std::move(x)); };
  }
  bool ready() const { return r.has_value(); }
  bool ok() const { return r && r->ok(); }
  std::string text() const { return !r ? "<pending>" : r->ok() ? r->value() : "error: " + r->error(); }
};

}  // namespace pg::test
