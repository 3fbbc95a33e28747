// Pie 0.5 codec: golden bytes derived by hand from the msgpack spec (as pie_codec_test.cpp does
// for v0.2), round trips of every message, the edge's JSON text frames, precise rejections, and
// the 0.2 -> 0.5 inferlet name mapping.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pie/v05/codec.hpp"
#include "pie/v05/names.hpp"
#include "support/codec_test_util.hpp"

namespace pg::pie::v05 {
namespace {

using namespace pg::test;  // hex, to_hex, cat, as, error_of, round_trip, hostile frames

// Hand-derived keys: fixstr 0xa0|len followed by the ASCII bytes.
constexpr std::string_view kType = "a4 74797065";                          // "type"
constexpr std::string_view kCorrId = "a7 636f72725f6964";                  // "corr_id"
constexpr std::string_view kProcessId = "aa 70726f636573735f6964";         // "process_id"
constexpr std::string_view kChunkIndex = "ab 6368756e6b5f696e646578";      // "chunk_index"
constexpr std::string_view kTotalChunks = "ac 746f74616c5f6368756e6b73";   // "total_chunks"
constexpr std::string_view kChunkData = "aa 6368756e6b5f64617461";         // "chunk_data"
constexpr std::string_view kFileHash = "a9 66696c655f68617368";            // "file_hash"
constexpr std::string_view kLaunch = "ae 6c61756e63685f70726f63657373";   // "launch_process"
constexpr std::string_view kCheck = "ad 636865636b5f70726f6772616d";      // "check_program"
constexpr std::string_view kAdd = "ab 6164645f70726f6772616d";            // "add_program"
constexpr std::string_view kResponse = "a8 726573706f6e7365";             // "response"
constexpr std::string_view kEvent = "ad 70726f636573735f6576656e74";      // "process_event"

// ---- golden bytes -----------------------------------------------------------------------

TEST(PieV05CodecGolden, Ping) {
  // {"type":"ping","corr_id":1}
  const auto golden = cat({"82", kType, "a4 70696e67", kCorrId, "01"});
  EXPECT_EQ(to_hex(encode(ClientMessage{Ping{1}})), to_hex(golden));
  EXPECT_EQ(as<Ping>(decode_client(golden)).corr_id, 1u);
  // u32 max is uint32 (ce ffffffff).
  const auto max = cat({"82", kType, "a4 70696e67", kCorrId, "ce ffffffff"});
  EXPECT_EQ(to_hex(encode(ClientMessage{Ping{0xffffffffu}})), to_hex(max));
}

TEST(PieV05CodecGolden, LaunchProcess) {
  // {"type":"launch_process","corr_id":7,"inferlet":"echo@0.1.0","input":"{}","capture_outputs":true}
  const auto golden = cat({"85", kType, kLaunch, kCorrId, "07",
                           "a8 696e6665726c6574", "aa 6563686f40302e312e30",  // inferlet: echo@0.1.0
                           "a5 696e707574", "a2 7b7d",                        // input: {}
                           "af 636170747572655f6f757470757473", "c3"});        // capture_outputs: true
  const LaunchProcess m{7, "echo@0.1.0", "{}", true};
  EXPECT_EQ(to_hex(encode(ClientMessage{m})), to_hex(golden));
  const auto d = as<LaunchProcess>(decode_client(golden));
  EXPECT_EQ(d.corr_id, 7u);
  EXPECT_EQ(d.inferlet, "echo@0.1.0");
  EXPECT_EQ(d.input, "{}");
  EXPECT_TRUE(d.capture_outputs);
}

TEST(PieV05CodecGolden, CheckProgramOptionalHashes) {
  // {"type":"check_program","corr_id":3,"name":"echo","version":"0.1.0"}: absent hashes are omitted.
  const auto bare = cat({"84", kType, kCheck, kCorrId, "03", "a4 6e616d65", "a4 6563686f", "a7 76657273696f6e",
                         "a5 302e312e30"});
  EXPECT_EQ(to_hex(encode(ClientMessage{CheckProgram{3, "echo", "0.1.0", std::nullopt, std::nullopt}})), to_hex(bare));
  auto d = as<CheckProgram>(decode_client(bare));
  EXPECT_EQ(d.name, "echo");
  EXPECT_EQ(d.version, "0.1.0");
  EXPECT_FALSE(d.wasm_hash);
  EXPECT_FALSE(d.manifest_hash);
  // With wasm_hash "ab" only: one more field.
  const auto with = cat({"85", kType, kCheck, kCorrId, "03", "a4 6e616d65", "a4 6563686f", "a7 76657273696f6e",
                         "a5 302e312e30", "a9 7761736d5f68617368", "a2 6162"});
  EXPECT_EQ(to_hex(encode(ClientMessage{CheckProgram{3, "echo", "0.1.0", "ab", std::nullopt}})), to_hex(with));
  // nil counts as absent when decoding ("manifest_hash": nil).
  d = as<CheckProgram>(decode_client(hex("86") + with.substr(1) +
                                     hex("ad 6d616e69666573745f68617368 c0")));
  EXPECT_EQ(d.wasm_hash, std::optional<std::string>("ab"));
  EXPECT_FALSE(d.manifest_hash);
}

TEST(PieV05CodecGolden, AddProgramWithBinChunk) {
  // {"type":"add_program","corr_id":2,"program_hash":"h","manifest":"m","force_overwrite":false,
  //  "chunk_index":0,"total_chunks":1,"chunk_data":bin(00 ff)}
  const auto golden = cat({"88", kType, kAdd, kCorrId, "02", "ac 70726f6772616d5f68617368", "a1 68",
                           "a8 6d616e6966657374", "a1 6d", "af 666f7263655f6f7665727772697465", "c2", kChunkIndex,
                           "00", kTotalChunks, "01", kChunkData, "c4 02 00ff"});
  const AddProgram m{2, "h", "m", false, 0, 1, std::string("\x00\xff", 2)};
  EXPECT_EQ(to_hex(encode(ClientMessage{m})), to_hex(golden));
  const auto d = as<AddProgram>(decode_client(golden));
  EXPECT_EQ(d.chunk_data, std::string("\x00\xff", 2));
  EXPECT_FALSE(d.force_overwrite);
  EXPECT_EQ(d.total_chunks, 1u);
}

TEST(PieV05CodecGolden, TransferFileEmptyChunk) {
  // {"type":"transfer_file","process_id":"p","file_hash":"h","chunk_index":0,"total_chunks":1,"chunk_data":bin()}
  const auto golden = cat({"86", kType, "ad 7472616e736665725f66696c65", kProcessId, "a1 70", kFileHash, "a1 68",
                           kChunkIndex, "00", kTotalChunks, "01", kChunkData, "c4 00"});
  EXPECT_EQ(to_hex(encode(ClientMessage{TransferFile{"p", "h", 0, 1, ""}})), to_hex(golden));
  EXPECT_EQ(as<TransferFile>(decode_client(golden)).chunk_data, "");
}

TEST(PieV05CodecGolden, Response) {
  // {"type":"response","corr_id":300,"ok":true,"result":"Pong"}
  const auto golden = cat({"84", kType, kResponse, kCorrId, "cd 012c", "a2 6f6b", "c3", "a6 726573756c74", "a4 506f6e67"});
  EXPECT_EQ(to_hex(encode(ServerMessage{Response{300, true, "Pong"}})), to_hex(golden));
  const auto d = as<Response>(decode_server(golden));
  EXPECT_EQ(d.corr_id, 300u);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.result, "Pong");
}

TEST(PieV05CodecGolden, ProcessEvent) {
  // {"type":"process_event","process_id":"p1","event":"stdout","value":"hi"}
  const auto golden = cat({"84", kType, kEvent, kProcessId, "a2 7031", "a5 6576656e74", "a6 7374646f7574",
                           "a5 76616c7565", "a2 6869"});
  EXPECT_EQ(to_hex(encode(ServerMessage{ProcessEvent{"p1", "stdout", "hi"}})), to_hex(golden));
  const auto d = as<ProcessEvent>(decode_server(golden));
  EXPECT_EQ(d.process_id, "p1");
  EXPECT_EQ(d.event, "stdout");
  EXPECT_EQ(d.value, "hi");
}

TEST(PieV05CodecGolden, FileWithAndWithoutName) {
  // {"type":"file","process_id":"p1","file_hash":"ab","chunk_index":0,"total_chunks":1,
  //  "chunk_data":bin(01 02),"name":"echo.bin"}
  const auto body = cat({kProcessId, "a2 7031", kFileHash, "a2 6162", kChunkIndex, "00", kTotalChunks, "01", kChunkData,
                         "c4 02 0102"});
  const auto named = hex("87") + cat({kType, "a4 66696c65"}) + body + cat({"a4 6e616d65", "a8 6563686f2e62696e"});
  const auto bare = hex("86") + cat({kType, "a4 66696c65"}) + body;
  EXPECT_EQ(to_hex(encode(ServerMessage{File{"p1", "ab", 0, 1, "\x01\x02", "echo.bin"}})), to_hex(named));
  EXPECT_EQ(to_hex(encode(ServerMessage{File{"p1", "ab", 0, 1, "\x01\x02", std::nullopt}})), to_hex(bare));
  EXPECT_EQ(as<File>(decode_server(named)).name, std::optional<std::string>("echo.bin"));
  EXPECT_FALSE(as<File>(decode_server(bare)).name);
  EXPECT_EQ(as<File>(decode_server(bare)).chunk_data, "\x01\x02");
}

// ---- round trips ------------------------------------------------------------------------

TEST(PieV05CodecRoundTrip, EveryClientMessage) {
  const std::string binary("\x00\x01\xfe\xff\x80 text", 10);
  const std::vector<ClientMessage> all = {
      AuthIdentify{1, "alice"},
      AuthProve{2, "c2lnbmF0dXJl"},
      AuthByToken{3, "s3cret"},
      Ping{4},
      Query{5, "model_status", ""},
      CheckProgram{6, "x", "1.2.3", std::string(64, 'a'), std::string(64, 'b')},
      AddProgram{7, std::string(64, 'a'), "[package]\nname = \"x\"\nversion = \"1.0.0\"\n", true, 1, 2, binary},
      LaunchProcess{8, "text-completion@0.1.0", R"({"prompt":"ünïcödé"})", false},
      AttachProcess{9, "0b7c8a2e-1111-4222-8333-444455556666"},
      TerminateProcess{10, "id"},
      SignalProcess{"id", "hello"},
      TransferFile{"id", std::string(64, 'f'), 3, 4, std::string(300, '\0')},
      ListProcesses{0xffffffffu},
  };
  ASSERT_EQ(all.size(), std::variant_size_v<ClientMessage>);
  for (const auto& m : all) round_trip(m, decode_client);
}

TEST(PieV05CodecRoundTrip, EveryServerMessage) {
  const std::vector<ServerMessage> all = {
      Response{1, false, "Process not found"},
      ProcessEvent{"id", "error", "Signal"},
      File{"id", std::string(64, 'c'), 2, 3, std::string("\x00\x01\x02", 3), "image.png"},
  };
  ASSERT_EQ(all.size(), std::variant_size_v<ServerMessage>);
  for (const auto& m : all) round_trip(m, decode_server);
  const auto big = File{"id", "h", 0, 1, std::string(kChunkSize, 'z'), std::nullopt};
  round_trip(ServerMessage{big}, decode_server);
  EXPECT_EQ(std::string(type_name(ServerMessage{big})), "file");
  EXPECT_EQ(std::string(type_name(ClientMessage{ListProcesses{}})), "list_processes");
}

// ---- tolerant decoding ------------------------------------------------------------------

TEST(PieV05CodecDecode, FieldsInAnyOrderAndExtraKeysIgnored) {
  // {"zzz":[1,2],"result":"no","ok":false,"corr_id":9,"type":"response"}
  const auto bytes = cat({"85", "a3 7a7a7a", "92 01 02", "a6 726573756c74", "a2 6e6f", "a2 6f6b", "c2", kCorrId, "09",
                          kType, kResponse});
  const auto r = as<Response>(decode_server(bytes));
  EXPECT_EQ(r.corr_id, 9u);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.result, "no");
}

