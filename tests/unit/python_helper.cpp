#include "python_helper.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pg::test {

namespace {
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

Result<std::string> run_python(const std::string& script) {
  if (::access(kSystemPython, X_OK) != 0)
    return make_error(std::string(kSystemPython) + " is missing: this test needs Debian's python3 (tools/install-deps.sh installs it)");
  char dir_template[] = "/tmp/pg-python-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) return make_error("mkdtemp failed");
  const std::string script_path = std::string(dir) + "/script.py";
  const std::string err_path = std::string(dir) + "/stderr.txt";
  {
    std::ofstream out(script_path, std::ios::binary);
    out << script;
  }
  const std::string cmd = std::string(kSystemPython) + " -I " + script_path + " 2>" + err_path;
  std::string output;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return make_error("popen failed");
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = ::pclose(pipe);
  const std::string err = read_all(err_path);
  std::remove(script_path.c_str());
  std::remove(err_path.c_str());
  ::rmdir(dir);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return make_error("python3 failed (status " + std::to_string(status) + "): " + err);
  return output;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    out += hex[static_cast<unsigned char>(c) >> 4];
    out += hex[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  const auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1]));
  return out;
}

}  // namespace pg::test
