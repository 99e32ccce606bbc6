// RAII for C handles: CPtr<SSL, SSL_free> holds an SSL* and frees it exactly once.
#pragma once

#include <memory>

namespace ztdns {

template <auto FreeFn>
struct CDeleter {
  template <class T>
  void operator()(T* p) const {
    if (p) FreeFn(p);
  }
};

template <class T, auto FreeFn>
using CPtr = std::unique_ptr<T, CDeleter<FreeFn>>;

}  // namespace ztdns
