#include "common/bounded_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pg {

namespace {

const char* file_kind(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a plain file";
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string describe_bytes(std::size_t n) {
  if (n >= 1024 * 1024 && n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + " MiB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n / 1024) + " KiB";
  return std::to_string(n) + " bytes";
}

Result<std::string> read_bounded_file(const std::string& path, std::size_t max_bytes) {
  const std::string q = "'" + path + "'";
  const std::string limit = "at most " + std::to_string(max_bytes) + " bytes (" + describe_bytes(max_bytes) + ") are read";
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
  if (f.fd < 0) return make_error(q + " cannot be opened: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return make_error(q + " cannot be examined: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return make_error(q + " is not a regular file (" + file_kind(st.st_mode) + "): only a regular file of at most " +
                      describe_bytes(max_bytes) + " is read");
  if (static_cast<unsigned long long>(st.st_size) > max_bytes)
    return make_error(q + " is " + std::to_string(st.st_size) + " bytes: " + limit);
  std::string out;
  out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[16 * 1024];
  for (;;) {  // to the end, even if the file grew since fstat, but never past the limit
    const auto n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(q + " cannot be read: " + std::strerror(errno));
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) return make_error(q + " is larger than " + describe_bytes(max_bytes) + ": " + limit);
  }
  return out;
}

}  // namespace pg
