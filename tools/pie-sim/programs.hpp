// The simulated inferlets. Each program is a small state machine driven by asio timers on the
// server's single io thread; it talks to the world only through an Emitter (its instance).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pie/v02/messages.hpp"

namespace pie_sim {

/// What a running program produces; implemented by Instance (which routes or buffers it).
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void output(pg::pie::v02::Stream stream, std::string text) = 0;
  virtual void message(std::string text) = 0;  // event code 0
  virtual void blob(std::string bytes) = 0;
  /// Terminal event (codes 1-5). The program emits nothing afterwards.
  virtual void finish(pg::pie::v02::EventCode code, std::string message) = 0;
};

struct ProgramOptions {
  std::chrono::milliseconds token_delay{0};  // std/text-completion
};

class Program : public std::enable_shared_from_this<Program> {
 public:
  Program(boost::asio::any_io_executor ex, Emitter& out);
  virtual ~Program() = default;
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  /// Begins running; the first emission happens from a later handler, never inside start().
  virtual void start(std::vector<std::string> args) = 0;
  virtual void on_signal(std::string /*message*/) {}
  virtual void on_blob(std::string /*bytes*/) {}
  /// Terminated or finished: cancels timers; nothing is emitted afterwards.
  void stop();

 protected:
  /// Runs `fn` after `delay` (0 = posted) unless the program stopped meanwhile.
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  void out(std::string text) { if (out_) out_->output(pg::pie::v02::Stream::Stdout, std::move(text)); }
  void err(std::string text) { if (out_) out_->output(pg::pie::v02::Stream::Stderr, std::move(text)); }
  void msg(std::string text) { if (out_) out_->message(std::move(text)); }
  void blob(std::string bytes) { if (out_) out_->blob(std::move(bytes)); }
  void finish(pg::pie::v02::EventCode code, std::string message);
  bool stopped() const { return out_ == nullptr; }

 private:
  boost::asio::any_io_executor ex_;
  boost::asio::steady_timer timer_;
  Emitter* out_;
};

/// The built-in registry ("std/echo@0.1.0", ...).
const std::vector<std::string>& registry_programs();
bool registry_has(std::string_view full_name);
inline constexpr std::string_view kRegistryLatest = "0.1.0";

/// A registry program by full name, or (for any other name) the echo behaviour that uploaded
/// programs get.
std::shared_ptr<Program> make_program(std::string_view full_name, boost::asio::any_io_executor ex, Emitter& out,
                                      const ProgramOptions& options);

/// The deterministic pseudo-tokens std/text-completion streams for `prompt` (exposed for tests).
std::vector<std::string> pseudo_tokens(std::string_view prompt, std::size_t count);

}  // namespace pie_sim
