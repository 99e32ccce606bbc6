// FakeAllowSet: an AllowSet whose kernel acknowledgements the test controls. Every
// insert() is recorded with its requests and origin; the test acknowledges or fails
// insert i when it likes (posted to the io thread, as the real ACK arrives there), or
// turns on auto-acknowledgement, which completes each insert on a later loop turn the
// way the real batching does.
#pragma once

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "enforce/allow_set.h"

namespace ztdns::testing {

class FakeAllowSet final : public enforce::AllowSet {
 public:
  struct Insert {
    std::vector<enforce::AllowRequest> requests;
    enforce::AllowOrigin origin;
  };

  explicit FakeAllowSet(asio::io_context& io) : io_(io) {}

  void setAutoAck(bool on) {
    std::lock_guard lock(mutex_);
    autoAck_ = on;
  }
  // Benchmarks: with auto-acknowledgement on, keep no per-insert history.
  void setKeepHistory(bool keep) {
    std::lock_guard lock(mutex_);
    keepHistory_ = keep;
  }

  void insert(std::vector<enforce::AllowRequest> requests, enforce::AllowOrigin origin,
              std::function<void(Status)> done) override {
    bool ack;
    size_t index;
    {
      std::lock_guard lock(mutex_);
      if (!keepHistory_ && autoAck_) {
        asio::post(io_, [d = std::move(done)] { d(okStatus()); });
        return;
      }
      inserts_.push_back({std::move(requests), std::move(origin)});
      dones_.push_back(std::move(done));
      index = inserts_.size() - 1;
      ack = autoAck_;
    }
    cv_.notify_all();
    if (ack) complete(index, okStatus());
  }

  std::optional<enforce::AllowEntryInfo> lookup(const IpAddress& address) const override {
    std::lock_guard lock(mutex_);
    auto it = allowed_.find(address);
    if (it == allowed_.end()) return std::nullopt;
    return it->second;
  }
  enforce::AllowSetStats stats() const override {
    std::lock_guard lock(mutex_);
    enforce::AllowSetStats s;
    s.size = allowed_.size();
    return s;
  }
  Status adoptKernelState() override { return okStatus(); }
  void setActive(bool) override {}
  void setCapacity(uint32_t) override {}

  size_t insertCount() const {
    std::lock_guard lock(mutex_);
    return inserts_.size();
  }
  Insert insertAt(size_t i) const {
    std::lock_guard lock(mutex_);
    return inserts_.at(i);
  }
  bool waitForInserts(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return inserts_.size() >= n; });
  }
  // Every address acknowledged so far ("in the kernel").
  bool isAllowed(const IpAddress& address) const { return lookup(address).has_value(); }

  void ack(size_t i) { complete(i, okStatus()); }
  void fail(size_t i, std::string message) { complete(i, Status(Error{std::move(message)})); }

 private:
  void complete(size_t i, Status status) {
    asio::post(io_, [this, i, status]() {
      std::function<void(Status)> done;
      {
        std::lock_guard lock(mutex_);
        done = std::move(dones_.at(i));
        if (status.ok()) {
          for (const auto& r : inserts_.at(i).requests) {
            allowed_[r.address] = {
                std::chrono::system_clock::now() + std::chrono::seconds(r.timeoutSeconds),
                inserts_.at(i).origin};
          }
        }
      }
      if (done) done(status);
    });
  }

  asio::io_context& io_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::vector<Insert> inserts_;
  std::vector<std::function<void(Status)>> dones_;
  std::map<IpAddress, enforce::AllowEntryInfo> allowed_;
  bool autoAck_ = false;
  bool keepHistory_ = true;
};

}  // namespace ztdns::testing
