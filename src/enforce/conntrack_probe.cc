#include "enforce/conntrack_probe.h"

#include <linux/netfilter/nf_conntrack_tcp.h>
#include <netinet/in.h>

#include <cerrno>

namespace ztdns::enforce {

namespace {

struct DumpState {
  const std::unordered_set<IpAddress>* wanted;
  std::unordered_set<IpAddress> found;
};

int onFlow(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
  auto* state = static_cast<DumpState*>(data);
  if (nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) == IPPROTO_TCP &&
      nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0) {
    uint8_t s = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
    if (s == TCP_CONNTRACK_TIME_WAIT || s == TCP_CONNTRACK_CLOSE) return NFCT_CB_CONTINUE;
  }
  IpAddress dst;
  if (nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) == AF_INET) {
    dst = IpAddress::v4(static_cast<const uint8_t*>(nfct_get_attr(ct, ATTR_ORIG_IPV4_DST)));
  } else {
    dst = IpAddress::v6(static_cast<const uint8_t*>(nfct_get_attr(ct, ATTR_ORIG_IPV6_DST)));
  }
  if (state->wanted->count(dst)) state->found.insert(dst);
  return NFCT_CB_CONTINUE;
}

}  // namespace

Result<std::unique_ptr<ConntrackProbe>> ConntrackProbe::open() {
  Handle h(nfct_open(CONNTRACK, 0));
  if (!h) return Error::fromErrno("nfct_open(CONNTRACK)", errno);
  return std::unique_ptr<ConntrackProbe>(new ConntrackProbe(std::move(h)));
}

Result<std::unordered_set<IpAddress>> ConntrackProbe::withLiveFlows(
    const std::vector<IpAddress>& candidates) {
  std::unordered_set<IpAddress> wanted(candidates.begin(), candidates.end());
  DumpState state{&wanted, {}};
  if (wanted.empty()) return state.found;
  nfct_callback_register(handle_.get(), NFCT_T_ALL, onFlow, &state);
  uint32_t family = AF_UNSPEC;  // both IPv4 and IPv6 flows
  int rc = nfct_query(handle_.get(), NFCT_Q_DUMP, &family);
  int err = errno;
  nfct_callback_unregister(handle_.get());
  if (rc < 0) return Error::fromErrno("conntrack dump", err);
  return state.found;
}

}  // namespace ztdns::enforce