TEST(PieV05CodecDecode, ChunkDataAsStrAccepted) {
  auto bytes = encode(ClientMessage{TransferFile{"p", "h", 0, 1, "abc"}});
  const auto bin = hex("c4 03 616263");
  const auto pos = bytes.find(bin);
  ASSERT_NE(pos, std::string::npos);
  bytes.replace(pos, bin.size(), hex("a3 616263"));
  EXPECT_EQ(as<TransferFile>(decode_client(bytes)).chunk_data, "abc");
}

// ---- text frames ------------------------------------------------------------------------

TEST(PieV05CodecText, TurnDoneAndError) {
  EXPECT_EQ(encode_turn_done(), R"({"type":"turn_done"})");
  EXPECT_EQ(decode_text(encode_turn_done()).kind, TextFrame::Kind::TurnDone);
  EXPECT_EQ(encode_text_error("stream aborted"), R"({"type":"error","message":"stream aborted"})");
  auto e = decode_text(encode_text_error("a \"quoted\" ünï"));
  EXPECT_EQ(e.kind, TextFrame::Kind::Error);
  EXPECT_EQ(e.message, "a \"quoted\" ünï");
  e = decode_text(R"({"message":"later","type":"error","x":[1]})");
  EXPECT_EQ(e.kind, TextFrame::Kind::Error);
  EXPECT_EQ(e.message, "later");
  // Invalid UTF-8 in a message still yields valid JSON.
  EXPECT_EQ(decode_text(encode_text_error("bad \xff byte")).kind, TextFrame::Kind::Error);
}

