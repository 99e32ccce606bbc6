#include "observe/nflog_reader.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

extern "C" {
#include <libnetfilter_log/libnetfilter_log.h>
}

#include "common/c_ptr.h"

namespace ztdns::observe {

namespace {

using NflogHandle = CPtr<nflog_handle, nflog_close>;
using NflogGroupHandle = CPtr<nflog_g_handle, nflog_unbind_group>;

class NflogReaderImpl final : public NflogReader {
 public:
  explicit NflogReaderImpl(uint32_t copyBytes) : copyBytes_(copyBytes), buffer_(256 * 1024) {}

  Status init(const NflogOptions& o) {
    handle_.reset(nflog_open());
    if (!handle_) return Error::fromErrno("nflog_open", errno);
    group_.reset(nflog_bind_group(handle_.get(), o.group));
    if (!group_) {
      int err = errno;
      return Error{"cannot bind NFLOG group " + std::to_string(o.group) + ": " +
                       std::strerror(err) + " (needs CAP_NET_ADMIN; is another reader bound?)",
                   err};
    }
    if (nflog_set_mode(group_.get(), NFULNL_COPY_PACKET, o.copyBytes) < 0) {
      return Error::fromErrno("nflog_set_mode", errno);
    }
    nflog_set_flags(group_.get(), NFULNL_CFG_F_SEQ);
    nflog_set_qthresh(group_.get(), o.queueThreshold);
    nflog_set_timeout(group_.get(), o.flushTimeoutCentis);
    if (nflog_callback_register(group_.get(), &NflogReaderImpl::onMessage, this) < 0) {
      return Error::fromErrno("nflog_callback_register", errno);
    }
    int fd = nflog_fd(handle_.get());
    int size = static_cast<int>(o.receiveBufferBytes);
    // SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN; fall back to what is allowed.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
      return Error::fromErrno("fcntl(O_NONBLOCK) on the NFLOG socket", errno);
    }
    return okStatus();
  }

  int fd() const override { return nflog_fd(handle_.get()); }

  void readAvailable(const std::function<void(LoggedPacket&&)>& onPacket, int maxReads) override {
    sink_ = &onPacket;
    int fd = nflog_fd(handle_.get());
    for (int i = 0; i < maxReads; ++i) {
      ssize_t n = ::recv(fd, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == ENOBUFS) {
          ++stats_.overruns;
          continue;
        }
        ++stats_.receiveErrors;
        break;
      }
      received_ = std::chrono::steady_clock::now();
      nflog_handle_packet(handle_.get(), buffer_.data(), static_cast<int>(n));
    }
    sink_ = nullptr;
  }

  NflogStats stats() const override { return stats_; }

 private:
  static int onMessage(nflog_g_handle*, nfgenmsg*, nflog_data* nfad, void* data) {
    static_cast<NflogReaderImpl*>(data)->deliver(nfad);
    return 0;
  }

  void deliver(nflog_data* nfad) {
    ++stats_.messages;
    LoggedPacket p;
    p.received = received_;
    if (const char* prefix = nflog_get_prefix(nfad)) p.prefix = prefix;
    uint32_t v;
    if (nflog_get_uid(nfad, &v) == 0) p.uid = v;
    if (nflog_get_gid(nfad, &v) == 0) p.gid = v;
    if (nflog_get_seq(nfad, &v) == 0) {
      p.seq = v;
      if (lastSeq_ && v > *lastSeq_ + 1) stats_.sequenceGaps += v - *lastSeq_ - 1;
      lastSeq_ = v;
    }
    timeval tv{};
    if (nflog_get_timestamp(nfad, &tv) == 0 && tv.tv_sec > 0) {
      p.timestamp = std::chrono::system_clock::time_point(std::chrono::seconds(tv.tv_sec) +
                                                          std::chrono::microseconds(tv.tv_usec));
    }
    if (auto* hdr = nflog_get_msg_packet_hdr(nfad)) p.hwProtocol = ntohs(hdr->hw_protocol);
    p.outIfindex = nflog_get_outdev(nfad);
    char* payload = nullptr;
    int len = nflog_get_payload(nfad, &payload);
    if (len > 0 && payload) {
      size_t n = std::min<size_t>(static_cast<size_t>(len), copyBytes_);
      p.payload.assign(reinterpret_cast<uint8_t*>(payload),
                       reinterpret_cast<uint8_t*>(payload) + n);
    }
    if (sink_) (*sink_)(std::move(p));
  }

  uint32_t copyBytes_;
  NflogHandle handle_;
  NflogGroupHandle group_;
  std::vector<char> buffer_;
  const std::function<void(LoggedPacket&&)>* sink_ = nullptr;
  std::chrono::steady_clock::time_point received_{};
  std::optional<uint32_t> lastSeq_;
  NflogStats stats_;
};

}  // namespace

Result<std::unique_ptr<NflogReader>> NflogReader::open(const NflogOptions& options) {
  auto reader = std::make_unique<NflogReaderImpl>(options.copyBytes);
  if (auto st = reader->init(options); !st) return st.error();
  return std::unique_ptr<NflogReader>(std::move(reader));
}

}  // namespace ztdns::observe
