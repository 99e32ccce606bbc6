#include "common/result.h"

#include <cstring>

namespace ztdns {

Error Error::fromErrno(std::string what, int err) {
  return Error{std::move(what) + ": " + std::strerror(err), err};
}

}  // namespace ztdns