TEST(PieV05CodecText, AnythingElseIsOther) {
  auto o = decode_text(R"({"type":"progress","n":1})");
  EXPECT_EQ(o.kind, TextFrame::Kind::Other);
  EXPECT_EQ(o.message, "progress");
  for (std::string_view t : {"", "not json", "[]", "42", R"({"type":1})", R"({"no":"type"})", "{\"type\":\"turn_done\""})
    EXPECT_EQ(decode_text(t).kind, TextFrame::Kind::Other) << t;
  // Deep nesting and oversize text are Other without being parsed.
  EXPECT_EQ(decode_text(std::string(100000, '[')).kind, TextFrame::Kind::Other);
  const std::string huge = R"({"type":"turn_done","pad":")" + std::string(kMaxFrameBytes, 'x') + "\"}";
  EXPECT_EQ(decode_text(huge).kind, TextFrame::Kind::Other);
}

// ---- rejections -------------------------------------------------------------------------

std::string client_error(std::string_view bytes) { return error_of(decode_client(bytes)); }
std::string server_error(std::string_view bytes) { return error_of(decode_server(bytes)); }

TEST(PieV05CodecReject, NotAMapOrNoType) {
  EXPECT_EQ(client_error(hex("92 01 02")), "message is not a msgpack map");
  EXPECT_EQ(server_error(hex("80")), "message has no string field 'type'");
  EXPECT_EQ(client_error(cat({"81", kType, "a3 666f6f"})), "unknown client message type 'foo'");
  EXPECT_EQ(server_error(encode(ClientMessage{Ping{1}})), "unknown server message type 'ping'");
  // 0.2 names are not 0.5 messages.
  EXPECT_EQ(client_error(cat({"82", kType, "ae 6964656e74696669636174696f6e", kCorrId, "01"})),
            "unknown client message type 'identification'");
}

