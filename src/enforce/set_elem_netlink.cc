#include "enforce/set_elem_netlink.h"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/c_ptr.h"
#include "enforce/policy.h"

namespace ztdns::enforce {

namespace {

using NftSet = CPtr<nftnl_set, nftnl_set_free>;
using NftElem = CPtr<nftnl_set_elem, nftnl_set_elem_free>;
using UdataBuf = CPtr<nftnl_udata_buf, nftnl_udata_buf_free>;
using MnlSocket = CPtr<mnl_socket, mnl_socket_close>;

constexpr size_t kNftCommentMax = 127;  // NFTNL_UDATA_COMMENT_MAXLEN - 1 (nft's limit)
constexpr const char* kVia = " via ";

const char* setName(IpFamily family) {
  return family == IpFamily::V4 ? kAllowSet4 : kAllowSet6;
}

NftSet newSet(IpFamily family) {
  NftSet set(nftnl_set_alloc());
  nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, kTableName);
  nftnl_set_set_str(set.get(), NFTNL_SET_NAME, setName(family));
  nftnl_set_set_u32(set.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
  return set;
}

void appendMessage(std::vector<char>& out, const nlmsghdr* nlh) {
  size_t at = out.size();
  out.resize(at + NLMSG_ALIGN(nlh->nlmsg_len));
  std::memcpy(out.data() + at, nlh, nlh->nlmsg_len);
}

}  // namespace

SetElemBatch::SetElemBatch(uint32_t firstSeq) : beginSeq_(firstSeq), seq_(firstSeq) {
  char buf[MNL_NLMSG_HDRLEN + 64];
  appendMessage(bytes_, nftnl_batch_begin(buf, seq_++));
}

uint32_t SetElemBatch::append(uint16_t type, uint16_t flags, IpFamily family,
                              const std::vector<const ElemWrite*>& elems) {
  auto set = newSet(family);
  for (const ElemWrite* w : elems) {
    // Ownership passes to the set on nftnl_set_elem_add.
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, w->address.bytes(),
                       static_cast<uint32_t>(w->address.size()));
    if (w->timeoutSeconds) {
      nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, uint64_t{w->timeoutSeconds} * 1000);
    }
    if (!w->comment.empty()) {
      UdataBuf udata(nftnl_udata_buf_alloc(kNftCommentMax + 8));
      nftnl_udata_put_strz(udata.get(), NFTNL_UDATA_SET_ELEM_COMMENT, w->comment.c_str());
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(udata.get()),
                         nftnl_udata_buf_len(udata.get()));
    }
    nftnl_set_elem_add(set.get(), e);
  }
  // Room for the worst case: key, timeout, comment and attribute headers per element.
  std::vector<char> scratch(1024 + elems.size() * (64 + kNftCommentMax + 8));
  uint32_t seq = seq_++;
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(scratch.data(), type, NFPROTO_INET, flags, seq);
  nftnl_set_elems_nlmsg_build_payload(nlh, set.get());
  appendMessage(bytes_, nlh);
  messageSeqs_.push_back(seq);
  return seq;
}

uint32_t SetElemBatch::addElements(const std::vector<const ElemWrite*>& elems) {
  return append(NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_ACK, elems.front()->address.family(),
                elems);
}

uint32_t SetElemBatch::destroyElements(const std::vector<IpAddress>& addresses,
                                       bool destroySupported) {
  std::vector<ElemWrite> writes;
  for (const auto& a : addresses) writes.push_back({a, 0, {}, false});
  std::vector<const ElemWrite*> ptrs;
  for (const auto& w : writes) ptrs.push_back(&w);
  return append(destroySupported ? kNftMsgDestroySetElem : uint16_t{NFT_MSG_DELSETELEM}, NLM_F_ACK,
                addresses.front().family(), ptrs);
}

