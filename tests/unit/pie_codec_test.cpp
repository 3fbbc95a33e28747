// Pie v0.2 codec: golden bytes derived by hand from the msgpack spec, round trips, and the
// precise rejections a hostile or broken peer must get. Plus BLAKE3 known answers.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "hash/blake3.hpp"
#include "pie/v02/codec.hpp"
#include "support/codec_test_util.hpp"

namespace pg::pie::v02 {
namespace {

using namespace pg::test;  // hex, to_hex, cat, as, error_of, round_trip, hostile frames

// Hand-derived pieces (msgpack spec: fixmap 0x80|n, fixstr 0xa0|len, positive fixint 0x00-0x7f,
// uint16 0xcd, uint32 0xce, uint64 0xcf, false 0xc2, true 0xc3, fixarray 0x90|n, bin8 0xc4 len).
constexpr std::string_view kType = "a4 74797065";                 // "type"
constexpr std::string_view kCorrId = "a7 636f72725f6964";         // "corr_id"
constexpr std::string_view kInstanceId = "ab 696e7374616e63655f6964";  // "instance_id"

// ---- golden bytes -----------------------------------------------------------------------

TEST(PieCodecGolden, Ping) {
  // {"type":"ping","corr_id":1}
  const auto golden = cat({"82", kType, "a4 70696e67", kCorrId, "01"});
  EXPECT_EQ(to_hex(encode(ClientMessage{Ping{1}})), to_hex(golden));
  EXPECT_EQ(as<Ping>(decode_client(golden)).corr_id, 1u);
}

TEST(PieCodecGolden, PingWideCorrIds) {
  // 300 needs uint16 (cd 012c), 70000 uint32 (ce 00011170), u32 max is ce ffffffff.
  EXPECT_EQ(to_hex(encode(ClientMessage{Ping{300}})), to_hex(cat({"82", kType, "a4 70696e67", kCorrId, "cd 012c"})));
  EXPECT_EQ(to_hex(encode(ClientMessage{Ping{70000}})),
            to_hex(cat({"82", kType, "a4 70696e67", kCorrId, "ce 00011170"})));
  const auto max = cat({"82", kType, "a4 70696e67", kCorrId, "ce ffffffff"});
  EXPECT_EQ(to_hex(encode(ClientMessage{Ping{0xffffffffu}})), to_hex(max));
  EXPECT_EQ(as<Ping>(decode_client(max)).corr_id, 0xffffffffu);
  // A wider encoding of a small value is still a valid u32 (uint64 0xcf of 5).
  EXPECT_EQ(as<Ping>(decode_client(cat({"82", kType, "a4 70696e67", kCorrId, "cf 0000000000000005"}))).corr_id, 5u);
}

TEST(PieCodecGolden, LaunchInstance) {
  // {"type":"launch_instance","corr_id":7,"inferlet":"std/echo","arguments":["hi"],"detached":false}
  const auto golden = cat({"85", kType, "af 6c61756e63685f696e7374616e6365", kCorrId, "07",
                           "a8 696e6665726c6574", "a8 7374642f6563686f",  // inferlet: std/echo
                           "a9 617267756d656e7473", "91 a2 6869",          // arguments: ["hi"]
                           "a8 6465746163686564", "c2"});                   // detached: false
  LaunchInstance m{7, "std/echo", {"hi"}, false};
  EXPECT_EQ(to_hex(encode(ClientMessage{m})), to_hex(golden));
  const auto& d = as<LaunchInstance>(decode_client(golden));
  EXPECT_EQ(d.corr_id, 7u);
  EXPECT_EQ(d.inferlet, "std/echo");
  EXPECT_EQ(d.arguments, std::vector<std::string>{"hi"});
  EXPECT_FALSE(d.detached);
}

TEST(PieCodecGolden, UploadBlobWithBinChunk) {
  // {"type":"upload_blob","corr_id":2,"instance_id":"i1","blob_hash":"ab","chunk_index":0,
  //  "total_chunks":1,"chunk_data":bin(00 ff 10)}
  const auto golden = cat({"87", kType, "ab 75706c6f61645f626c6f62", kCorrId, "02", kInstanceId, "a2 6931",
                           "a9 626c6f625f68617368", "a2 6162",       // blob_hash: "ab"
                           "ab 6368756e6b5f696e646578", "00",        // chunk_index: 0
                           "ac 746f74616c5f6368756e6b73", "01",      // total_chunks: 1
                           "aa 6368756e6b5f64617461", "c4 03 00ff10"});  // chunk_data: bin8
  UploadBlob m{2, "i1", "ab", 0, 1, std::string("\x00\xff\x10", 3)};
  EXPECT_EQ(to_hex(encode(ClientMessage{m})), to_hex(golden));
  const auto& d = as<UploadBlob>(decode_client(golden));
  EXPECT_EQ(d.chunk_data, std::string("\x00\xff\x10", 3));
  EXPECT_EQ(d.blob_hash, "ab");
  EXPECT_EQ(d.total_chunks, 1u);
}

TEST(PieCodecGolden, EmptyBinChunk) {
  // An empty payload is one empty chunk: bin8 of length 0 is "c4 00".
  UploadBlob m{3, "i", "h", 0, 1, ""};
  const auto bytes = encode(ClientMessage{m});
  EXPECT_EQ(to_hex(bytes.substr(bytes.size() - 2)), "c400");
  EXPECT_EQ(as<UploadBlob>(decode_client(bytes)).chunk_data, "");
}

TEST(PieCodecGolden, StreamingOutputStdout) {
  // {"type":"streaming_output","instance_id":"i1","output":{"Stdout":"hello"}}
  const auto golden = cat({"83", kType, "b0 73747265616d696e675f6f7574707574", kInstanceId, "a2 6931",
                           "a6 6f7574707574", "81 a6 5374646f7574 a5 68656c6c6f"});
  StreamingOutput m{"i1", Stream::Stdout, "hello"};
  EXPECT_EQ(to_hex(encode(ServerMessage{m})), to_hex(golden));
  const auto& d = as<StreamingOutput>(decode_server(golden));
  EXPECT_EQ(d.instance_id, "i1");
  EXPECT_EQ(d.stream, Stream::Stdout);
  EXPECT_EQ(d.text, "hello");
}

TEST(PieCodecGolden, StreamingOutputStderr) {
  const auto golden = cat({"83", kType, "b0 73747265616d696e675f6f7574707574", kInstanceId, "a2 6931",
                           "a6 6f7574707574", "81 a6 5374646572 72 a0"});  // {"Stderr":""}
  const auto& d = as<StreamingOutput>(decode_server(golden));
  EXPECT_EQ(d.stream, Stream::Stderr);
  EXPECT_EQ(d.text, "");
  EXPECT_EQ(to_hex(encode(ServerMessage{d})), to_hex(golden));
}

TEST(PieCodecGolden, InstanceEvent) {
  // {"type":"instance_event","instance_id":"i1","event":1,"message":"done"}
  const auto golden = cat({"84", kType, "ae 696e7374616e63655f6576656e74", kInstanceId, "a2 6931",
                           "a5 6576656e74", "01", "a7 6d657373616765", "a4 646f6e65"});
  InstanceEvent m{"i1", 1, "done"};
  EXPECT_EQ(to_hex(encode(ServerMessage{m})), to_hex(golden));
  const auto& d = as<InstanceEvent>(decode_server(golden));
  EXPECT_EQ(d.event, 1u);
  EXPECT_EQ(d.message, "done");
  EXPECT_TRUE(is_terminal(d.event));
  EXPECT_EQ(event_name(d.event), "Completed");
  EXPECT_EQ(event_name(9), "Unknown(9)");
}

TEST(PieCodecGolden, Response) {
  // {"type":"response","corr_id":300,"successful":true,"result":"Pong"}
  const auto golden = cat({"84", kType, "a8 726573706f6e7365", kCorrId, "cd 012c", "aa 7375636365737366756c", "c3",
                           "a6 726573756c74", "a4 506f6e67"});
  Response m{300, true, "Pong"};
  EXPECT_EQ(to_hex(encode(ServerMessage{m})), to_hex(golden));
  const auto& d = as<Response>(decode_server(golden));
  EXPECT_EQ(d.corr_id, 300u);
  EXPECT_TRUE(d.successful);
  EXPECT_EQ(d.result, "Pong");
}

TEST(PieCodecGolden, LongStringsUseStr8AndStr16) {
  // 40 chars -> str8 (d9 28); 300 chars -> str16 (da 012c).
  const std::string s40(40, 'x'), s300(300, 'y');
  auto e40 = encode(ServerMessage{ServerEvent{s40}});
  auto e300 = encode(ServerMessage{ServerEvent{s300}});
  // {"type":"server_event","message":...}: 82 a4 type ac "server_event" a7 "message"
  const auto head = cat({"82", kType, "ac 7365727665725f6576656e74", "a7 6d657373616765"});
  EXPECT_EQ(to_hex(e40), to_hex(head + hex("d9 28") + s40));
  EXPECT_EQ(to_hex(e300), to_hex(head + hex("da 012c") + s300));
}

// ---- round trips ------------------------------------------------------------------------

TEST(PieCodecRoundTrip, EveryClientMessage) {
  const std::string binary("\x00\x01\xfe\xff\x80 text", 10);
  const std::vector<ClientMessage> all = {
      Identification{1, "alice"},
      Signature{2, "c2lnbmF0dXJl"},
      InternalAuthenticate{3, "s3cret"},
      Ping{4},
      Query{5, "program_exists", "std/echo@0.1.0"},
      UploadProgram{6, std::string(64, 'a'), "[package]\nname = \"std/x\"\nversion = \"1\"\n", 0, 2, binary},
      LaunchInstance{7, "std/echo", {"a", "", "ünïcödé"}, true},
      LaunchInstanceFromRegistry{8, "text-completion", {}, false},
      AttachInstance{9, "0b7c8a2e-1111-4222-8333-444455556666"},
      LaunchServerInstance{10, 8080, "std/http", {"--x"}},
      SignalInstance{"id", "hello"},
      UploadBlob{12, "id", std::string(64, 'f'), 3, 4, std::string(300, '\0')},
      TerminateInstance{13, "id"},
      ListInstances{0xffffffffu},
  };
  ASSERT_EQ(all.size(), std::variant_size_v<ClientMessage>);
  for (const auto& m : all) round_trip(m, decode_client);
}

TEST(PieCodecRoundTrip, EveryServerMessage) {
  const std::vector<ServerMessage> all = {
      Response{1, false, "Instance not found"},
      InstanceLaunchResult{2, true, "0b7c8a2e-1111-4222-8333-444455556666"},
      InstanceAttachResult{3, false, "Instance already attached"},
      InstanceEvent{"id", 0, "a message"},
      StreamingOutput{"id", Stream::Stderr, "oops\n"},
      DownloadBlob{0, "id", std::string(64, 'c'), 0, 1, std::string("\x00\x01\x02", 3)},
      LiveInstances{5,
                    {InstanceInfo{"a", {"x"}, "Attached", "bob", 12, 3},
                     InstanceInfo{"b", {}, "Finished", "", 1ull << 40, 0xffffffffu}}},
      ServerEvent{"hello"},
  };
  ASSERT_EQ(all.size(), std::variant_size_v<ServerMessage>);
  for (const auto& m : all) round_trip(m, decode_server);
}

// ---- tolerant decoding ------------------------------------------------------------------

TEST(PieCodecDecode, FieldsInAnyOrderAndUnknownFieldsIgnored) {
  // {"zzz":{"nested":[1,2]},"corr_id":9,"successful":false,"extra":nil,"result":"no","type":"response"}
  const auto bytes = cat({"86", "a3 7a7a7a", "81 a6 6e6573746564 92 01 02", kCorrId, "09", "aa 7375636365737366756c",
                          "c2", "a5 6578747261", "c0", "a6 726573756c74", "a2 6e6f", kType, "a8 726573706f6e7365"});
  const auto& r = as<Response>(decode_server(bytes));
  EXPECT_EQ(r.corr_id, 9u);
  EXPECT_FALSE(r.successful);
  EXPECT_EQ(r.result, "no");
}

TEST(PieCodecDecode, LaunchWithArgumentsFirst) {
  // {"detached":true,"arguments":[],"inferlet":"e","corr_id":1,"type":"launch_instance"}
  const auto bytes = cat({"85", "a8 6465746163686564", "c3", "a9 617267756d656e7473", "90", "a8 696e6665726c6574",
                          "a1 65", kCorrId, "01", kType, "af 6c61756e63685f696e7374616e6365"});
  const auto& m = as<LaunchInstance>(decode_client(bytes));
  EXPECT_TRUE(m.detached);
  EXPECT_TRUE(m.arguments.empty());
  EXPECT_EQ(m.inferlet, "e");
}

TEST(PieCodecDecode, ChunkDataAsStrAccepted) {
  // Some peers send bytes as str; the decoder accepts either.
  auto bytes = encode(ServerMessage{DownloadBlob{0, "i", "h", 0, 1, "abc"}});
  const auto bin = hex("c4 03 616263");
  const auto pos = bytes.find(bin);
  ASSERT_NE(pos, std::string::npos);
  bytes.replace(pos, bin.size(), hex("a3 616263"));
  EXPECT_EQ(as<DownloadBlob>(decode_server(bytes)).chunk_data, "abc");
}

// ---- rejections -------------------------------------------------------------------------

std::string client_error(std::string_view bytes) { return error_of(decode_client(bytes)); }
std::string server_error(std::string_view bytes) { return error_of(decode_server(bytes)); }

TEST(PieCodecReject, NotAMap) {
  EXPECT_EQ(client_error(hex("92 01 02")), "message is not a msgpack map");
  EXPECT_EQ(server_error(hex("a4 70696e67")), "message is not a msgpack map");
  EXPECT_EQ(server_error(hex("c0")), "message is not a msgpack map");
}

TEST(PieCodecReject, MissingOrNonStringType) {
  EXPECT_EQ(client_error(cat({"81", kCorrId, "01"})), "message has no string field 'type'");
  EXPECT_EQ(client_error(cat({"81", kType, "01"})), "message has no string field 'type'");
  EXPECT_EQ(server_error(hex("80")), "message has no string field 'type'");
}

TEST(PieCodecReject, UnknownType) {
  EXPECT_EQ(client_error(cat({"81", kType, "a3 666f6f"})), "unknown client message type 'foo'");
  // A server message is not a client message and vice versa.
  EXPECT_EQ(server_error(encode(ClientMessage{Ping{1}})), "unknown server message type 'ping'");
  EXPECT_EQ(client_error(encode(ServerMessage{Response{1, true, "x"}})), "unknown client message type 'response'");
}

TEST(PieCodecReject, MissingField) {
  EXPECT_EQ(client_error(cat({"81", kType, "a4 70696e67"})), "ping: field 'corr_id' is missing");
  // {"type":"response","corr_id":1,"successful":true}
  EXPECT_EQ(server_error(cat({"83", kType, "a8 726573706f6e7365", kCorrId, "01", "aa 7375636365737366756c", "c3"})),
            "response: field 'result' is missing");
}

TEST(PieCodecReject, LaunchWithoutDetached) {
  // {"type":"launch_instance","corr_id":7,"inferlet":"std/echo","arguments":[]}
  const auto bytes = cat({"84", kType, "af 6c61756e63685f696e7374616e6365", kCorrId, "07", "a8 696e6665726c6574",
                          "a8 7374642f6563686f", "a9 617267756d656e7473", "90"});
  EXPECT_EQ(client_error(bytes), "launch_instance: field 'detached' is missing");
}

TEST(PieCodecReject, WrongFieldTypes) {
  EXPECT_EQ(client_error(cat({"82", kType, "a4 70696e67", kCorrId, "a1 31"})),
            "ping: field 'corr_id' must be an unsigned integer");
  EXPECT_EQ(client_error(cat({"82", kType, "a4 70696e67", kCorrId, "cb 3ff0000000000000"})),  // 1.0 double
            "ping: field 'corr_id' must be an unsigned integer");
  // {"type":"response","corr_id":1,"successful":1,"result":"x"}
  EXPECT_EQ(server_error(cat({"84", kType, "a8 726573706f6e7365", kCorrId, "01", "aa 7375636365737366756c", "01",
                              "a6 726573756c74", "a1 78"})),
            "response: field 'successful' must be a boolean");
  // launch arguments [1]
  EXPECT_EQ(client_error(cat({"85", kType, "af 6c61756e63685f696e7374616e6365", kCorrId, "07", "a8 696e6665726c6574",
                              "a1 65", "a9 617267756d656e7473", "91 01", "a8 6465746163686564", "c2"})),
            "launch_instance: field 'arguments' must be an array of strings");
  // streaming_output with "output":"text" and with {"Stdin":"x"}
  const auto so = cat({"83", kType, "b0 73747265616d696e675f6f7574707574", kInstanceId, "a2 6931", "a6 6f7574707574"});
  EXPECT_EQ(server_error(so + hex("a1 78")),
            "streaming_output: field 'output' must be a one-key map {\"Stdout\"|\"Stderr\": text}");
  EXPECT_EQ(server_error(so + hex("81 a5 537464696e a1 78")),
            "streaming_output: field 'output' must be keyed Stdout or Stderr");
  // upload_blob chunk_data as an int
  EXPECT_EQ(client_error(cat({"87", kType, "ab 75706c6f61645f626c6f62", kCorrId, "02", kInstanceId, "a2 6931",
                              "a9 626c6f625f68617368", "a2 6162", "ab 6368756e6b5f696e646578", "00",
                              "ac 746f74616c5f6368756e6b73", "01", "aa 6368756e6b5f64617461", "05"})),
            "upload_blob: field 'chunk_data' must be bytes");
}

TEST(PieCodecReject, CorrIdBeyondU32) {
  EXPECT_EQ(client_error(cat({"82", kType, "a4 70696e67", kCorrId, "cf 0000000100000000"})),
            "ping: field 'corr_id' is out of range");
  // instance_event.event is a u32 too
  EXPECT_EQ(server_error(cat({"84", kType, "ae 696e7374616e63655f6576656e74", kInstanceId, "a2 6931", "a5 6576656e74",
                              "cf ffffffffffffffff", "a7 6d657373616765", "a0"})),
            "instance_event: field 'event' is out of range");
}

TEST(PieCodecReject, KvPagesBeyondU32) {
  LiveInstances m{1, {InstanceInfo{"a", {}, "Attached", "u", 1, 1}}};
  auto bytes = encode(ServerMessage{m});
  // kv_pages_used is the last field: 01 -> cf 0000000100000000
  ASSERT_EQ(bytes.back(), '\x01');
  bytes.pop_back();
  bytes += hex("cf 0000000100000000");
  EXPECT_EQ(server_error(bytes), "live_instances.instances[]: field 'kv_pages_used' is out of range");
}

TEST(PieCodecReject, NegativeIntegers) {
  EXPECT_EQ(client_error(cat({"82", kType, "a4 70696e67", kCorrId, "ff"})),  // -1 negative fixint
            "ping: field 'corr_id' must be an unsigned integer");
  EXPECT_EQ(client_error(cat({"82", kType, "a4 70696e67", kCorrId, "d3 8000000000000000"})),  // int64 min
            "ping: field 'corr_id' must be an unsigned integer");
}

TEST(PieCodecReject, TruncatedBytes) {
  const auto full = encode(ServerMessage{Response{1, true, "Pong"}});
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = decode_server(std::string_view(full).substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_NE(r.error().find("not valid msgpack"), std::string::npos) << r.error();
  }
  // A str32 declaring 4 GiB with three bytes present.
  EXPECT_NE(server_error(cat({"81", kType, "db ffffffff 616263"})).find("not valid msgpack"), std::string::npos);
}

TEST(PieCodecReject, TrailingBytes) {
  EXPECT_EQ(server_error(encode(ServerMessage{Response{1, true, "Pong"}}) + hex("c0")),
            "trailing bytes after the msgpack value");
  EXPECT_EQ(client_error(encode(ClientMessage{Ping{1}}) + encode(ClientMessage{Ping{2}})),
            "trailing bytes after the msgpack value");
}

TEST(PieCodecReject, HostileInputIsBounded) {
  // Deep nesting, and array32/map32 of 2^32-1 entries: must not recurse or allocate per level.
  for (const auto& f : unbounded_frames()) {
    EXPECT_NE(client_error(f).find("not valid msgpack"), std::string::npos);
    EXPECT_NE(server_error(f).find("not valid msgpack"), std::string::npos);
  }
  // Huge declared lengths with almost no data: bin32 of 4 GiB.
  EXPECT_NE(server_error(cat({"82", kType, "a4 70696e67", kCorrId, "c6 ffffffff 00"})).find("not valid msgpack"),
            std::string::npos);
  // Arguments array declaring 2^32-1 strings inside an otherwise valid launch.
  EXPECT_NE(client_error(cat({"85", kType, "af 6c61756e63685f696e7374616e6365", kCorrId, "07", "a8 696e6665726c6574",
                              "a1 65", "a9 617267756d656e7473", "dd ffffffff a1 61"}))
                .find("not valid msgpack"),
            std::string::npos);
  // Ext types are never part of the protocol.
  EXPECT_NE(server_error(hex("81 d4 01 00")).find("not valid msgpack"), std::string::npos);
  // A frame above the limit is refused before parsing.
  const std::string huge(kMaxFrameBytes + 1, '\xc0');
  EXPECT_NE(server_error(huge).find("exceeds the limit"), std::string::npos);
}

TEST(PieCodecReject, ManySmallHostileFramesDoNotCrash) {
  // Every 1- and 2-byte prefix shape: nothing may crash or throw.
  for (const auto& s : two_byte_frames()) {
    (void)decode_client(s);
    (void)decode_server(s);
  }
  SUCCEED();
}

}  // namespace
}  // namespace pg::pie::v02

