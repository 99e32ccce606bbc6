// Scripted TLS peers for transport edge cases (the dnsdist way: a list of expected steps
// instead of a real server). Each listens on a loopback or documentation address inside
// the test's private namespace, serves every connection in its own thread with blocking
// OpenSSL, answers any A query with 192.0.2.1, and records what it saw.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/c_ptr.h"

namespace ztdns::testing {

// The answer the scripted servers give: the question echoed, QR+RA, one A 192.0.2.1.
std::vector<uint8_t> scriptedAnswer(const std::vector<uint8_t>& query);

struct TlsServerSpec {
  TlsServerSpec(std::string a, uint16_t p, std::string cert, std::string key, bool useH2 = false,
                std::string clientCa = "")
      : address(std::move(a)),
        port(p),
        certFile(std::move(cert)),
        keyFile(std::move(key)),
        h2(useH2),
        clientCaFile(std::move(clientCa)) {}
  std::string address;
  uint16_t port = 0;
  std::string certFile;  // chain PEM
  std::string keyFile;
  bool h2 = false;           // select ALPN "h2"
  std::string clientCaFile;  // set: demand a client certificate from this CA in the handshake
};

enum class CloseStyle { kCloseNotify, kFin, kRst };

class ScriptedTlsServer {
 public:
  explicit ScriptedTlsServer(TlsServerSpec spec);
  virtual ~ScriptedTlsServer();
  bool start();
  void stop();  // closes the listener and every connection, joins every thread
  int connections() const { return connections_.load(); }
  int resumedConnections() const { return resumed_.load(); }
  // The SNI of every handshaken connection ("" when the client sent none).
  std::vector<std::string> serverNames() const;

 protected:
  // Serve one accepted, handshaken connection; return to close it (close_notify + FIN).
  // Return false to skip the orderly close (the script closed the fd its own way).
  virtual bool serve(SSL* ssl, int fd, int index) = 0;
  bool stopping() const { return stop_.load(); }
  // Blocking helpers. readSome: >0 bytes, 0 = nothing within the socket timeout, <0 closed.
  static int readSome(SSL* ssl, uint8_t* buf, int n);
  enum class ReadStatus { kOk, kTimeout, kClosed };
  // kTimeout only when nothing arrived within `patience`; a started read is completed.
  ReadStatus readExact(SSL* ssl, uint8_t* buf, size_t n, std::chrono::milliseconds patience);
  static bool writeAll(SSL* ssl, const uint8_t* data, size_t n);
  // Close `fd` the given way (after SSL_shutdown for kCloseNotify).
  static void closeStyled(SSL* ssl, int fd, CloseStyle style);

 private:
  void acceptLoop();
  void handle(int fd, int index);

  TlsServerSpec spec_;
  CPtr<SSL_CTX, SSL_CTX_free> ctx_;
  int listenFd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> resumed_{0};
  std::thread acceptThread_;
  std::mutex threadsMutex_;
  std::vector<std::thread> threads_;
  mutable std::mutex sniMutex_;
  std::vector<std::string> sni_;
};

struct DotScript {
  size_t reverseBatch = 1;    // answer every batch of this many queries in reverse order
  int closeAfterQueries = 0;  // close after reading this many queries, answering none of the last
  CloseStyle closeStyle = CloseStyle::kCloseNotify;
  int misbehavingConnections = 1;  // the first N connections follow closeAfterQueries
  std::chrono::milliseconds delay{0};
  // Chaos: every connection closes after 1..chaosMaxQueries queries (random), in a random
  // style, with the last query unanswered. 0 = off.
  int chaosMaxQueries = 0;
  unsigned chaosSeed = 1;
};

class ScriptedDotServer final : public ScriptedTlsServer {
 public:
  ScriptedDotServer(TlsServerSpec spec, DotScript script)
      : ScriptedTlsServer(std::move(spec)), script_(script) {}
  ~ScriptedDotServer() override { stop(); }
  std::vector<uint16_t> wireIds() const;
  size_t queries() const;

 private:
  bool serve(SSL* ssl, int fd, int index) override;
  DotScript script_;
  mutable std::mutex mutex_;
  std::vector<uint16_t> ids_;
};

struct DohScript {
  int status = 200;
  std::string contentType = "application/dns-message";
  std::chrono::milliseconds delay{0};
  int goawayAfterStreams = 0;   // misbehaving connections: GOAWAY after this many requests
  bool closeMidStream = false;  // misbehaving connections: HEADERS, then drop the TCP connection
  int misbehavingConnections = 1;
};

struct DohRequest {
  int connection = 0;
  int32_t streamId = 0;
  std::string method, path, authority, contentType, accept, scheme;
  uint16_t wireId = 0xFFFF;  // the DNS ID in the POST body
  bool answered = false;
};

class ScriptedDohServer final : public ScriptedTlsServer {
 public:
  ScriptedDohServer(TlsServerSpec spec, DohScript script)
      : ScriptedTlsServer([&] {
          spec.h2 = true;
          return std::move(spec);
        }()),
        script_(script) {}
  ~ScriptedDohServer() override { stop(); }
  std::vector<DohRequest> requests() const;

 private:
  bool serve(SSL* ssl, int fd, int index) override;
  DohScript script_;
  mutable std::mutex mutex_;
  std::vector<DohRequest> requests_;
  friend struct DohSession;
};

}  // namespace ztdns::testing