KernelFeatures kernelFeaturesForRelease(const std::string& release) {
  unsigned major = 0, minor = 0;
  if (std::sscanf(release.c_str(), "%u.%u", &major, &minor) != 2) return {false, false};
  auto atLeast = [&](unsigned ma, unsigned mi) {
    return major > ma || (major == ma && minor >= mi);
  };
  return {atLeast(6, 12), atLeast(6, 3)};
}

KernelFeatures detectKernelFeatures() {
  utsname u{};
  if (uname(&u) != 0) return {false, false};
  return kernelFeaturesForRelease(u.release);
}

void SetElemBatch::finish() {
  char buf[MNL_NLMSG_HDRLEN + 64];
  appendMessage(bytes_, nftnl_batch_end(buf, seq_++));
}

std::string originComment(const std::string& name, const std::string& server) {
  std::string c = name;
  if (!server.empty()) c += kVia + server;
  if (c.size() > kNftCommentMax) c.resize(kNftCommentMax);
  return c;
}

void parseOriginComment(const std::string& comment, std::string& name, std::string& server) {
  auto at = comment.rfind(kVia);
  if (at == std::string::npos) {
    name = comment;
    server.clear();
    return;
  }
  name = comment.substr(0, at);
  server = comment.substr(at + std::strlen(kVia));
}

namespace {

int commentCallback(const nftnl_udata* attr, void* data) {
  if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT) {
    const char* text = static_cast<const char*>(nftnl_udata_get(attr));
    *static_cast<std::string*>(data) = std::string(text, strnlen(text, nftnl_udata_len(attr)));
  }
  return MNL_CB_OK;
}

int dumpCallback(const nlmsghdr* nlh, void* data) {
  nftnl_set_elems_nlmsg_parse(nlh, static_cast<nftnl_set*>(data));
  return MNL_CB_OK;
}

}  // namespace

Result<std::vector<KernelElement>> dumpAllowSet(IpFamily family) {
  MnlSocket nl(mnl_socket_open(NETLINK_NETFILTER));
  if (!nl) return Error::fromErrno("mnl_socket_open(NETLINK_NETFILTER)", errno);
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return Error::fromErrno("mnl_socket_bind", errno);
  }
  const uint32_t portid = mnl_socket_get_portid(nl.get());
  const uint32_t seq = 1;
  auto query = newSet(family);
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, NFPROTO_INET,
                                        NLM_F_DUMP | NLM_F_ACK, seq);
  nftnl_set_elems_nlmsg_build_payload(nlh, query.get());
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) {
    return Error::fromErrno("netlink send (GETSETELEM)", errno);
  }
  auto result = newSet(family);
  std::vector<char> rx(1 << 16);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), rx.data(), rx.size());
    if (n < 0) return Error::fromErrno("netlink receive (GETSETELEM)", errno);
    int rc = mnl_cb_run(rx.data(), n, seq, portid, dumpCallback, result.get());
    if (rc < 0) {
      return Error::fromErrno(std::string("cannot read set inet ztdns ") + setName(family), errno);
    }
    if (rc == MNL_CB_STOP) break;
  }
  std::vector<KernelElement> out;
  nftnl_set_elem_foreach(
      result.get(),
      [](nftnl_set_elem* e, void* data) -> int {
        auto& list = *static_cast<std::vector<KernelElement>*>(data);
        uint32_t len = 0;
        const void* key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        KernelElement k;
        if (len == 4) {
          k.address = IpAddress::v4(static_cast<const uint8_t*>(key));
        } else if (len == 16) {
          k.address = IpAddress::v6(static_cast<const uint8_t*>(key));
        } else {
          return 0;
        }
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT)) {
          k.timeoutMs = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT);
        }
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION)) {
          k.expiresInMs = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
        }
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA)) {
          uint32_t ulen = 0;
          const void* udata = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &ulen);
          nftnl_udata_parse(udata, ulen, commentCallback, &k.comment);
        }
        list.push_back(std::move(k));
        return 0;
      },
      &out);
  return out;
}

}  // namespace ztdns::enforce