TEST(PieV05CodecReject, MissingRequiredFields) {
  // add_program without force_overwrite
  EXPECT_EQ(client_error(cat({"87", kType, kAdd, kCorrId, "02", "ac 70726f6772616d5f68617368", "a1 68",
                              "a8 6d616e6966657374", "a1 6d", kChunkIndex, "00", kTotalChunks, "01", kChunkData,
                              "c4 00"})),
            "add_program: field 'force_overwrite' is missing");
  // launch_process without capture_outputs
  EXPECT_EQ(client_error(cat({"84", kType, kLaunch, kCorrId, "07", "a8 696e6665726c6574", "a1 65", "a5 696e707574",
                              "a0"})),
            "launch_process: field 'capture_outputs' is missing");
  EXPECT_EQ(client_error(cat({"81", kType, "a4 70696e67"})), "ping: field 'corr_id' is missing");
  // response without ok
  EXPECT_EQ(server_error(cat({"83", kType, kResponse, kCorrId, "01", "a6 726573756c74", "a0"})),
            "response: field 'ok' is missing");
}

TEST(PieV05CodecReject, WrongFieldTypes) {
  // capture_outputs as 1
  EXPECT_EQ(client_error(cat({"85", kType, kLaunch, kCorrId, "07", "a8 696e6665726c6574", "a1 65", "a5 696e707574",
                              "a0", "af 636170747572655f6f757470757473", "01"})),
            "launch_process: field 'capture_outputs' must be a boolean");
  // check_program wasm_hash as 5
  EXPECT_EQ(client_error(cat({"85", kType, kCheck, kCorrId, "03", "a4 6e616d65", "a1 78", "a7 76657273696f6e", "a1 31",
                              "a9 7761736d5f68617368", "05"})),
            "check_program: field 'wasm_hash' must be a string or nil");
  // process_event event as an int (0.2 style)
  EXPECT_EQ(server_error(cat({"84", kType, kEvent, kProcessId, "a1 70", "a5 6576656e74", "01", "a5 76616c7565", "a0"})),
            "process_event: field 'event' must be a string");
  // corr_id beyond u32, negative, double
  EXPECT_EQ(client_error(cat({"82", kType, "a4 70696e67", kCorrId, "cf 0000000100000000"})),
            "ping: field 'corr_id' is out of range");
  EXPECT_EQ(client_error(cat({"82", kType, "a4 70696e67", kCorrId, "ff"})),
            "ping: field 'corr_id' must be an unsigned integer");
  EXPECT_EQ(client_error(cat({"82", kType, "a4 70696e67", kCorrId, "cb 3ff0000000000000"})),
            "ping: field 'corr_id' must be an unsigned integer");
  // file name as an int
  const auto file = encode(ServerMessage{File{"p", "h", 0, 1, "", std::nullopt}});
  EXPECT_EQ(server_error(hex("87") + file.substr(1) + hex("a4 6e616d65 07")), "file: field 'name' must be a string or nil");
}

