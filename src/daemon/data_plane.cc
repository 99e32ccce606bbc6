#include "daemon/data_plane.h"

namespace ztdns::daemon {

Result<std::unique_ptr<DataPlane>> DataPlane::create(const config::Config& config,
                                                     observe::EventSink& events) {
  std::unique_ptr<DataPlane> dp(new DataPlane());
  dp->thread_ = std::thread([io = &dp->io_] { io->run(); });
  Status built = dp->call([&]() -> Status {
    auto allow = enforce::makeKernelAllowSet(dp->io_, config.maxAllowedAddresses, events);
    if (!allow) return Error{"allow sets: " + allow.error().message, allow.error().code};
    // The first checks of the servers wait until the daemon has applied its policy.
    upstream::PoolOptions options = upstream::poolOptionsFromConfig(config);
    options.deferFirstChecks = true;
    auto pool = upstream::makeServerPool(dp->io_, options, events);
    if (!pool) return Error{"protective DNS servers: " + pool.error().message, pool.error().code};
    dp->allowSet_ = std::move(*allow);
    dp->pool_ = std::move(*pool);
    dp->stub_ =
        std::make_unique<resolver::Stub>(dp->io_, config, *dp->pool_, *dp->allowSet_, events);
    return okStatus();
  });
  if (!built) return built.error();  // the destructor tears down what was built
  return dp;
}

Status DataPlane::startListening() {
  return call([this] { return stub_->start(); });
}

DataPlane::~DataPlane() {
  if (thread_.joinable()) {
    call([this] {
      if (stub_) stub_->stop();
      // The stub uses the pool and the allow set: it goes first.
      stub_.reset();
      pool_.reset();
      allowSet_.reset();
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }
}

}  // namespace ztdns::daemon
