#include "programs.hpp"

#include "image.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace pie_sim {

namespace asio = boost::asio;
using std::chrono::milliseconds;

Program::Program(asio::any_io_executor ex, Emitter& out) : ex_(ex), timer_(ex), out_(&out) {}

void Program::stop() {
  out_ = nullptr;
  timer_.cancel();
}

void Program::after(milliseconds delay, std::function<void()> fn) {
  if (stopped()) return;
  auto self = shared_from_this();
  if (delay.count() <= 0) {
    asio::post(ex_, [self, fn = std::move(fn)] {
      if (!self->stopped()) fn();
    });
    return;
  }
  timer_.expires_after(delay);
  timer_.async_wait([self, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec && !self->stopped()) fn();
  });
}

void Program::finish(Outcome outcome, std::string message) {
  Emitter* e = out_;
  stop();
  if (e) e->finish(outcome, std::move(message));
}

namespace {

std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty() || v > max) return std::nullopt;
  return v;
}

std::string join(const std::vector<std::string>& args) {
  std::string text;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i) text += ' ';
    text += args[i];
  }
  return text;
}

/// std/echo, and every uploaded program: stdout = the arguments, then Completed with the same text.
class Echo final : public Program {
 public:
  using Program::Program;
  void start(std::vector<std::string> args) override {
    after(milliseconds(0), [this, text = join(args)]() mutable {
      out(text);
      finish(Outcome::Returned, std::move(text));
    });
  }
};

class TextCompletion final : public Program {
 public:
  TextCompletion(asio::any_io_executor ex, Emitter& out, milliseconds delay) : Program(ex, out), delay_(delay) {}
  void start(std::vector<std::string> args) override {
    std::optional<std::string> prompt;
    std::uint64_t max_tokens = 16;
    std::string error;
    for (std::size_t i = 0; i < args.size() && error.empty(); ++i) {
      const bool has_value = i + 1 < args.size();
      if (args[i] == "--prompt" && has_value) {
        prompt = args[++i];
      } else if (args[i] == "--max-tokens" && has_value) {
        auto n = parse_uint(args[++i], 4096);
        if (!n) error = "--max-tokens must be an integer in 0..4096, got '" + args[i] + "'";
        else max_tokens = *n;
      } else {
        error = "unexpected argument '" + args[i] + "'";
      }
    }
    if (error.empty() && !prompt) error = "--prompt is required";
    if (!error.empty()) {
      after(milliseconds(0), [this, error] { finish(Outcome::Failed, "text-completion: " + error); });
      return;
    }
    tokens_ = pseudo_tokens(*prompt, max_tokens);
    step();
  }

 private:
  void step() {
    after(next_ == 0 ? milliseconds(0) : delay_, [this] {
      if (next_ < tokens_.size()) {
        text_ += tokens_[next_];
        out(tokens_[next_++]);
      }
      if (next_ < tokens_.size()) step();
      else finish(Outcome::Returned, text_);
    });
  }

  milliseconds delay_;
  std::vector<std::string> tokens_;
  std::size_t next_ = 0;
  std::string text_;
};

class Sleep final : public Program {
 public:
  using Program::Program;
  void start(std::vector<std::string> args) override {
    std::optional<std::uint64_t> ms;
    if (args.size() == 2 && args[0] == "--ms") ms = parse_uint(args[1], 3'600'000);
    if (!ms) {
      after(milliseconds(0), [this] { finish(Outcome::Failed, "sleep: usage: --ms N (0..3600000)"); });
      return;
    }
    after(milliseconds(*ms), [this, n = *ms] { finish(Outcome::Returned, "slept " + std::to_string(n) + " ms"); });
  }
};

class Fail final : public Program {
 public:
  using Program::Program;
  void start(std::vector<std::string> /*args*/) override {
    after(milliseconds(0), [this] {
      err("fail: about to raise a simulated failure\n");
      finish(Outcome::Failed, "simulated failure");
    });
  }
};

