#include "grpc/decode_check.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <vector>

#include "value/utf8.hpp"

namespace pg::grpc_api {

namespace {

namespace gp = google::protobuf;
using WFL = gp::internal::WireFormatLite;

struct Level {
  const gp::Descriptor* type;
  gp::io::CodedInputStream::Limit limit;
  std::int64_t end;  // offset where this message's bytes end
};

bool is_value(const gp::Descriptor* d) { return d->full_name() == "pie.gateway.v1.Value"; }

std::string scan(std::string_view bytes, const gp::Descriptor* root) {
  gp::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  std::vector<Level> stack;
  const gp::Descriptor* type = root;
  std::string top_field;  // the root's field the deepest problem sits in
  auto at = [&] { return " at byte " + std::to_string(in.CurrentPosition()); };
  for (;;) {
    if (!stack.empty() && in.BytesUntilLimit() == 0) {
      in.PopLimit(stack.back().limit);
      stack.pop_back();
      type = stack.empty() ? root : stack.back().type;
      continue;
    }
    if (stack.empty() && in.ExpectAtEnd()) return {};
    const auto start = in.CurrentPosition();
    const std::uint32_t tag = in.ReadTag();
    if (tag == 0) return "malformed protobuf: invalid field tag at byte " + std::to_string(start);
    const int number = static_cast<int>(WFL::GetTagFieldNumber(tag));
    const auto wire = WFL::GetTagWireType(tag);
    const gp::FieldDescriptor* field = type->FindFieldByNumber(number);
    if (stack.empty() && field) top_field = field->name();
    const std::string fname = field ? type->name() + "." + field->name() : "field " + std::to_string(number);
    // Protobuf keeps a field of the wrong wire type as an unknown field: so does this scan.
    if (field && !field->is_packable() && WFL::WireTypeForFieldType(static_cast<WFL::FieldType>(field->type())) != wire)
      field = nullptr;
    switch (wire) {
      case WFL::WIRETYPE_VARINT: {
        std::uint64_t v;
        if (!in.ReadVarint64(&v)) return "malformed protobuf: truncated varint in " + fname + at();
        break;
      }
      case WFL::WIRETYPE_FIXED64: {
        std::uint64_t v;
        if (!in.ReadLittleEndian64(&v)) return "malformed protobuf: truncated fixed64 in " + fname + at();
        break;
      }
      case WFL::WIRETYPE_FIXED32: {
        std::uint32_t v;
        if (!in.ReadLittleEndian32(&v)) return "malformed protobuf: truncated fixed32 in " + fname + at();
        break;
      }
      case WFL::WIRETYPE_LENGTH_DELIMITED: {
        std::uint32_t len;
        if (!in.ReadVarint32(&len)) return "malformed protobuf: truncated length of " + fname + at();
        const std::int64_t end = stack.empty() ? static_cast<std::int64_t>(bytes.size()) : stack.back().end;
        if (static_cast<std::int64_t>(len) > end - in.CurrentPosition())
          return "malformed protobuf: " + fname + " claims " + std::to_string(len) + " bytes, more than remain" + at();
        if (field && field->type() == gp::FieldDescriptor::TYPE_MESSAGE) {
          if (static_cast<int>(stack.size()) + 1 >= kProtobufNestingLimit) {
            int values = 0;
            for (const auto& l : stack) values += is_value(l.type) ? 1 : 0;
            return "messages nested deeper than protobuf's limit of " + std::to_string(kProtobufNestingLimit) +
                   " levels (Value nesting deeper than " + std::to_string(values) + " levels, in '" + top_field + "')";
          }
          const std::int64_t sub_end = in.CurrentPosition() + static_cast<std::int64_t>(len);
          stack.push_back({field->message_type(), in.PushLimit(static_cast<int>(len)), sub_end});
          type = field->message_type();
          break;
        }
        std::string text;
        if (!in.ReadString(&text, static_cast<int>(len))) return "malformed protobuf: truncated " + fname + at();
        if (field && field->type() == gp::FieldDescriptor::TYPE_STRING && !value::utf8_valid(text))
          return fname + " is not valid UTF-8 text (byte " + std::to_string(start) + ")";
        break;
      }
      default:
        return "malformed protobuf: wire type " + std::to_string(wire) + " (groups are not used) in " + fname +
               " at byte " + std::to_string(start);
    }
  }
}

}  // namespace

std::string explain_undecodable(std::string_view bytes, const gp::Descriptor* type) {
  std::string why = scan(bytes, type);
  if (why.empty()) why = "it does not parse (no single cause found)";
  return "request is not a valid " + type->full_name() + ": " + why;
}

}  // namespace pg::grpc_api
