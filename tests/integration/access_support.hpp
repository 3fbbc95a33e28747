// Shared by the access tests (access_http_test.cpp, access_ownership_test.cpp): clients whose
// tokens come from `pie-gateway token`, a gateway started with `access:` over them, requests
// as one of them, and the check run after every test that no token reached any log.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/stack.hpp"

namespace pg::test {

struct AccessClient {
  std::string name;
  std::string token;
  std::string sha256;  // hex, as `pie-gateway token` printed it
  std::string bearer() const { return "Bearer " + token; }
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

class AccessTest : public ::testing::Test {
 protected:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  /// A new client: its token and hash from `pie-gateway token --name NAME`.
  AccessClient mint(const std::string& name) {
    Process p({binary_path("pie-gateway"), "token", "--name", name});
    AccessClient c{name, p.read_line(std::chrono::seconds(10)).value_or(""), ""};
    for (int i = 0; i < 5 && c.sha256.empty(); ++i) {
      auto line = p.read_line(std::chrono::seconds(10));
      if (!line) break;
      auto at = line->find("token_sha256: ");
      if (at != std::string::npos) c.sha256 = line->substr(at + 14, 64);
    }
    p.wait(std::chrono::seconds(10));
    EXPECT_EQ(c.token.rfind("pgt_", 0), 0u) << c.token;
    EXPECT_EQ(c.sha256.size(), 64u);
    secrets_.push_back(c.token);
    return c;
  }
  /// A string that must never be logged (a wrong token sent on purpose).
  std::string secret(std::string s) {
    secrets_.push_back(s);
    return s;
  }

  /// `entries`: the clients file's list items ("  - {name: ..., token_sha256: ...}\n");
  /// `access_extra`: more lines under `access:`.
  Stack& start(const std::string& endpoints, const std::string& entries, const std::string& access_extra = "",
               StackOptions o = {}) {
    clients_file_ = temp_dir() + "/clients.yaml";
    write_file(clients_file_, "clients:\n" + entries);
    o.endpoints_yaml = endpoints + "access:\n  clients_file: " + clients_file_ + "\n" + access_extra;
    stack_ = std::make_unique<Stack>(o);
    return *stack_;
  }
  static std::string entry(const AccessClient& c, const std::string& more = "") {
    return "  - {name: " + c.name + ", token_sha256: " + c.sha256 + (more.empty() ? "" : ", " + more) + "}\n";
  }

  HttpResult get(const std::string& target, const std::string& auth, Headers extra = {}) {
    HttpClient c(stack_->http_port);
    if (!auth.empty()) extra.emplace_back("Authorization", auth);
    return c.get(target, extra);
  }
  HttpResult post_json(const std::string& target, const nlohmann::json& body, const std::string& auth) {
    HttpClient c(stack_->http_port);
    Headers h;
    if (!auth.empty()) h.emplace_back("Authorization", auth);
    return c.post(target, body.dump(), "application/json", h);
  }
  static nlohmann::json body(const HttpResult& r) { return nlohmann::json::parse(r.body, nullptr, false); }

  /// The job id of an async call's handle.
  std::string submit(const std::string& target, const AccessClient& who) {
    auto r = get(target, who.bearer());
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = body(r);
    return j.is_object() && j.contains("result") ? j["result"].value("ID", "") : "";
  }

  /// Every log of the run holds none of the tokens (nor the wrong ones sent on purpose).
  void TearDown() override {
    if (!stack_) return;
    for (const auto& log : {stack_->dir + "/gateway.log", stack_->dir + "/pie-sim.log"}) {
      const std::string text = slurp(log);
      for (const auto& s : secrets_)
        EXPECT_EQ(text.find(s), std::string::npos) << log << " holds a secret (" << s.size() << " characters)";
    }
    stack_.reset();
  }

  std::unique_ptr<Stack> stack_;
  std::string clients_file_;
  std::vector<std::string> secrets_;
};

}  // namespace pg::test
