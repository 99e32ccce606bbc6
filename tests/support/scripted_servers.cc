#include "scripted_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>

namespace ztdns::testing {
namespace {

using Clock = std::chrono::steady_clock;

uint16_t rd16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

bool toSockaddr(const std::string& addr, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  if (addr.find(':') != std::string::npos) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    len = sizeof *s6;
    return inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) == 1;
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  len = sizeof *s4;
  return inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) == 1;
}

int selectH2(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
             unsigned inlen, void*) {
  for (unsigned i = 0; i + 1 <= inlen; i += 1u + in[i]) {
    if (in[i] == 2 && i + 3 <= inlen && std::memcmp(in + i + 1, "h2", 2) == 0) {
      *out = in + i + 1;
      *outlen = 2;
      return SSL_TLSEXT_ERR_OK;
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

}  // namespace

std::vector<uint8_t> scriptedAnswer(const std::vector<uint8_t>& q) {
  if (q.size() < 12) return {};
  size_t off = 12;
  while (off < q.size() && q[off] != 0) off += 1 + q[off];
  off += 5;  // root label, type, class
  if (off > q.size()) return {};
  std::vector<uint8_t> a(q.begin(), q.begin() + static_cast<long>(off));
  a[2] = static_cast<uint8_t>(0x80 | (q[2] & 0x79));  // QR, opcode, RD
  a[3] = 0x80;                                        // RA, NOERROR
  a[4] = 0;
  a[5] = 1;
  a[6] = 0;
  a[7] = 1;
  a[8] = a[9] = a[10] = a[11] = 0;
  const uint8_t rr[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
  a.insert(a.end(), rr, rr + sizeof rr);
  return a;
}

ScriptedTlsServer::ScriptedTlsServer(TlsServerSpec spec) : spec_(std::move(spec)) {}

ScriptedTlsServer::~ScriptedTlsServer() {
  stop();
}

bool ScriptedTlsServer::start() {
  ctx_.reset(SSL_CTX_new(TLS_server_method()));
  if (!ctx_) return false;
  if (SSL_CTX_use_certificate_chain_file(ctx_.get(), spec_.certFile.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx_.get(), spec_.keyFile.c_str(), SSL_FILETYPE_PEM) != 1) {
    return false;
  }
  SSL_CTX_set_session_id_context(ctx_.get(), reinterpret_cast<const unsigned char*>("zt"), 2);
  if (spec_.h2) SSL_CTX_set_alpn_select_cb(ctx_.get(), selectH2, nullptr);
  if (!spec_.clientCaFile.empty()) {
    // Strict mTLS: OpenSSL itself refuses a missing or untrusted client certificate with
    // an alert during the handshake (certificate_required in TLS 1.3).
    if (SSL_CTX_load_verify_file(ctx_.get(), spec_.clientCaFile.c_str()) != 1) return false;
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  sockaddr_storage ss;
  socklen_t len;
  if (!toSockaddr(spec_.address, spec_.port, ss, len)) return false;
  listenFd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(listenFd_, 64) != 0) {
    ::close(listenFd_);
    listenFd_ = -1;
    return false;
  }
  stop_ = false;
  acceptThread_ = std::thread([this] { acceptLoop(); });
  return true;
}

void ScriptedTlsServer::stop() {
  stop_ = true;
  if (acceptThread_.joinable()) acceptThread_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(threadsMutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  if (listenFd_ >= 0) ::close(listenFd_);
  listenFd_ = -1;
}

void ScriptedTlsServer::acceptLoop() {
  int index = 0;
  while (!stop_) {
    pollfd p{listenFd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(threadsMutex_);
    threads_.emplace_back([this, fd, i = index++] { handle(fd, i); });
  }
}

void ScriptedTlsServer::handle(int fd, int index) {
  timeval tv{0, 20000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
  CPtr<SSL, SSL_free> ssl(SSL_new(ctx_.get()));
  SSL_set_fd(ssl.get(), fd);
  auto until = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    int rc = SSL_accept(ssl.get());
    if (rc == 1) break;
    int err = SSL_get_error(ssl.get(), rc);
    if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && !stop_ &&
        Clock::now() < until) {
      continue;
    }
    // Like a real server: let the alert reach the client before the socket goes away.
    closeStyled(ssl.get(), fd, CloseStyle::kFin);
    return;
  }
  {
    const char* sni = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name);
    std::lock_guard lock(sniMutex_);
    sni_.push_back(sni ? sni : "");
  }
  ++connections_;
  if (SSL_session_reused(ssl.get())) ++resumed_;
  bool orderly = serve(ssl.get(), fd, index);
  if (orderly) {
    SSL_shutdown(ssl.get());
    ::close(fd);
  }
}

std::vector<std::string> ScriptedTlsServer::serverNames() const {
  std::lock_guard lock(sniMutex_);
  return sni_;
}

int ScriptedTlsServer::readSome(SSL* ssl, uint8_t* buf, int n) {
  int r = SSL_read(ssl, buf, n);
  if (r > 0) return r;
  int err = SSL_get_error(ssl, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
  return -1;
}

ScriptedTlsServer::ReadStatus ScriptedTlsServer::readExact(SSL* ssl, uint8_t* buf, size_t n,
                                                           std::chrono::milliseconds patience) {
  size_t got = 0;
  auto start = Clock::now();
  while (got < n) {
    if (stop_) return ReadStatus::kClosed;
    int r = readSome(ssl, buf + got, static_cast<int>(n - got));
    if (r < 0) return ReadStatus::kClosed;
    if (r == 0) {
      if (got == 0 && Clock::now() - start >= patience) return ReadStatus::kTimeout;
      continue;
    }
    got += static_cast<size_t>(r);
  }
  return ReadStatus::kOk;
}

bool ScriptedTlsServer::writeAll(SSL* ssl, const uint8_t* data, size_t n) {
  size_t done = 0;
  while (done < n) {
    int w = SSL_write(ssl, data + done, static_cast<int>(n - done));
    if (w <= 0) {
      int err = SSL_get_error(ssl, w);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) continue;
      return false;
    }
    done += static_cast<size_t>(w);
  }
  return true;
}

void ScriptedTlsServer::closeStyled(SSL* ssl, int fd, CloseStyle style) {
  if (style == CloseStyle::kRst) {
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
    return;
  }
  if (style == CloseStyle::kCloseNotify) SSL_shutdown(ssl);
  ::shutdown(fd, SHUT_WR);
  // Drain what the client already sent so close() sends no RST, until it closes too.
  uint8_t buf[4096];
  auto until = Clock::now() + std::chrono::milliseconds(500);
  while (Clock::now() < until) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r == 0) break;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
  }
  ::close(fd);
}

// ---- DoT ----

std::vector<uint16_t> ScriptedDotServer::wireIds() const {
  std::lock_guard lock(mutex_);
  return ids_;
}

size_t ScriptedDotServer::queries() const {
  std::lock_guard lock(mutex_);
  return ids_.size();
}

bool ScriptedDotServer::serve(SSL* ssl, int fd, int index) {
  bool misbehave = index < script_.misbehavingConnections && script_.closeAfterQueries > 0;
  int closeAfter = script_.closeAfterQueries;
  CloseStyle style = script_.closeStyle;
  if (script_.chaosMaxQueries > 0) {
    std::minstd_rand rng(script_.chaosSeed * 7919u + static_cast<unsigned>(index));
    misbehave = true;
    closeAfter = 1 + static_cast<int>(rng() % static_cast<unsigned>(script_.chaosMaxQueries));
    style = static_cast<CloseStyle>(rng() % 3);
  }
  int count = 0;
  std::vector<std::vector<uint8_t>> batch;
  auto answerBatch = [&] {
    if (script_.delay.count()) std::this_thread::sleep_for(script_.delay);
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      auto a = scriptedAnswer(*it);
      std::vector<uint8_t> frame{static_cast<uint8_t>(a.size() >> 8),
                                 static_cast<uint8_t>(a.size())};
      frame.insert(frame.end(), a.begin(), a.end());
      if (!writeAll(ssl, frame.data(), frame.size())) return false;
    }
    batch.clear();
    return true;
  };
  const auto forever = std::chrono::hours(1);
  for (;;) {
    uint8_t lenb[2];
    auto st = readExact(ssl, lenb, 2, batch.empty() ? forever : std::chrono::milliseconds(150));
    if (st == ReadStatus::kClosed) return true;
    if (st == ReadStatus::kTimeout) {
      if (!answerBatch()) return true;
      continue;
    }
    std::vector<uint8_t> q(rd16(lenb));
    if (q.size() < 12 || readExact(ssl, q.data(), q.size(), forever) != ReadStatus::kOk)
      return true;
    {
      std::lock_guard lock(mutex_);
      ids_.push_back(rd16(q.data()));
    }
    ++count;
    if (misbehave && count >= closeAfter) {
      closeStyled(ssl, fd, style);
      return false;
    }
    batch.push_back(std::move(q));
    if (batch.size() >= script_.reverseBatch && !answerBatch()) return true;
  }
}

