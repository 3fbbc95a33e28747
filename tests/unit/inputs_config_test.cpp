// `input:`, `result: messages | last_message`, `daemons:` and `models_cache:` in the config.
#include <gtest/gtest.h>

#include "config/loader.hpp"

using pg::config::EndpointInput;
using pg::config::load_string;
using pg::config::ResultSource;

namespace {

std::string config(const std::string& rest) {
  return "servers:\n  - name: a\n    uri: ws://127.0.0.1:9000/\n" + rest;
}

std::string error_of(const std::string& yaml) {
  auto c = load_string(yaml, "t.yaml");
  return c ? std::string("(loaded)") : c.error();
}

}  // namespace

TEST(InputsConfig, OneInputOrAListInOrder) {
  auto c = load_string(config("endpoints:\n"
                              "  - {name: a, kind: post, inferlet: std/chat, input: {send: message, from: body}}\n"
                              "  - name: b\n    kind: post\n    inferlet: std/chat\n    params: [{name: p}]\n"
                              "    result: messages\n"
                              "    input: [{send: blob, from: body}, {send: message, from: 'param:p'}]\n"
                              "  - {name: c, kind: get, inferlet: std/chat, result: last_message, params: [{name: p}],"
                              " input: {send: message, from: 'param:p'}}\n"),
                       "t.yaml");
  ASSERT_TRUE(c) << c.error();
  ASSERT_EQ(c->endpoints[0].inputs.size(), 1u);
  EXPECT_EQ(c->endpoints[0].inputs[0].send, EndpointInput::Send::Message);
  EXPECT_EQ(c->endpoints[0].inputs[0].param, "");
  ASSERT_EQ(c->endpoints[1].inputs.size(), 2u);
  EXPECT_EQ(c->endpoints[1].inputs[0].send, EndpointInput::Send::Blob);
  EXPECT_EQ(c->endpoints[1].inputs[1].send, EndpointInput::Send::Message);
  EXPECT_EQ(c->endpoints[1].inputs[1].param, "p");
  EXPECT_EQ(c->endpoints[1].result, ResultSource::Messages);
  EXPECT_EQ(c->endpoints[2].result, ResultSource::LastMessage);
}

TEST(InputsConfig, BadInputsArePreciseErrors) {
  EXPECT_NE(error_of(config("endpoints:\n  - {name: a, kind: get, inferlet: x, input: {send: message, from: body}}\n"))
                .find("t.yaml:5:"),
            std::string::npos);
  EXPECT_NE(error_of(config("endpoints:\n  - {name: a, kind: get, inferlet: x, input: {send: message, from: body}}\n"))
                .find("endpoints[0].input.from: 'body' needs kind post"),
            std::string::npos);
  EXPECT_NE(error_of(config("endpoints:\n  - {name: a, kind: post, inferlet: x, input: {send: mail}}\n"))
                .find("endpoints[0].input.send: must be message or blob (got 'mail')"),
            std::string::npos);
  EXPECT_NE(error_of(config("endpoints:\n  - {name: a, kind: rpc, inferlet: x, input: [{send: blob, from: 'param:q'}]}\n"))
                .find("endpoints[0].input[0].from: param:q names no declared parameter"),
            std::string::npos);
  EXPECT_NE(error_of(config("endpoints:\n  - {name: a, kind: post, inferlet: x, input: {send: blob, from: stdin}}\n"))
                .find("must be body or param:NAME (got 'stdin')"),
            std::string::npos);
  EXPECT_NE(error_of(config("endpoints:\n  - {name: a, kind: post, inferlet: x, input: []}\n")).find("endpoints[0].input: must be"),
            std::string::npos);
  EXPECT_NE(error_of(config("endpoints:\n  - {name: a, kind: post, inferlet: x, fanout: all, input: {send: blob}}\n"))
                .find("a fan-out endpoint cannot take inputs"),
            std::string::npos);
  EXPECT_NE(error_of(config("endpoints:\n  - {name: a, kind: post, inferlet: x, result: last}\n")).find("messages, last_message"),
            std::string::npos);
}

