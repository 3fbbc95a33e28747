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

namespace pie_sim {

/// Protocol-neutral words for what a program produces; each protocol's table maps them.
enum class Stream { Stdout, Stderr };
/// 0.2: Completed / Exception events; 0.5: `return` / `error` process events.
enum class Outcome { Returned, Failed };
/// Whose texts a program uses where the two protocol lines' simulators differ.
enum class Dialect { V02, V05 };

/// What a running program produces; implemented by a 0.2 Instance or a 0.5 Process (which route
/// or buffer it).
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void output(Stream stream, std::string text) = 0;
  virtual void message(std::string text) = 0;  // 0.2 event code 0, 0.5 `message`
  /// A blob (0.2) or a file (0.5, sent with `name`).
  virtual void blob(std::string bytes, std::string_view name) = 0;
  /// Terminal. The program emits nothing afterwards.
  virtual void finish(Outcome outcome, std::string message) = 0;
};

struct ProgramOptions {
  std::chrono::milliseconds token_delay{0};  // std/text-completion
  Dialect dialect = Dialect::V02;
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
  void out(std::string text) { if (out_) out_->output(Stream::Stdout, std::move(text)); }
  void err(std::string text) { if (out_) out_->output(Stream::Stderr, std::move(text)); }
  void msg(std::string text) { if (out_) out_->message(std::move(text)); }
  void blob(std::string bytes, std::string_view name) { if (out_) out_->blob(std::move(bytes), name); }
  void finish(Outcome outcome, std::string message);
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
/// (The 0.5 mode maps its names and JSON inputs onto these; see inputs_v05.hpp.)
std::shared_ptr<Program> make_program(std::string_view full_name, boost::asio::any_io_executor ex, Emitter& out,
                                      const ProgramOptions& options);

/// A program that fails at once with `message` (the 0.5 mode's "invalid input: ...").
std::shared_ptr<Program> make_failing_program(boost::asio::any_io_executor ex, Emitter& out, std::string message);

/// The deterministic pseudo-tokens std/text-completion streams for `prompt` (exposed for tests).
std::vector<std::string> pseudo_tokens(std::string_view prompt, std::size_t count);

}  // namespace pie_sim