// ---- BLAKE3 -----------------------------------------------------------------------------

namespace pg::hash {
namespace {

TEST(Blake3, KnownAnswers) {
  EXPECT_EQ(blake3_hex("abc"), "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
  EXPECT_EQ(blake3_hex(""), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
}

TEST(Blake3, IncrementalEqualsOneShot) {
  // 3 MiB + 5 bytes (many 1 KiB chunks, more than one 256 KiB upload chunk), fed in odd pieces.
  std::string data(3 * 1024 * 1024 + 5, '\0');
  std::uint32_t x = 12345;
  for (auto& c : data) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  const auto one_shot = blake3_hex(data);
  Blake3 h;
  std::size_t off = 0, step = 1;
  while (off < data.size()) {
    const auto n = std::min(step, data.size() - off);
    h.update(std::string_view(data).substr(off, n));
    off += n;
    step = step * 3 + 7;
    if (step > 300000) step = 1;
  }
  EXPECT_EQ(h.hex(), one_shot);
  EXPECT_EQ(h.hex(), one_shot);  // hex() does not consume the state
  EXPECT_EQ(one_shot.size(), 64u);
  EXPECT_NE(one_shot, blake3_hex(std::string_view(data).substr(1)));
}

}  // namespace
}  // namespace pg::hash
