// The pure checks behind issue 14 items 1 and 6: request framing (Transfer-Encoding,
// Content-Length, Host), request targets, Host values and listen.allowed_hosts, and the
// cross-site refusal of state-changing requests.
#include <gtest/gtest.h>

#include <unistd.h>

#include "config/loader.hpp"
#include "frontdoor/cors.hpp"
#include "http/framing.hpp"
#include "http/hosts.hpp"

using pg::http::AllowedHosts;
using pg::http::check_framing;
using pg::http::Headers;
using pg::http::parse_host;
using pg::http::split_target;

namespace {

std::string refusal(unsigned minor, const Headers& h) {
  auto r = check_framing(minor, h);
  return r ? std::to_string(r->status) + " " + r->message : "ok";
}

TEST(HttpFraming, OnlyAFinalChunkedOrOneContentLengthFrameABody) {
  const Headers host{{"Host", "a"}};
  auto with = [&](Headers more) {
    Headers h = host;
    h.insert(h.end(), more.begin(), more.end());
    return h;
  };
  EXPECT_EQ(refusal(1, with({{"Transfer-Encoding", "chunked"}})), "ok");
  EXPECT_EQ(refusal(1, with({{"transfer-encoding", " Chunked "}})), "ok");
  EXPECT_EQ(refusal(1, with({{"Content-Length", "12"}})), "ok");
  EXPECT_EQ(refusal(1, host), "ok");
  EXPECT_NE(refusal(1, with({{"Transfer-Encoding", "gzip"}})).find("final Transfer-Encoding must be chunked"), std::string::npos);
  EXPECT_NE(refusal(1, with({{"Transfer-Encoding", "chunked, identity"}})).find("must be chunked"), std::string::npos);
  EXPECT_NE(refusal(1, with({{"Transfer-Encoding", "gzip, chunked"}})).find("unsupported transfer coding 'gzip'"),
            std::string::npos);
  EXPECT_NE(refusal(1, with({{"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}})).find("unsupported"),
            std::string::npos);
  EXPECT_NE(refusal(1, with({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})).find("once"),
            std::string::npos);
  EXPECT_NE(refusal(1, with({{"Transfer-Encoding", "chunked;x=1"}})).find("no parameters"), std::string::npos);
  EXPECT_NE(refusal(1, with({{"Transfer-Encoding", " , "}})).find("empty"), std::string::npos);
  EXPECT_NE(refusal(1, with({{"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}})).find("both"), std::string::npos);
  EXPECT_NE(refusal(0, {{"Transfer-Encoding", "chunked"}}).find("HTTP/1.0"), std::string::npos);
  EXPECT_NE(refusal(1, with({{"Content-Length", "3"}, {"Content-Length", "3"}})).find("more than once"), std::string::npos);
  EXPECT_NE(refusal(1, with({{"Content-Length", "3, 3"}})).find("more than once"), std::string::npos);
  EXPECT_EQ(check_framing(1, with({{"Transfer-Encoding", "gzip"}}))->status, 400);
}

TEST(HttpFraming, Http11NeedsExactlyOneHost) {
  EXPECT_NE(refusal(1, {}).find("must have a Host"), std::string::npos);
  EXPECT_NE(refusal(1, {{"Host", "a"}, {"host", "a"}}).find("more than one Host"), std::string::npos);
  EXPECT_NE(refusal(0, {{"Host", "a"}, {"Host", "b"}}).find("more than one Host"), std::string::npos);
  EXPECT_EQ(refusal(0, {}), "ok");
}

TEST(HttpFraming, TargetsInOriginAbsoluteAndAsteriskForm) {
  auto t = split_target("/echo?text=hi");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/echo");
  EXPECT_EQ(t->query, "text=hi");
  EXPECT_EQ(t->authority, "");
  t = split_target("http://127.0.0.1:8080/echo?x=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/echo");
  EXPECT_EQ(t->query, "x=1");
  EXPECT_EQ(t->authority, "127.0.0.1:8080");
  t = split_target("HTTPS://gw.example?x=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/");
  EXPECT_EQ(t->query, "x=1");
  EXPECT_EQ(t->authority, "gw.example");
  EXPECT_EQ(split_target("*")->path, "*");
  EXPECT_FALSE(split_target("echo"));
  EXPECT_FALSE(split_target("ftp://host/x"));
  EXPECT_FALSE(split_target("http:///x"));
  EXPECT_FALSE(split_target("http://user@host/x"));
}

TEST(HttpHosts, HostValuesAreParsedStrictly) {
  auto h = parse_host("GW.Example.:8080");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->host, "gw.example");
  EXPECT_EQ(h->port, 8080);
  h = parse_host("[0:0::1]");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->host, "[::1]");
  EXPECT_FALSE(h->port);
  EXPECT_TRUE(parse_host("host:"));  // an empty port is allowed (RFC 3986)
  for (const char* bad : {"", "a b", "a/b", "::1", "[::1", "[zz]:1", "host:99999", "host:8x", "user@host", ":80", "[::1]x"})
    EXPECT_FALSE(parse_host(bad)) << bad;
}

TEST(HttpHosts, AllowedHostsMatchNameAndOptionalPort) {
  auto a = AllowedHosts::from_list({"gw.example", "10.0.0.5:8080", "[::1]"});
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->allows(*parse_host("gw.example:1234")));
  EXPECT_TRUE(a->allows(*parse_host("GW.EXAMPLE")));
  EXPECT_TRUE(a->allows(*parse_host("10.0.0.5:8080")));
  EXPECT_FALSE(a->allows(*parse_host("10.0.0.5")));  // port 80
  EXPECT_FALSE(a->allows(*parse_host("evil.example")));
  EXPECT_TRUE(a->allows(*parse_host("[::1]:9")));
  EXPECT_EQ(a->describe(), "gw.example, 10.0.0.5:8080, [::1]");
  EXPECT_TRUE(AllowedHosts::from_list({"*"})->allows(*parse_host("anything")));
  EXPECT_FALSE(AllowedHosts::from_list({"bad host"}));
}

TEST(HttpHosts, DefaultsAreTheListenAddressLoopbackAndTheMachinesName) {
  auto d = AllowedHosts::defaults("192.0.2.7");
  for (const char* ok : {"192.0.2.7:8080", "localhost", "127.0.0.1:1", "[::1]:2"}) EXPECT_TRUE(d.allows(*parse_host(ok))) << ok;
  EXPECT_FALSE(d.allows(*parse_host("rebind.attacker.example")));
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof name - 1), 0);
  EXPECT_TRUE(d.allows(*parse_host(name))) << name << " not in " << d.describe();
  // A wildcard listen address allows the machine's own addresses (loopback at least).
  EXPECT_TRUE(AllowedHosts::defaults("0.0.0.0").allows(*parse_host("127.0.0.1")));
}

TEST(HttpHosts, ConfigListIsCheckedWithLineAndField) {
  const std::string servers = "servers:\n  - name: a\n    uri: ws://127.0.0.1:9000/\n";
  auto ok = pg::config::load_string("listen:\n  allowed_hosts: [gw.example, \"10.0.0.5:8080\", \"*\"]\n" + servers, "t.yaml");
  ASSERT_TRUE(ok) << ok.error();
  ASSERT_TRUE(ok->allowed_hosts);
  EXPECT_EQ(ok->allowed_hosts->size(), 3u);
  EXPECT_FALSE(pg::config::load_string(servers, "t.yaml")->allowed_hosts);
  auto bad = pg::config::load_string("listen:\n  allowed_hosts: [gw.example, \"a b\"]\n" + servers, "t.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("t.yaml:2"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("listen.allowed_hosts"), std::string::npos) << bad.error();
  auto empty = pg::config::load_string("listen:\n  allowed_hosts: []\n" + servers, "t.yaml");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().find("at least one"), std::string::npos) << empty.error();
}

pg::http::Request post(Headers h) {
  pg::http::Request r;
  r.method = "POST";
  r.headers = std::move(h);
  return r;
}

TEST(CrossSite, StateChangingRequestsFromOtherSitesAreRefused) {
  pg::config::Cors off;
  pg::config::Cors lab;
  lab.allowed_origins = {"http://lab.example:3000"};
  using pg::frontdoor::cross_site_refusal;
  const Headers host{{"Host", "127.0.0.1:8080"}};
  auto with = [&](Headers more) {
    Headers h = host;
    h.insert(h.end(), more.begin(), more.end());
    return post(h);
  };
  // TARP clients and curl: no Origin, no Sec-Fetch-Site.
  EXPECT_FALSE(cross_site_refusal(off, with({{"Content-Type", "text/plain"}})));
  // Same origin (the /ui page), also with the default port spelled out.
  EXPECT_FALSE(cross_site_refusal(off, with({{"Origin", "http://127.0.0.1:8080"}, {"Sec-Fetch-Site", "same-origin"}})));
  EXPECT_FALSE(cross_site_refusal(off, post({{"Host", "gw.example"}, {"Origin", "http://GW.example:80"}})));
  EXPECT_FALSE(cross_site_refusal(off, with({{"Sec-Fetch-Site", "none"}})));
  // Elsewhere.
  auto r = cross_site_refusal(off, with({{"Origin", "http://evil.example"}, {"Content-Type", "text/plain; charset=utf-8"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("form or text/plain"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("evil.example"), std::string::npos) << r->body;
  EXPECT_TRUE(cross_site_refusal(off, with({{"Origin", "null"}})));
  // The scheme is not compared (behind a TLS proxy the page is https, the gateway plain http);
  // the host and port are, the scheme's default port standing in for a missing one.
  EXPECT_FALSE(cross_site_refusal(off, with({{"Origin", "https://127.0.0.1:8080"}})));
  EXPECT_TRUE(cross_site_refusal(off, with({{"Origin", "https://127.0.0.1"}})));
  EXPECT_TRUE(cross_site_refusal(off, with({{"Sec-Fetch-Site", "cross-site"}})));
  EXPECT_TRUE(cross_site_refusal(off, with({{"Sec-Fetch-Site", "same-site"}, {"Origin", "http://other.lan:1"}})));
  EXPECT_TRUE(cross_site_refusal(lab, with({{"Origin", "http://lab.example:3001"}})));
  // An origin in cors.allowed_origins may.
  EXPECT_FALSE(cross_site_refusal(lab, with({{"Origin", "http://lab.example:3000"}, {"Sec-Fetch-Site", "cross-site"}})));
  // GET (and HEAD, which reads as GET) and OPTIONS are not state-changing.
  auto get = with({{"Origin", "http://evil.example"}});
  get.method = "GET";
  EXPECT_FALSE(cross_site_refusal(off, get));
  get.method = "OPTIONS";
  EXPECT_FALSE(cross_site_refusal(off, get));
  get.method = "DELETE";
  EXPECT_TRUE(cross_site_refusal(off, get));
}

}  // namespace
