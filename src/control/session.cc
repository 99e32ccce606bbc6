#include "control/session.h"

#include <asio/read_until.hpp>
#include <asio/write.hpp>

#include "control/codec.h"
#include "control/peer_credentials.h"

namespace ztdns::control {

Session::Session(std::shared_ptr<Server::Core> core, asio::local::stream_protocol::socket socket)
    : core_(std::move(core)),
      socket_(std::move(socket)),
      buffer_(core_->options.maxRequestBytes),
      ioTimer_(core_->io),
      handlerTimer_(core_->io),
      dispatcher_(core_->handler,
                  [weak = std::weak_ptr<Server::Core>(core_)](std::function<void()> fn) {
                    Server::Core::postTo(weak, std::move(fn));
                  }) {
  ++core_->active;
}

Session::~Session() {
  --core_->active;
}

void Session::start() {
  auto peer = readPeer(socket_.native_handle(), core_->readGroup);
  if (!peer) {
    close();
    return;
  }
  peer_ = std::move(*peer);
  readNext();
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ignored;
  ioTimer_.cancel();
  handlerTimer_.cancel();
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
}

void Session::armIoTimer(std::chrono::milliseconds timeout) {
  ioTimer_.expires_after(timeout);
  ioTimer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec || self->closed_) return;
    ++self->core_->timeouts;
    self->close();
  });
}

void Session::readNext() {
  if (closed_) return;
  armIoTimer(core_->options.idleTimeout);
  asio::async_read_until(
      socket_, buffer_, '\n',
      [self = shared_from_this()](const asio::error_code& ec, size_t n) { self->onRead(ec, n); });
}

void Session::onRead(const asio::error_code& ec, size_t bytes) {
  if (closed_) return;
  ioTimer_.cancel();
  if (ec == asio::error::not_found) {
    // The buffer filled up without a newline: the request is larger than allowed.
    ++core_->badRequests;
    answer(encodeFailure(std::nullopt,
                         makeError(ErrorCode::kTooLarge,
                                   "the request is larger than " +
                                       std::to_string(core_->options.maxRequestBytes) + " bytes")),
           /*closeAfter=*/true);
    return;
  }
  if (ec) {
    close();  // EOF or a broken connection
    return;
  }
  std::string line(asio::buffers_begin(buffer_.data()),
                   asio::buffers_begin(buffer_.data()) + bytes);
  buffer_.consume(bytes);
  line.pop_back();  // the newline
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.find_first_not_of(" \t") == std::string::npos) {
    readNext();  // blank lines are keep-alives
    return;
  }
  handleLine(line);
}

void Session::handleLine(std::string_view line) {
  ++core_->requests;
  std::optional<uint64_t> id;
  auto request = decodeRequest(line, &id);
  if (!request) {
    ++core_->badRequests;
    answer(encodeFailure(id, request.error()));
    return;
  }
  bool change = methodAccess(request->method) == Access::kChange;
  std::string refusal =
      refusalMessage(peer_, change, core_->readGroup, core_->options.readGroupName);
  if (!refusal.empty()) {
    ++core_->refused;
    answer(encodeFailure(id, makeError(ErrorCode::kPermissionDenied, refusal)));
    return;
  }

  uint64_t generation = ++generation_;
  pending_ = generation;
  handlerTimer_.expires_after(core_->options.handlerTimeout);
  handlerTimer_.async_wait([self = shared_from_this(), generation, id,
                            method = request->method](const asio::error_code& ec) {
    if (ec || self->closed_ || self->pending_ != generation) return;
    self->pending_ = 0;
    ++self->core_->timeouts;
    self->answer(encodeFailure(
        id, makeError(ErrorCode::kTimeout,
                      std::string("ztdnsd did not finish ") + methodName(method) + " in time")));
  });
  std::weak_ptr<Session> weak = weak_from_this();
  Peer peer = peer_;
  peer.warnings = std::make_shared<std::vector<std::string>>();
  auto warnings = peer.warnings;
  dispatcher_.dispatch(peer, *request,
                       [weak, generation, id, warnings](Result<nlohmann::json> result) {
                         auto self = weak.lock();
                         if (!self || self->closed_ || self->pending_ != generation)
                           return;  // timed out or gone
                         self->pending_ = 0;
                         self->handlerTimer_.cancel();
                         if (!result) {
                           if (errorCodeOf(result.error()) == ErrorCode::kInvalidParams)
                             ++self->core_->badRequests;
                           self->answer(encodeFailure(id, result.error()));
                         } else {
                           self->answer(encodeSuccess(id, *result, *warnings));
                         }
                       });
}

void Session::answer(std::string line, bool closeAfter) {
  if (closed_) return;
  out_ = std::move(line);
  out_ += '\n';
  armIoTimer(core_->options.writeTimeout);
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this(), closeAfter](const asio::error_code& ec, size_t) {
                      if (self->closed_) return;
                      self->ioTimer_.cancel();
                      if (ec || closeAfter) {
                        self->close();
                        return;
                      }
                      self->readNext();
                    });
}

}  // namespace ztdns::control