// ---- DoH ----

struct DohSession {
  ScriptedDohServer* server = nullptr;
  int index = 0;
  struct Req {
    DohRequest info;
    std::vector<uint8_t> body;
    std::vector<uint8_t> response;
    size_t sent = 0;
  };
  std::map<int32_t, Req> reqs;
  std::vector<int32_t> complete;

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* f, void* u) {
    auto* s = static_cast<DohSession*>(u);
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
      s->reqs[f->hd.stream_id].info.streamId = f->hd.stream_id;
      s->reqs[f->hd.stream_id].info.connection = s->index;
    }
    return 0;
  }
  static int onHeader(nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
                      const uint8_t* v, size_t vl, uint8_t, void* u) {
    auto* s = static_cast<DohSession*>(u);
    auto it = s->reqs.find(f->hd.stream_id);
    if (it == s->reqs.end()) return 0;
    std::string name(reinterpret_cast<const char*>(n), nl),
        value(reinterpret_cast<const char*>(v), vl);
    auto& i = it->second.info;
    if (name == ":method")
      i.method = value;
    else if (name == ":path")
      i.path = value;
    else if (name == ":authority")
      i.authority = value;
    else if (name == ":scheme")
      i.scheme = value;
    else if (name == "content-type")
      i.contentType = value;
    else if (name == "accept")
      i.accept = value;
    return 0;
  }
  static int onData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t len, void* u) {
    auto* s = static_cast<DohSession*>(u);
    auto it = s->reqs.find(id);
    if (it != s->reqs.end()) it->second.body.insert(it->second.body.end(), d, d + len);
    return 0;
  }
  static int onFrame(nghttp2_session*, const nghttp2_frame* f, void* u) {
    auto* s = static_cast<DohSession*>(u);
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM) && s->reqs.count(f->hd.stream_id)) {
      s->complete.push_back(f->hd.stream_id);
    }
    return 0;
  }
  static ssize_t readResponse(nghttp2_session*, int32_t id, uint8_t* buf, size_t len,
                              uint32_t* flags, nghttp2_data_source*, void* u) {
    auto* s = static_cast<DohSession*>(u);
    auto it = s->reqs.find(id);
    if (it == s->reqs.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    auto& r = it->second;
    size_t n = std::min(len, r.response.size() - r.sent);
    std::memcpy(buf, r.response.data() + r.sent, n);
    r.sent += n;
    if (r.sent == r.response.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
};

std::vector<DohRequest> ScriptedDohServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool ScriptedDohServer::serve(SSL* ssl, int fd, int index) {
  DohSession state;
  state.server = this;
  state.index = index;
  nghttp2_session_callbacks* raw;
  nghttp2_session_callbacks_new(&raw);
  CPtr<nghttp2_session_callbacks, nghttp2_session_callbacks_del> cbs(raw);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs.get(), DohSession::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs.get(), DohSession::onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs.get(), DohSession::onData);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs.get(), DohSession::onFrame);
  nghttp2_session* sraw;
  nghttp2_session_server_new(&sraw, cbs.get(), &state);
  CPtr<nghttp2_session, nghttp2_session_del> session(sraw);
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
  nghttp2_submit_settings(session.get(), NGHTTP2_FLAG_NONE, iv, 1);

  bool misbehave = index < script_.misbehavingConnections;
  int count = 0;
  bool goawaySent = false;
  Clock::time_point goawayAt{};
  auto flush = [&] {
    for (;;) {
      const uint8_t* data;
      ssize_t n = nghttp2_session_mem_send(session.get(), &data);
      if (n <= 0) return n == 0;
      if (!writeAll(ssl, data, static_cast<size_t>(n))) return false;
    }
  };
  auto respond = [&](int32_t id) {
    auto& r = state.reqs[id];
    r.response = script_.status == 200 ? scriptedAnswer(r.body)
                                       : std::vector<uint8_t>{'e', 'r', 'r', 'o', 'r', '\n'};
    std::string status = std::to_string(script_.status), len = std::to_string(r.response.size());
    nghttp2_nv nva[] = {
        {(uint8_t*)":status", (uint8_t*)status.data(), 7, status.size(), NGHTTP2_NV_FLAG_NONE},
        {(uint8_t*)"content-type", (uint8_t*)script_.contentType.data(), 12,
         script_.contentType.size(), NGHTTP2_NV_FLAG_NONE},
        {(uint8_t*)"content-length", (uint8_t*)len.data(), 14, len.size(), NGHTTP2_NV_FLAG_NONE},
    };
    nghttp2_data_provider prd{};
    prd.read_callback = DohSession::readResponse;
    nghttp2_submit_response(session.get(), id, nva, 3, &prd);
    std::lock_guard lock(mutex_);
    for (auto& q : requests_) {
      if (q.connection == index && q.streamId == id) q.answered = true;
    }
  };
  uint8_t buf[16384];
  while (!stopping()) {
    if (!flush()) return true;
    int n = readSome(ssl, buf, sizeof buf);
    if (n < 0) return true;
    if (n > 0 && nghttp2_session_mem_recv(session.get(), buf, static_cast<size_t>(n)) < 0)
      return true;
    auto ready = std::move(state.complete);
    state.complete.clear();
    for (int32_t id : ready) {
      auto& r = state.reqs[id];
      r.info.wireId = r.body.size() >= 2 ? rd16(r.body.data()) : 0xFFFF;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(r.info);
      }
      ++count;
      if (misbehave && script_.goawayAfterStreams > 0) {
        if (goawaySent) continue;  // above last-stream-id: never processed
        respond(id);
        if (count == script_.goawayAfterStreams) {
          nghttp2_submit_goaway(session.get(), NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, nullptr, 0);
          goawaySent = true;
          goawayAt = Clock::now();
        }
        continue;
      }
      if (misbehave && script_.closeMidStream) {
        std::string status = "200";
        nghttp2_nv nva[] = {
            {(uint8_t*)":status", (uint8_t*)status.data(), 7, 3, NGHTTP2_NV_FLAG_NONE}};
        nghttp2_submit_headers(session.get(), NGHTTP2_FLAG_NONE, id, nullptr, nva, 1, nullptr);
        flush();
        closeStyled(ssl, fd, CloseStyle::kRst);
        return false;
      }
      if (script_.delay.count()) std::this_thread::sleep_for(script_.delay);
      respond(id);
    }
    // After GOAWAY, give the client a moment to finish, then close.
    if (goawaySent && Clock::now() - goawayAt > std::chrono::seconds(2)) {
      flush();
      return true;
    }
  }
  return true;
}

}  // namespace ztdns::testing
