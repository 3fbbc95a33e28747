// The configuration loader (lib/config): any text as gateway.yaml, through load_string and, from
// a file on disk, load_file (what `--check-config` and a reload read). Files the config names
// (token_file, key_file, programs) resolve against the fuzz process's working directory.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/loader.hpp"

namespace {

struct TempFile {
  TempFile() {
    char name[] = "/tmp/pg-fuzz-config-XXXXXX";
    fd = mkstemp(name);
    if (fd < 0) std::abort();
    path = name;
  }
  ~TempFile() {
    close(fd);
    unlink(path.c_str());
  }
  void write_all(const std::uint8_t* data, std::size_t size) {
    if (ftruncate(fd, 0) != 0) std::abort();
    std::size_t done = 0;
    while (done < size) {
      auto n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
  }
  int fd = -1;
  std::string path;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static TempFile file;
  (void)pg::config::load_string(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  file.write_all(data, size);
  (void)pg::config::load_file(file.path);
  return 0;
}
