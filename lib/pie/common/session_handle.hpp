// The Session handle callers hold, over a line's connection (a ConnectionCore subclass with the
// Session's request methods). Destroying the handle abandons the connection: no callbacks follow.
#pragma once

#include <memory>
#include <utility>

#include "pie/session.hpp"

namespace pg::pie {

template <class Conn>
class SessionHandle final : public Session {
 public:
  explicit SessionHandle(std::shared_ptr<Conn> c) : c_(std::move(c)) {}
  ~SessionHandle() override { c_->abandon(); }

  void start(Done done) override { c_->start(std::move(done)); }
  void close() override { c_->close(); }
  bool is_open() const override { return c_->is_open(); }
  void on_closed(std::function<void(std::string reason)> cb) override { c_->on_closed(std::move(cb)); }
  void launch(LaunchRequest req, InstanceSink sink, Done done) override {
    c_->launch(std::move(req), std::move(sink), std::move(done));
  }
  void attach(std::string instance_id, InstanceSink sink, Done done) override {
    c_->attach(std::move(instance_id), std::move(sink), std::move(done));
  }
  void terminate(std::string instance_id, Done done) override { c_->terminate(std::move(instance_id), std::move(done)); }
  void signal(std::string instance_id, std::string message) override {
    c_->signal(std::move(instance_id), std::move(message));
  }
  void upload_blob(std::string instance_id, std::string bytes, Done done) override {
    c_->upload_blob(std::move(instance_id), std::move(bytes), std::move(done));
  }
  void upload_program(std::string program_hash, std::string manifest, std::shared_ptr<const std::string> bytes,
                      Done done) override {
    c_->upload_program(std::move(program_hash), std::move(manifest), std::move(bytes), std::move(done));
  }
  void ping(Done done) override { c_->ping(std::move(done)); }
  void query(std::string subject, std::string record, Done done) override {
    c_->query(std::move(subject), std::move(record), std::move(done));
  }
  void launch_server(std::uint32_t port, std::string inferlet, std::vector<std::string> arguments,
                     Done done) override {
    c_->launch_server(port, std::move(inferlet), std::move(arguments), std::move(done));
  }
  std::size_t pending_requests() const override { return c_->pending_requests(); }
  std::size_t attached_instances() const override { return c_->attached_instances(); }
  std::chrono::steady_clock::time_point last_received() const override { return c_->last_received(); }
  Protocol protocol() const override { return c_->protocol(); }

 private:
  std::shared_ptr<Conn> c_;
};

}  // namespace pg::pie
