#include "upstream/doh_connection.h"

#include <strings.h>

#include <cstring>

#include "upstream/wire.h"

namespace ztdns::upstream {
namespace {

constexpr size_t kMaxAnswer = 65535;
constexpr int32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 1 << 24;

nghttp2_nv header(const char* name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), std::strlen(name),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

bool isDnsMessageType(const std::string& ct) {
  static const char kType[] = "application/dns-message";
  size_t n = sizeof kType - 1;
  if (ct.size() < n || strncasecmp(ct.c_str(), kType, n) != 0) return false;
  return ct.size() == n || ct[n] == ';' || ct[n] == ' ';
}

std::string http2ErrorName(uint32_t code) {
  return nghttp2_http2_strerror(code);
}

}  // namespace

DohConnection::DohConnection(asio::io_context& io, ConnectionParams params, ConnectionOwner* owner,
                             std::shared_ptr<const DohTarget> target)
    : QueryConnection(io, std::move(params), owner), target_(std::move(target)) {
  nghttp2_session_callbacks* raw = nullptr;
  nghttp2_session_callbacks_new(&raw);
  CPtr<nghttp2_session_callbacks, nghttp2_session_callbacks_del> cbs(raw);
  nghttp2_session_callbacks_set_on_header_callback(cbs.get(), onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs.get(), onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs.get(), onStreamClose);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs.get(), onFrameRecv);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs.get(), onFrameNotSend);
  nghttp2_session* s = nullptr;
  nghttp2_session_client_new(&s, cbs.get(), this);
  session_.reset(s);
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
  };
  nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(session_.get(), NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

DohConnection::~DohConnection() = default;

uint32_t DohConnection::maxStreams() const {
  return nghttp2_session_get_remote_settings(session_.get(),
                                             NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool DohConnection::send(const ExchangePtr& ex) {
  if (isClosed() || draining_ || ex->query.size() < wire::kHeaderSize) return false;
  auto st = std::make_unique<Stream>();
  st->ex = ex;
  st->body = ex->query;
  st->body[0] = st->body[1] = 0;  // RFC 8484 section 4.1: ID 0 for cache friendliness
  std::string length = std::to_string(st->body.size());
  static const std::string kMethod = "POST", kScheme = "https", kType = "application/dns-message";
  nghttp2_nv nva[] = {
      header(":method", kMethod),
      header(":scheme", kScheme),
      header(":authority", target_->authority),
      header(":path", target_->path),
      header("content-type", kType),
      header("accept", kType),
      header("content-length", length),
  };
  nghttp2_data_provider body{};
  body.source.ptr = st.get();
  body.read_callback = readBody;
  int32_t id = nghttp2_submit_request(session_.get(), nullptr, nva, sizeof nva / sizeof nva[0],
                                      &body, st.get());
  if (id < 0) return false;  // out of stream IDs: the endpoint opens another connection
  streams_.emplace(id, std::move(st));
  if (established()) scheduleFlush();
  return true;
}

UpstreamError DohConnection::checkEstablished() {
  const unsigned char* alpn = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl(), &alpn, &len);
  if (len != 2 || std::memcmp(alpn, "h2", 2) != 0) {
    return {ErrorClass::kTls, "DoH: the server did not select HTTP/2 (ALPN h2)"};
  }
  return {};
}

void DohConnection::onEstablished() {
  if (owner_) owner_->onConnectionEstablished(*this);
  // The base writes our buffered frames right after this returns.
  beforeFlush();
}

void DohConnection::beforeFlush() {
  auto& o = out();
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
    if (n < 0) {
      sessionError_ = {ErrorClass::kHttp,
                       std::string("DoH: HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(n))};
      close(sessionError_);
      return;
    }
    if (n == 0) break;
    o.insert(o.end(), data, data + n);
  }
}

void DohConnection::afterReads() {
  if (nghttp2_session_want_write(session_.get())) scheduleFlush();
  maybeCloseDrained();
}

void DohConnection::onData(const uint8_t* data, size_t len) {
  ssize_t n = nghttp2_session_mem_recv(session_.get(), data, len);
  if (n < 0 && !isClosed()) {
    close({ErrorClass::kHttp,
           std::string("DoH: HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(n))});
  }
}

void DohConnection::maybeCloseDrained() {
  if (draining_ && streams_.empty() && !isClosed()) close({ErrorClass::kNone, "GOAWAY"});
}

void DohConnection::refuse(std::vector<ExchangePtr> refused) {
  if (refused.empty()) return;
  if (owner_) {
    owner_->onExchangesRefused(*this, std::move(refused));
  } else {
    for (auto& ex : refused) ex->finish({{}, {ErrorClass::kClosed, "DoH: stream refused"}});
  }
}

void DohConnection::finishStream(int32_t id, uint32_t errorCode) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  std::unique_ptr<Stream> st = std::move(it->second);
  streams_.erase(it);
  ExchangePtr ex = std::move(st->ex);
  if (ex->finished) return;
  if (errorCode == NGHTTP2_REFUSED_STREAM || (id > goawayLastStream_ && st->status == 0)) {
    refuse({std::move(ex)});
    return;
  }
  ExchangeResult r;
  if (errorCode != NGHTTP2_NO_ERROR && st->status == 0) {
    r.error = {ErrorClass::kHttp, "DoH: stream reset (" + http2ErrorName(errorCode) + ")"};
  } else if (st->status != 200) {
    r.error = {ErrorClass::kHttp, "DoH: HTTP " + std::to_string(st->status)};
  } else if (!isDnsMessageType(st->contentType)) {
    r.error = {ErrorClass::kHttp, "DoH: wrong content-type \"" + st->contentType +
                                      "\" (want application/dns-message)"};
  } else if (errorCode != NGHTTP2_NO_ERROR) {
    r.error = {ErrorClass::kHttp, "DoH: stream reset (" + http2ErrorName(errorCode) + ")"};
  } else if (!wire::answerMatchesQuery(ex->query, st->answer)) {
    r.error = {ErrorClass::kBadAnswer, "DoH: answer does not match the query"};
  } else {
    r.answer = std::move(st->answer);
    r.answer[0] = ex->query[0];
    r.answer[1] = ex->query[1];
  }
  ex->finish(std::move(r));
}

void DohConnection::onClosed(const UpstreamError& why) {
  std::vector<ExchangePtr> unanswered;
  for (auto& [id, st] : streams_) {
    if (!st->ex->finished) unanswered.push_back(std::move(st->ex));
  }
  streams_.clear();
  auto self = shared_from_this();
  if (owner_) {
    owner_->onConnectionClosed(*this, why, established(), std::move(unanswered));
  } else {
    for (auto& ex : unanswered) ex->finish({{}, why});
  }
}

int DohConnection::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                            size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                            void* user) {
  auto* self = static_cast<DohConnection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_RESPONSE) return 0;
  auto it = self->streams_.find(frame->hd.stream_id);
  if (it == self->streams_.end()) return 0;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":status") {
    int status = 0;
    for (char c : v) status = (c >= '0' && c <= '9') ? status * 10 + (c - '0') : -1000;
    it->second->status = status < 0 ? -1 : status;
  } else if (n == "content-type") {
    it->second->contentType.assign(v);
  }
  return 0;
}

int DohConnection::onDataChunk(nghttp2_session*, uint8_t, int32_t stream, const uint8_t* data,
                               size_t len, void* user) {
  auto* self = static_cast<DohConnection*>(user);
  auto it = self->streams_.find(stream);
  if (it == self->streams_.end()) return 0;
  auto& answer = it->second->answer;
  if (answer.size() + len > kMaxAnswer) {
    nghttp2_submit_rst_stream(self->session_.get(), NGHTTP2_FLAG_NONE, stream, NGHTTP2_CANCEL);
    it->second->status = -2;  // reported as a bad status when the stream closes
    return 0;
  }
  answer.insert(answer.end(), data, data + len);
  return 0;
}

int DohConnection::onStreamClose(nghttp2_session*, int32_t stream, uint32_t errorCode, void* user) {
  static_cast<DohConnection*>(user)->finishStream(stream, errorCode);
  return 0;
}

int DohConnection::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<DohConnection*>(user);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    self->draining_ = true;
    self->goawayLastStream_ = std::min(self->goawayLastStream_, frame->goaway.last_stream_id);
    // Streams the server will never process go back now; nghttp2 may or may not close
    // them itself, and finishStream ignores IDs already handled.
    std::vector<ExchangePtr> refused;
    for (auto it = self->streams_.begin(); it != self->streams_.end();) {
      if (it->first > self->goawayLastStream_) {
        if (!it->second->ex->finished) refused.push_back(std::move(it->second->ex));
        it = self->streams_.erase(it);
      } else {
        ++it;
      }
    }
    self->refuse(std::move(refused));
  }
  return 0;
}

int DohConnection::onFrameNotSend(nghttp2_session*, const nghttp2_frame* frame, int, void* user) {
  // A request that could not start (GOAWAY already received): nothing reached the server.
  auto* self = static_cast<DohConnection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto it = self->streams_.find(frame->hd.stream_id);
  if (it == self->streams_.end()) return 0;
  ExchangePtr ex = std::move(it->second->ex);
  self->streams_.erase(it);
  if (!ex->finished) self->refuse({std::move(ex)});
  return 0;
}

ssize_t DohConnection::readBody(nghttp2_session*, int32_t stream, uint8_t* buf, size_t length,
                                uint32_t* flags, nghttp2_data_source*, void* user) {
  // Looked up by ID, not through source->ptr: a refused stream is gone from streams_.
  auto* self = static_cast<DohConnection*>(user);
  auto it = self->streams_.find(stream);
  if (it == self->streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  Stream* st = it->second.get();
  size_t n = std::min(length, st->body.size() - st->sent);
  std::memcpy(buf, st->body.data() + st->sent, n);
  st->sent += n;
  if (st->sent == st->body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

}  // namespace ztdns::upstream
