// DataPlane: the thread that answers DNS. It runs one asio::io_context that owns the stub
// listeners, the server pool (DoT/DoH) and the allow-set netlink socket, so the query path
// takes no locks (docs/design.md, "Processes and threads").
//
// Other threads reach it in two ways: thread-safe snapshot readers (Stub::stats,
// ServerPool::status, AllowSet::lookup/stats), and call(), which runs a function on the io
// thread and waits for its result. The control thread uses call() for changes; it must
// never be used from the io thread itself.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <future>
#include <memory>
#include <thread>
#include <type_traits>

#include "common/result.h"
#include "config/config.h"
#include "enforce/allow_set.h"
#include "observe/event_sink.h"
#include "resolver/stub.h"
#include "upstream/server_pool.h"

namespace ztdns::daemon {

class DataPlane {
 public:
  // Starts the thread and builds the allow set, the pool and the stub on it. The stub is
  // not listening yet (startListening). Errors: netlink socket, TLS material.
  static Result<std::unique_ptr<DataPlane>> create(const config::Config& config,
                                                   observe::EventSink& events);
  ~DataPlane();  // stops the stub, destroys everything on the io thread, joins it
  DataPlane(const DataPlane&) = delete;
  DataPlane& operator=(const DataPlane&) = delete;

  // Binds the stub's UDP and TCP listeners; the error names every address that failed.
  Status startListening();

  // Runs f() on the io thread and returns what it returns. Blocks the caller.
  template <class F>
  auto call(F&& f) -> std::invoke_result_t<F&> {
    using R = std::invoke_result_t<F&>;
    std::packaged_task<R()> task(std::forward<F>(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }
  // Runs f() on the io thread later; for work that answers through a callback.
  template <class F>
  void post(F&& f) {
    asio::post(io_, std::forward<F>(f));
  }

  asio::io_context& io() { return io_; }
  enforce::AllowSet& allowSet() { return *allowSet_; }
  upstream::ServerPool& pool() { return *pool_; }
  resolver::Stub& stub() { return *stub_; }

 private:
  DataPlane() : work_(asio::make_work_guard(io_)) {}

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<enforce::AllowSet> allowSet_;
  std::unique_ptr<upstream::ServerPool> pool_;
  std::unique_ptr<resolver::Stub> stub_;
};

}  // namespace ztdns::daemon
