#include "dns_peers.h"

#include <filesystem>
#include <sstream>

namespace ztdns::testing {

UnboundPeer::UnboundPeer(const TempDir& dir, std::string name, UnboundSpec spec)
    : conf_(dir.file(name + ".unbound.conf")),
      logFile_(dir.file(name + ".unbound.log")),
      spec_(std::move(spec)) {
  std::ostringstream c;
  c << "server:\n"
    << "  username: \"\"\n  chroot: \"\"\n  directory: \"" << dir.path() << "\"\n"
    << "  pidfile: \"\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n"
    << "  num-threads: 1\n  do-daemonize: no\n  so-reuseport: no\n"
    << "  do-ip6: yes\n  interface-automatic: no\n";
  for (const auto& a : spec_.addresses) {
    for (uint16_t p : {spec_.plainPort, spec_.tlsPort, spec_.httpsPort}) {
      if (p) c << "  interface: " << a << "@" << p << "\n";
    }
  }
  if (spec_.tlsPort) c << "  tls-port: " << spec_.tlsPort << "\n";
  if (spec_.httpsPort) {
    c << "  https-port: " << spec_.httpsPort << "\n  http-endpoint: \"/dns-query\"\n"
      << "  http-notls-downstream: no\n";
  }
  if (!spec_.certFile.empty()) {
    c << "  tls-service-pem: \"" << spec_.certFile << "\"\n"
      << "  tls-service-key: \"" << spec_.keyFile << "\"\n";
  }
  c << "  access-control: 0.0.0.0/0 allow\n  access-control: ::/0 allow\n"
    << "  incoming-num-tcp: 100\n"
    << "  tcp-idle-timeout: " << spec_.tcpIdleTimeoutMs << "\n"
    << "  module-config: \"iterator\"\n"
    << "  local-zone: \".\" refuse\n";
  for (const auto& z : spec_.staticZones) c << "  local-zone: \"" << z << "\" static\n";
  c << spec_.extraServerConfig;
  for (const auto& d : spec_.localData) c << "  local-data: \"" << d << "\"\n";
  c << "remote-control:\n  control-enable: no\n";
  writeFile(conf_, c.str());
}

bool UnboundPeer::start() {
  if (!proc_.start({"unbound", "-d", "-c", conf_}, logFile_)) return false;
  for (const auto& a : spec_.addresses) {
    for (uint16_t p : {spec_.plainPort, spec_.tlsPort, spec_.httpsPort}) {
      if (p && !waitForTcp(a, p)) return false;
    }
  }
  return true;
}

NginxMtlsPeer::NginxMtlsPeer(const TempDir& dir, std::string name, NginxMtlsSpec spec)
    : prefix_(dir.file(name + ".nginx")),
      conf_(prefix_ + "/nginx.conf"),
      logFile_(prefix_ + "/stdout.log"),
      errorLog_(prefix_ + "/error.log"),
      spec_(std::move(spec)) {
  std::filesystem::create_directories(prefix_);
  std::string listen = spec_.listenAddress.find(':') != std::string::npos
                           ? "[" + spec_.listenAddress + "]"
                           : spec_.listenAddress;
  std::ostringstream c;
  c << "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n"
    << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
    << "pid " << prefix_ << "/nginx.pid;\n"
    << "error_log " << errorLog_ << " info;\n"
    << "events { worker_connections 128; }\n"
    << "stream {\n  server {\n"
    << "    listen " << listen << ":" << spec_.listenPort << " ssl;\n"
    << "    ssl_certificate " << spec_.certFile << ";\n"
    << "    ssl_certificate_key " << spec_.keyFile << ";\n"
    << "    ssl_client_certificate " << spec_.clientCaFile << ";\n"
    << "    ssl_verify_client on;\n"
    << "    proxy_pass " << spec_.backend << ";\n"
    << "  }\n}\n";
  writeFile(conf_, c.str());
}

bool NginxMtlsPeer::start() {
  if (!proc_.start({"nginx", "-e", errorLog_, "-p", prefix_, "-c", conf_}, logFile_)) return false;
  return waitForTcp(spec_.listenAddress, spec_.listenPort);
}

}  // namespace ztdns::testing
