// Result<T>: a value or an Error, for every boundary between modules.
//
// The data plane (per-query, per-packet paths) never throws; it returns Result. Start-up
// and control handlers may throw, and the request boundary turns that into an Error.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ztdns {

struct Error {
  std::string message;  // one line, in words, naming what is wrong
  int code = 0;         // errno or a module-specific code; 0 when there is none

  static Error fromErrno(std::string what, int err);
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status okStatus() {
  return {};
}

}  // namespace ztdns