TEST(PieV05CodecReject, ChunkDataMustBeBytes) {
  const auto head = cat({"86", kType, "ad 7472616e736665725f66696c65", kProcessId, "a1 70", kFileHash, "a1 68",
                         kChunkIndex, "00", kTotalChunks, "01", kChunkData});
  EXPECT_EQ(client_error(head + hex("05")), "transfer_file: field 'chunk_data' must be bytes (msgpack bin)");
  // ext 8 (fixext1): what a Uint8Array becomes in the npm client
  EXPECT_EQ(client_error(head + hex("d4 01 00")),
            "transfer_file: field 'chunk_data' must be bytes (msgpack bin), got an ext (a Uint8Array? send a Buffer)");
  // chunk_index negative
  EXPECT_EQ(client_error(cat({"86", kType, "ad 7472616e736665725f66696c65", kProcessId, "a1 70", kFileHash, "a1 68",
                              kChunkIndex, "ff", kTotalChunks, "01", kChunkData, "c4 00"})),
            "transfer_file: field 'chunk_index' must be an unsigned integer");
}

TEST(PieV05CodecReject, TruncatedAndTrailing) {
  const auto full = encode(ServerMessage{ProcessEvent{"p", "return", "done"}});
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = decode_server(std::string_view(full).substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_NE(r.error().find("not valid msgpack"), std::string::npos) << r.error();
  }
  EXPECT_EQ(client_error(encode(ClientMessage{Ping{1}}) + hex("c0")), "trailing bytes after the msgpack value");
}

TEST(PieV05CodecReject, HostileInputIsBounded) {
  for (const auto& f : unbounded_frames()) {
    EXPECT_NE(client_error(f).find("not valid msgpack"), std::string::npos);
    EXPECT_NE(server_error(f).find("not valid msgpack"), std::string::npos);
  }
  EXPECT_NE(client_error(cat({"82", kType, "a4 70696e67", "a1 78", "c6 ffffffff 00"})).find("not valid msgpack"),
            std::string::npos);
  const std::string huge(kMaxFrameBytes + 1, '\xc0');
  EXPECT_NE(client_error(huge).find("exceeds the limit"), std::string::npos);
  for (const auto& s : two_byte_frames()) {
    (void)decode_client(s);
    (void)decode_server(s);
  }
}

// ---- names ------------------------------------------------------------------------------

TEST(PieV05Names, StdPrefixStripped) {
  auto r = inferlet_name("std/echo@0.1.0");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "echo@0.1.0");
  r = inferlet_name("echo@0.1.0");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "echo@0.1.0");
  r = inferlet_name("text-completion@10.20.30");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "text-completion@10.20.30");
}

TEST(PieV05Names, Errors) {
  auto err = [](std::string_view n) {
    auto r = inferlet_name(n);
    EXPECT_FALSE(r.ok()) << n;
    return r.ok() ? std::string() : r.error();
  };
  EXPECT_NE(err("other/x@1.0.0").find("no namespace"), std::string::npos);
  EXPECT_NE(err("echo").find("exact version"), std::string::npos);
  EXPECT_NE(err("echo@latest").find("exact version"), std::string::npos);
  EXPECT_NE(err("echo@1.0").find("not MAJOR.MINOR.PATCH"), std::string::npos);
  EXPECT_NE(err("echo@1.0.x").find("not MAJOR.MINOR.PATCH"), std::string::npos);
  EXPECT_NE(err("@1.0.0").find("not a valid"), std::string::npos);
}

}  // namespace
}  // namespace pg::pie::v05
