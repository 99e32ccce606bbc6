#include "observe/rate_guard.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

extern "C" {
#include <libnftnl/common.h>
#include <libnftnl/object.h>
}

#include "common/c_ptr.h"

namespace ztdns::observe {

NftCounterRateGuard::NftCounterRateGuard(std::string family, std::string table, std::string counter,
                                         std::optional<uint32_t> limit)
    : family_(std::move(family)),
      table_(std::move(table)),
      counter_(std::move(counter)),
      limit_(limit) {}

namespace {

using MnlSocket = CPtr<mnl_socket, mnl_socket_close>;
using NftObj = CPtr<nftnl_obj, nftnl_obj_free>;

int onObject(const nlmsghdr* nlh, void* data) {
  if (nftnl_obj_nlmsg_parse(nlh, static_cast<nftnl_obj*>(data)) < 0) return MNL_CB_ERROR;
  return MNL_CB_OK;
}

}  // namespace

Result<uint64_t> NftCounterRateGuard::packetsNotLogged() {
  uint16_t family;
  if (family_ == "inet") {
    family = NFPROTO_INET;
  } else if (family_ == "ip") {
    family = NFPROTO_IPV4;
  } else if (family_ == "ip6") {
    family = NFPROTO_IPV6;
  } else {
    return Error{"unknown nftables family \"" + family_ + "\""};
  }
  std::string what = "counter " + family_ + " " + table_ + " " + counter_;
  NftObj request(nftnl_obj_alloc());
  if (!request) return Error{"nftnl_obj_alloc failed"};
  nftnl_obj_set_str(request.get(), NFTNL_OBJ_TABLE, table_.c_str());
  nftnl_obj_set_str(request.get(), NFTNL_OBJ_NAME, counter_.c_str());
  nftnl_obj_set_u32(request.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  uint32_t seq = static_cast<uint32_t>(time(nullptr));
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETOBJ, family, NLM_F_ACK, seq);
  nftnl_obj_nlmsg_build_payload(nlh, request.get());

  MnlSocket nl(mnl_socket_open(NETLINK_NETFILTER));
  if (!nl) return Error::fromErrno("netlink socket for " + what, errno);
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return Error::fromErrno("netlink bind for " + what, errno);
  }
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) {
    return Error::fromErrno("reading " + what, errno);
  }
  NftObj reply(nftnl_obj_alloc());
  if (!reply) return Error{"nftnl_obj_alloc failed"};
  uint32_t portid = mnl_socket_get_portid(nl.get());
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) return Error::fromErrno("reading " + what, errno);
    int r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid, onObject, reply.get());
    if (r < 0) return Error::fromErrno("reading " + what, errno);
    if (r == MNL_CB_STOP) break;
  }
  if (!nftnl_obj_is_set(reply.get(), NFTNL_OBJ_CTR_PKTS)) return Error{"no " + what};
  return nftnl_obj_get_u64(reply.get(), NFTNL_OBJ_CTR_PKTS);
}

}  // namespace ztdns::observe
