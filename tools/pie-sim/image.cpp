#include "image.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

namespace pie_sim {

namespace {

std::uint32_t crc32(std::string_view data) {
  static const auto kTable = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : data) c = kTable[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

void put32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

void chunk(std::string& png, std::string_view type, const std::string& data) {
  put32(png, static_cast<std::uint32_t>(data.size()));
  std::string body = std::string(type) + data;
  png += body;
  put32(png, crc32(body));
}

/// zlib framing around stored (uncompressed) deflate blocks.
std::string zlib_stored(const std::string& raw) {
  std::string z = "\x78\x01";
  std::size_t pos = 0;
  do {
    std::size_t n = std::min<std::size_t>(65535, raw.size() - pos);
    z.push_back(pos + n == raw.size() ? 1 : 0);  // BFINAL, BTYPE 00
    z.push_back(static_cast<char>(n & 0xff));
    z.push_back(static_cast<char>(n >> 8));
    z.push_back(static_cast<char>(~n & 0xff));
    z.push_back(static_cast<char>((~n >> 8) & 0xff));
    z.append(raw, pos, n);
    pos += n;
  } while (pos < raw.size());
  std::uint32_t a = 1, b = 0;  // Adler-32
  for (unsigned char c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
  put32(z, (b << 16) | a);
  return z;
}

class Image final : public Program {
 public:
  Image(boost::asio::any_io_executor ex, Emitter& out, Dialect dialect) : Program(ex, out), dialect_(dialect) {}
  void start(std::vector<std::string> args) override {
    unsigned size = 16;
    bool ok = args.empty();
    if (args.size() == 2 && args[0] == "--size") {
      auto [p, ec] = std::from_chars(args[1].data(), args[1].data() + args[1].size(), size);
      ok = ec == std::errc{} && p == args[1].data() + args[1].size() && size >= 1 && size <= 256;
    }
    if (!ok) {
      after(std::chrono::milliseconds(0), [this] { finish(Outcome::Failed, "image: usage: [--size N] (1..256)"); });
      return;
    }
    after(std::chrono::milliseconds(0), [this, size] {
      auto png = checkerboard_png(size);
      const auto n = png.size();
      blob(std::move(png), "image.png");
      if (dialect_ == Dialect::V05) return finish(Outcome::Returned, "png " + std::to_string(n) + " bytes");
      finish(Outcome::Returned,
             "png " + std::to_string(size) + "x" + std::to_string(size) + ", " + std::to_string(n) + " bytes");
    });
  }

 private:
  Dialect dialect_;
};

}  // namespace

std::string checkerboard_png(unsigned size) {
  std::string raw;
  raw.reserve(size * (1 + 3 * size));
  for (unsigned y = 0; y < size; ++y) {
    raw.push_back(0);  // filter: none
    for (unsigned x = 0; x < size; ++x) {
      const bool dark = ((x / 4) + (y / 4)) % 2 == 0;
      raw += dark ? std::string("\x1f\x4e\x79", 3) : std::string("\xf2\xc1\x4e", 3);
    }
  }
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put32(ihdr, size);
  put32(ihdr, size);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, no filter method, no interlace
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", zlib_stored(raw));
  chunk(png, "IEND", "");
  return png;
}

std::shared_ptr<Program> make_image_program(boost::asio::any_io_executor ex, Emitter& out, Dialect dialect) {
  return std::make_shared<Image>(ex, out, dialect);
}

}  // namespace pie_sim