// 0.2 (std/chat): "bye" completes without an echo. 0.5 (chat@0.1.0): every signal is echoed,
// "bye" included, and "bye" then returns.
class Chat final : public Program {
 public:
  Chat(asio::any_io_executor ex, Emitter& out, Dialect dialect) : Program(ex, out), echo_bye_(dialect == Dialect::V05) {}
  void start(std::vector<std::string> /*args*/) override {}
  void on_signal(std::string message) override {
    after(milliseconds(0), [this, m = std::move(message)] {
      if (m != "bye" || echo_bye_) msg("echo: " + m);
      if (m == "bye") finish(Outcome::Returned, "bye");
    });
  }

 private:
  bool echo_bye_;
};

class BlobEcho final : public Program {
 public:
  using Program::Program;
  void start(std::vector<std::string> /*args*/) override {}
  void on_blob(std::string bytes) override {
    if (got_blob_) return;
    got_blob_ = true;
    after(milliseconds(0), [this, b = std::move(bytes)]() mutable {
      const auto n = b.size();
      blob(std::move(b), "echo.bin");
      finish(Outcome::Returned, std::to_string(n) + " bytes");
    });
  }

 private:
  bool got_blob_ = false;
};

class FailAtOnce final : public Program {
 public:
  FailAtOnce(asio::any_io_executor ex, Emitter& out, std::string message) : Program(ex, out), message_(std::move(message)) {}
  void start(std::vector<std::string> /*args*/) override {
    after(milliseconds(0), [this] { finish(Outcome::Failed, message_); });
  }

 private:
  std::string message_;
};

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<std::string> pseudo_tokens(std::string_view prompt, std::size_t count) {
  static constexpr std::array<const char*, 24> kWords = {
      "the",   "model", "pie",    "token", "river", "stone", "light", "quiet", "north", "amber", "gate",  "cloud",
      "paper", "ember", "orbit",  "maple", "delta", "prism", "echo",  "tide",  "lumen", "cedar", "spark", "haven"};
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the prompt
  for (unsigned char c : prompt) h = (h ^ c) * 1099511628211ULL;
  std::vector<std::string> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto word = kWords[splitmix(h + i) % kWords.size()];
    out.push_back(i == 0 ? std::string(word) : " " + std::string(word));
  }
  return out;
}

const std::vector<std::string>& registry_programs() {
  static const std::vector<std::string> kNames = {"std/echo@0.1.0",  "std/text-completion@0.1.0", "std/sleep@0.1.0",
                                                  "std/fail@0.1.0",  "std/chat@0.1.0",            "std/blob-echo@0.1.0",
                                                  "std/image@0.1.0"};
  return kNames;
}

bool registry_has(std::string_view full_name) {
  const auto& names = registry_programs();
  return std::find(names.begin(), names.end(), full_name) != names.end();
}

std::shared_ptr<Program> make_program(std::string_view name, asio::any_io_executor ex, Emitter& out,
                                      const ProgramOptions& options) {
  if (name == "std/text-completion@0.1.0") return std::make_shared<TextCompletion>(ex, out, options.token_delay);
  if (name == "std/sleep@0.1.0") return std::make_shared<Sleep>(ex, out);
  if (name == "std/fail@0.1.0") return std::make_shared<Fail>(ex, out);
  if (name == "std/chat@0.1.0") return std::make_shared<Chat>(ex, out, options.dialect);
  if (name == "std/blob-echo@0.1.0") return std::make_shared<BlobEcho>(ex, out);
  if (name == "std/image@0.1.0") return make_image_program(ex, out, options.dialect);
  return std::make_shared<Echo>(ex, out);
}

std::shared_ptr<Program> make_failing_program(asio::any_io_executor ex, Emitter& out, std::string message) {
  return std::make_shared<FailAtOnce>(ex, out, std::move(message));
}

}  // namespace pie_sim
