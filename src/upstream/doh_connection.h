// DohConnection: DNS over HTTPS (RFC 8484) on one HTTP/2 connection (nghttp2 client over
// our TLS, ALPN h2). Each exchange is one POST stream with application/dns-message; the
// message goes up with ID 0 and the caller's ID is restored in the answer. HEADERS and
// DATA of everything submitted in one loop turn are serialised and written together.
// A GOAWAY makes the connection drain: streams above its last-stream-id (and streams
// reset with REFUSED_STREAM) go back to the endpoint to be sent on another connection.
#pragma once

#include <nghttp2/nghttp2.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "common/c_ptr.h"
#include "upstream/query_connection.h"

namespace ztdns::upstream {

struct DohTarget {
  std::string authority;  // queryUrl host[:port], the :authority header
  std::string path;       // queryUrl path (with query string), the :path header
};

class DohConnection final : public QueryConnection {
 public:
  DohConnection(asio::io_context& io, ConnectionParams params, ConnectionOwner* owner,
                std::shared_ptr<const DohTarget> target);
  ~DohConnection() override;

  bool send(const ExchangePtr& ex) override;
  size_t inFlight() const override { return streams_.size(); }
  bool draining() const override { return draining_; }
  // The server's SETTINGS_MAX_CONCURRENT_STREAMS (100 until it says otherwise).
  uint32_t maxStreams() const;

 private:
  struct Stream {
    ExchangePtr ex;
    std::vector<uint8_t> body;  // request: the query with ID 0
    size_t sent = 0;
    int status = 0;
    std::string contentType;
    std::vector<uint8_t> answer;
  };

  void onEstablished() override;
  void onData(const uint8_t* data, size_t len) override;
  void onClosed(const UpstreamError& why) override;
  void beforeFlush() override;
  void afterReads() override;
  UpstreamError checkEstablished() override;

  void finishStream(int32_t id, uint32_t errorCode);
  void refuse(std::vector<ExchangePtr> refused);
  void maybeCloseDrained();

  // nghttp2 callbacks
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* self);
  static int onDataChunk(nghttp2_session*, uint8_t flags, int32_t stream, const uint8_t* data,
                         size_t len, void* self);
  static int onStreamClose(nghttp2_session*, int32_t stream, uint32_t errorCode, void* self);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onFrameNotSend(nghttp2_session*, const nghttp2_frame* frame, int error, void* self);
  static ssize_t readBody(nghttp2_session*, int32_t stream, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void* self);

  std::shared_ptr<const DohTarget> target_;
  CPtr<nghttp2_session, nghttp2_session_del> session_;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  bool draining_ = false;
  int32_t goawayLastStream_ = INT32_MAX;
  UpstreamError sessionError_;  // set when nghttp2 rejects the byte stream
};

}  // namespace ztdns::upstream
