#include "upstream/server_pool.h"

#include "upstream/server_pool_impl.h"

namespace ztdns::upstream {

const char* transportName(Transport t) {
  return t == Transport::kDoT ? "DoT" : "DoH";
}

PoolOptions poolOptionsFromConfig(const config::Config& config) {
  PoolOptions o;
  o.servers = config.secureDnsServers;
  o.rootCertificates = config.rootCertificatesForServerValidation;
  o.clientCertificate = config.clientCertificate;
  return o;
}

Result<std::unique_ptr<ServerPool>> makeServerPool(asio::io_context& io, const PoolOptions& options,
                                                   observe::EventSink& events) {
  auto pool = std::make_unique<ServerPoolImpl>(io, events);
  if (auto st = pool->reconfigure(options); !st) return st.error();
  return std::unique_ptr<ServerPool>(std::move(pool));
}

Result<std::unique_ptr<ServerPool>> makeServerPool(asio::io_context& io,
                                                   const config::Config& config,
                                                   observe::EventSink& events) {
  return makeServerPool(io, poolOptionsFromConfig(config), events);
}

}  // namespace ztdns::upstream
