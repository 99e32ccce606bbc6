#include "enforce/table_query.h"

// clang-format off
#include <netinet/in.h>  // before the linux/ uapi headers, which then defer to it
// clang-format on

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <functional>
#include <vector>

#include "common/c_ptr.h"
#include "enforce/policy.h"

namespace ztdns::enforce {

namespace {

using MnlSocket = CPtr<mnl_socket, mnl_socket_close>;
using NftTable = CPtr<nftnl_table, nftnl_table_free>;
using NftObj = CPtr<nftnl_obj, nftnl_obj_free>;

// Sends one request (built by `build` into buf) and runs `onReply` on each reply message.
// Returns 0 or the kernel's errno.
Result<int> roundTrip(const std::function<nlmsghdr*(char*, uint32_t)>& build, mnl_cb_t onReply,
                      void* data) {
  MnlSocket nl(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
  if (!nl) return Error::fromErrno("mnl_socket_open(NETLINK_NETFILTER)", errno);
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return Error::fromErrno("mnl_socket_bind", errno);
  }
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  const uint32_t seq = 1;
  nlmsghdr* nlh = build(buf.data(), seq);
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) {
    return Error::fromErrno("netlink send", errno);
  }
  const uint32_t portid = mnl_socket_get_portid(nl.get());
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) return Error::fromErrno("netlink receive", errno);
    int rc = mnl_cb_run(buf.data(), n, seq, portid, onReply, data);
    if (rc < 0) return errno;
    if (rc == MNL_CB_STOP) return 0;
  }
}

int ignoreReply(const nlmsghdr*, void*) {
  return MNL_CB_OK;
}

int counterReply(const nlmsghdr* nlh, void* data) {
  NftObj obj(nftnl_obj_alloc());
  if (nftnl_obj_nlmsg_parse(nlh, obj.get()) == 0) {
    *static_cast<uint64_t*>(data) = nftnl_obj_get_u64(obj.get(), NFTNL_OBJ_CTR_PKTS);
  }
  return MNL_CB_OK;
}

}  // namespace

Result<bool> ztdnsTableExists() {
  auto rc = roundTrip(
      [](char* buf, uint32_t seq) {
        NftTable t(nftnl_table_alloc());
        nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kTableName);
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, seq);
        nftnl_table_nlmsg_build_payload(nlh, t.get());
        return nlh;
      },
      ignoreReply, nullptr);
  if (!rc) return rc.error();
  if (*rc == ENOENT) return false;
  if (*rc != 0) return Error::fromErrno("netlink GETTABLE inet ztdns", *rc);
  return true;
}

Result<uint64_t> ztdnsCounterPackets(const std::string& name) {
  uint64_t packets = 0;
  auto rc = roundTrip(
      [&](char* buf, uint32_t seq) {
        NftObj o(nftnl_obj_alloc());
        nftnl_obj_set_str(o.get(), NFTNL_OBJ_TABLE, kTableName);
        nftnl_obj_set_str(o.get(), NFTNL_OBJ_NAME, name.c_str());
        nftnl_obj_set_u32(o.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_INET, NLM_F_ACK, seq);
        nftnl_obj_nlmsg_build_payload(nlh, o.get());
        return nlh;
      },
      counterReply, &packets);
  if (!rc) return rc.error();
  if (*rc != 0) return Error::fromErrno("netlink GETOBJ counter " + name, *rc);
  return packets;
}

}  // namespace ztdns::enforce
