#include "upstream/dot_connection.h"

#include <openssl/rand.h>

#include "upstream/wire.h"

namespace ztdns::upstream {

DotConnection::DotConnection(asio::io_context& io, ConnectionParams params, ConnectionOwner* owner,
                             size_t maxInFlight)
    : QueryConnection(io, std::move(params), owner),
      maxInFlight_(std::min<size_t>(maxInFlight, 60000)) {
  // IDs need not be unpredictable inside TLS, only unique per connection.
  RAND_bytes(reinterpret_cast<unsigned char*>(&nextId_), sizeof nextId_);
  inflight_.reserve(64);
}

bool DotConnection::send(const ExchangePtr& ex) {
  if (isClosed() || inflight_.size() >= maxInFlight_ || ex->query.size() < wire::kHeaderSize ||
      ex->query.size() > 65535) {
    return false;
  }
  uint16_t id = nextId_++;
  while (inflight_.count(id)) id = nextId_++;
  inflight_.emplace(id, ex);
  // Length prefix and message side by side in the buffer: one TLS record, one write.
  auto& o = out();
  size_t at = o.size();
  o.resize(at + 2 + ex->query.size());
  wire::writeU16(o.data() + at, static_cast<uint16_t>(ex->query.size()));
  std::memcpy(o.data() + at + 2, ex->query.data(), ex->query.size());
  wire::writeU16(o.data() + at + 2, id);
  if (established()) scheduleFlush();
  return true;
}

void DotConnection::onEstablished() {
  if (owner_) owner_->onConnectionEstablished(*this);
}

void DotConnection::onData(const uint8_t* data, size_t len) {
  if (!partial_.empty()) {
    partial_.insert(partial_.end(), data, data + len);
    data = partial_.data();
    len = partial_.size();
  }
  size_t off = 0;
  while (len - off >= 2) {
    size_t mlen = wire::readU16(data + off);
    if (len - off - 2 < mlen) break;
    if (!onMessage(data + off + 2, mlen)) {
      close({ErrorClass::kBadAnswer, "DoT: malformed answer stream"});
      return;
    }
    if (isClosed()) return;
    off += 2 + mlen;
  }
  if (partial_.empty()) {
    partial_.assign(data + off, data + len);
  } else {
    partial_.erase(partial_.begin(), partial_.begin() + static_cast<long>(off));
  }
}

bool DotConnection::onMessage(const uint8_t* msg, size_t len) {
  if (len < wire::kHeaderSize) return false;
  auto it = inflight_.find(wire::readU16(msg));
  if (it == inflight_.end()) return true;  // not ours any more; harmless
  ExchangePtr ex = std::move(it->second);
  inflight_.erase(it);
  if (ex->finished) return true;  // the pool gave up on it
  std::span<const uint8_t> answer(msg, len);
  ExchangeResult r;
  if (!wire::answerMatchesQuery(ex->query, answer)) {
    r.error = {ErrorClass::kBadAnswer, "DoT: answer does not match the query"};
  } else {
    r.answer.assign(msg, msg + len);
    r.answer[0] = ex->query[0];
    r.answer[1] = ex->query[1];
  }
  ex->finish(std::move(r));
  return true;
}

void DotConnection::onClosed(const UpstreamError& why) {
  std::vector<ExchangePtr> unanswered;
  unanswered.reserve(inflight_.size());
  for (auto& [id, ex] : inflight_) {
    if (!ex->finished) unanswered.push_back(std::move(ex));
  }
  inflight_.clear();
  auto self = shared_from_this();  // the owner may drop its reference
  if (owner_) {
    owner_->onConnectionClosed(*this, why, established(), std::move(unanswered));
  } else {
    for (auto& ex : unanswered) ex->finish({{}, why});
  }
}

}  // namespace ztdns::upstream