TEST(InputsConfig, DaemonsAndModelsCache) {
  auto c = load_string(config("models_cache: 500ms\n"
                              "daemons:\n  - {server: a, port: 9100, inferlet: std/echo, arguments: [--x, '1']}\n"),
                       "t.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->models_cache.count(), 500);
  ASSERT_EQ(c->daemons.size(), 1u);
  EXPECT_EQ(c->daemons[0].server, "a");
  EXPECT_EQ(c->daemons[0].port, 9100u);
  EXPECT_EQ(c->daemons[0].arguments, (std::vector<std::string>{"--x", "1"}));
  EXPECT_EQ(load_string(config(""), "t.yaml")->models_cache.count(), 2000);

  EXPECT_NE(error_of(config("daemons:\n  - {server: b, port: 9100, inferlet: x}\n"))
                .find("daemons[0].server: 'b' names no server in servers:"),
            std::string::npos);
  EXPECT_NE(error_of(config("daemons:\n  - {server: a, port: 70000, inferlet: x}\n")).find("daemons[0].port"),
            std::string::npos);
  EXPECT_NE(error_of(config("daemons:\n  - {server: a, inferlet: x}\n")).find("daemons[0].port: is missing"),
            std::string::npos);
  EXPECT_NE(error_of(config("daemons:\n  - {server: a, port: 1, inferlet: x}\n  - {server: a, port: 1, inferlet: y}\n"))
                .find("daemons[1].port: server a already has a daemon on port 1"),
            std::string::npos);
  EXPECT_NE(error_of(config("daemons: {server: a}\n")).find("daemons: must be a list"), std::string::npos);
  EXPECT_NE(error_of(config("models_cache: soon\n")).find("models_cache:"), std::string::npos);
}

TEST(SessionConfig, KindSessionWithItsKnobs) {
  auto c = load_string(config("endpoints:\n"
                              "  - {name: chat, kind: session, inferlet: std/chat, timeout: 20s,"
                              " session: {idle_timeout: 90s, max_open: 7, max_duration: 2h}}\n"
                              "  - {name: plain, kind: session, inferlet: std/chat}\n"),
                       "t.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(c->endpoints[0].is_session());
  EXPECT_EQ(c->endpoints[0].session.idle_timeout, std::chrono::seconds(90));
  EXPECT_EQ(c->endpoints[0].session.max_open, 7u);
  EXPECT_EQ(c->endpoints[0].session.max_duration, std::chrono::hours(2));
  EXPECT_EQ(c->endpoints[1].session.idle_timeout, std::chrono::minutes(5));  // defaults
  EXPECT_EQ(c->endpoints[1].session.max_open, 100u);
}

TEST(SessionConfig, BadSessionsArePreciseErrors) {
  auto err = error_of(config("endpoints:\n  - {name: a, kind: get, inferlet: x, session: {max_open: 2}}\n"));
  EXPECT_NE(err.find("t.yaml:5:"), std::string::npos) << err;
  EXPECT_NE(err.find("endpoints[0].session: only endpoints of kind session take 'session'"), std::string::npos) << err;
  err = error_of(config("endpoints:\n  - {name: a, kind: session, inferlet: x, session: {max_open: 0}}\n"));
  EXPECT_NE(err.find("endpoints[0].session.max_open"), std::string::npos) << err;
  err = error_of(config("endpoints:\n  - {name: a, kind: session, inferlet: x, session: {idle: 1s}}\n"));
  EXPECT_NE(err.find("endpoints[0].session"), std::string::npos) << err;
  EXPECT_NE(err.find("idle"), std::string::npos) << err;
  err = error_of(config("endpoints:\n  - {name: a, kind: session, inferlet: x, result: blob}\n"));
  EXPECT_NE(err.find("endpoints[0].result: an endpoint of kind session does not take 'result'"), std::string::npos) << err;
  // Routes a session endpoint owns cannot be taken by another endpoint, in either order.
  err = error_of(config("endpoints:\n  - {name: chat, kind: session, inferlet: x}\n"
                        "  - {name: chat_send, kind: rpc, inferlet: x}\n"));
  EXPECT_NE(err.find("endpoints[1].name: endpoint 'chat_send' clashes with the routes of session endpoint 'chat'"),
            std::string::npos)
      << err;
  err = error_of(config("endpoints:\n  - {name: chat/open, kind: post, inferlet: x}\n"
                        "  - {name: chat, kind: session, inferlet: x}\n"));
  EXPECT_NE(err.find("endpoints[1].name: endpoint 'chat' clashes with the routes of session endpoint 'chat'"),
            std::string::npos)
      << err;
  err = error_of(config("endpoints:\n  - {name: a, kind: chat, inferlet: x}\n"));
  EXPECT_NE(err.find("get, post, rpc, asyncrpc, session"), std::string::npos) << err;
}
