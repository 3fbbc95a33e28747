// unique_ptr owners for OpenSSL handles: `OpensslPtr<X509, X509_free>`.
#pragma once

#include <memory>

namespace pg {

template <typename T, void (*Free)(T*)>
struct OpensslDeleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using OpensslPtr = std::unique_ptr<T, OpensslDeleter<T, Free>>;

}  // namespace pg
