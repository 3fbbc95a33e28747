#include "pie/session.hpp"

namespace pg::pie {

const char* to_string(Protocol p) { return p == Protocol::V05 ? "0.5" : "0.2"; }

const char* to_string(InstanceEnd e) {
  switch (e) {
    case InstanceEnd::Completed: return "Completed";
    case InstanceEnd::Aborted: return "Aborted";
    case InstanceEnd::Exception: return "Exception";
    case InstanceEnd::ServerError: return "ServerError";
    case InstanceEnd::OutOfResources: return "OutOfResources";
    case InstanceEnd::SessionLost: return "SessionLost";
  }
  return "Unknown";
}

}  // namespace pg::pie
