#include "config/yaml_document.hpp"

#include <map>
#include <vector>

#include "config/fields.hpp"

namespace pg::config {

namespace {

class Checker {
 public:
  explicit Checker(Fields& f) : f_(f) {}

  /// false once a bound is passed (the rest is not looked at).
  bool walk(const YAML::Node& n, const std::string& path, int depth) {
    if (++nodes_ > kMaxYamlNodes) {
      f_.error(n, path, "the document has more than " + std::to_string(kMaxYamlNodes) +
                            " values (counting each use of an alias): refused");
      return false;
    }
    if (depth > kMaxYamlDepth) {
      f_.error(n, path, "nested deeper than " + std::to_string(kMaxYamlDepth) + " levels: refused");
      return false;
    }
    if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size(); ++i)
        if (!walk(n[i], path + "[" + std::to_string(i) + "]", depth + 1)) return false;
    } else if (n.IsMap()) {
      std::map<std::string, int> seen;  // key -> line (1-based)
      for (const auto& kv : n) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
        const std::string sub = path.empty() ? key : path + "." + key;
        const int line = kv.first.Mark().line + 1;
        if (kv.first.IsScalar()) {
          auto [it, fresh] = seen.emplace(key, line);
          if (!fresh)
            f_.error(kv.first, sub,
                     "duplicate key: '" + key + "' is already set on line " + std::to_string(it->second) +
                         " of this mapping (write each key once)");
        }
        if (!walk(kv.second, sub, depth + 1)) return false;
      }
    }
    return true;
  }

 private:
  Fields& f_;
  std::size_t nodes_ = 0;
};

}  // namespace

Result<YAML::Node> parse_yaml_document(const std::string& text, const std::string& source) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return make_error(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": YAML syntax error: " + e.msg);
  }
  Fields f(source);
  if (docs.size() > 1)
    f.error(docs[1], "(document)",
            "a second YAML document: the configuration is one document (remove the '---' separator and what "
            "follows, or merge it into the first)");
  YAML::Node root = docs.empty() ? YAML::Node() : docs.front();
  try {
    Checker(f).walk(root, "", 0);
  } catch (const YAML::Exception& e) {
    f.error(root, "(document)", e.what());
  }
  if (!f.ok()) return make_error(f.errors());
  return root;
}

}  // namespace pg::config
