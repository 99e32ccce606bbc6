// FakeServerPool: a ServerPool whose answers the test controls. Every resolve() is
// recorded; the test answers or fails call i whenever it likes (the completion is posted
// to the io thread, as the real pool runs callbacks there), or installs a responder that
// answers at once. It never answers by itself otherwise, so a test can also hold a query
// past its deadline to check the caller's own guard.
#pragma once

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "upstream/server_pool.h"

namespace ztdns::testing {

class FakeServerPool final : public upstream::ServerPool {
 public:
  using Responder =
      std::function<std::optional<Result<upstream::Answer>>(std::span<const uint8_t> query)>;

  explicit FakeServerPool(asio::io_context& io) : io_(io) {}

  static upstream::Answer makeAnswer(std::vector<uint8_t> wire, std::string server = "pdns1",
                                     upstream::Transport transport = upstream::Transport::kDoT) {
    upstream::Answer a;
    a.wire = std::move(wire);
    a.serverName = std::move(server);
    a.serverAddress = IpAddress::parse("198.51.100.53").value();
    a.serverPort = transport == upstream::Transport::kDoT ? 853 : 443;
    a.transport = transport;
    a.rtt = std::chrono::microseconds(1500);
    return a;
  }

  // Answers every new query at once (when it returns a value). Thread-safe.
  void setResponder(Responder responder) {
    std::lock_guard lock(mutex_);
    responder_ = std::move(responder);
  }
  // Benchmarks: with a responder set, keep no per-call history (memory stays flat).
  void setKeepHistory(bool keep) {
    std::lock_guard lock(mutex_);
    keepHistory_ = keep;
  }

  void resolve(std::span<const uint8_t> query, std::chrono::steady_clock::time_point deadline,
               std::function<void(Result<upstream::Answer>)> done) override {
    record(query, deadline, std::nullopt, std::move(done));
  }
  void resolveVia(const IpAddress& server, std::span<const uint8_t> query,
                  std::chrono::steady_clock::time_point deadline,
                  std::function<void(Result<upstream::Answer>)> done) override {
    record(query, deadline, server, std::move(done));
  }
  std::vector<upstream::ServerStatus> status() const override { return {}; }
  void checkUnknown() override {}
  Status reconfigure(const config::Config&) override { return okStatus(); }
  Status reconfigure(const upstream::PoolOptions&) override { return okStatus(); }

  size_t callCount() const {
    std::lock_guard lock(mutex_);
    return calls_.size();
  }
  std::vector<uint8_t> query(size_t i) const {
    std::lock_guard lock(mutex_);
    return calls_.at(i).query;
  }
  std::chrono::steady_clock::time_point deadline(size_t i) const {
    std::lock_guard lock(mutex_);
    return calls_.at(i).deadline;
  }
  std::optional<IpAddress> via(size_t i) const {
    std::lock_guard lock(mutex_);
    return calls_.at(i).via;
  }
  bool waitForCalls(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return calls_.size() >= n; });
  }

  // Complete call i on the io thread.
  void answer(size_t i, upstream::Answer a) { complete(i, Result<upstream::Answer>(std::move(a))); }
  void answer(size_t i, std::vector<uint8_t> wire) { answer(i, makeAnswer(std::move(wire))); }
  void fail(size_t i, upstream::FailureCause cause, std::string message) {
    complete(i, Result<upstream::Answer>(Error{std::move(message), static_cast<int>(cause)}));
  }

 private:
  struct Call {
    std::vector<uint8_t> query;
    std::chrono::steady_clock::time_point deadline;
    std::optional<IpAddress> via;
    std::function<void(Result<upstream::Answer>)> done;
  };

  void record(std::span<const uint8_t> query, std::chrono::steady_clock::time_point deadline,
              std::optional<IpAddress> via, std::function<void(Result<upstream::Answer>)> done) {
    std::optional<Result<upstream::Answer>> now;
    size_t index;
    {
      std::lock_guard lock(mutex_);
      if (!keepHistory_ && responder_) {
        if (auto r = responder_(query)) {
          asio::post(io_, [d = std::move(done), a = std::move(*r)]() mutable { d(std::move(a)); });
        }
        return;
      }
      calls_.push_back({{query.begin(), query.end()}, deadline, via, std::move(done)});
      index = calls_.size() - 1;
      if (responder_) now = responder_(query);
    }
    cv_.notify_all();
    if (now) complete(index, std::move(*now));
  }

  void complete(size_t i, Result<upstream::Answer> result) {
    asio::post(io_, [this, i, r = std::move(result)]() mutable {
      std::function<void(Result<upstream::Answer>)> done;
      {
        std::lock_guard lock(mutex_);
        done = std::move(calls_.at(i).done);
      }
      if (done) done(std::move(r));  // exactly once: a second completion finds it empty
    });
  }

  asio::io_context& io_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::vector<Call> calls_;
  Responder responder_;
  bool keepHistory_ = true;
};

}  // namespace ztdns::testing
