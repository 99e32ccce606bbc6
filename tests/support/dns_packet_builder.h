// Test helper: DNS messages built with libknot's own writer (so name compression is what
// a real server produces), one record per RRset so that a test controls the exact record
// order. Used by the dns and resolver tests, the benchmarks and the fuzz seed generator.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dns/knot.h"

namespace ztdns::testing {

class PacketBuilder {
 public:
  // A query as dig sends it: RD, and EDNS when `udpSize` is set.
  static PacketBuilder query(std::string_view name, uint16_t qtype, uint16_t id = 0x1234) {
    PacketBuilder b(name, qtype, id, false);
    b.flags1_ = 0x01;
    return b;
  }
  // A response (QR, RD, RA) to the question `name`/`qtype`.
  static PacketBuilder response(std::string_view name, uint16_t qtype, uint16_t id = 0) {
    PacketBuilder b(name, qtype, id, true);
    b.flags1_ = 0x81;
    b.flags2_ = 0x80;
    return b;
  }
  // A response to the question (and ID) in a query's wire.
  static PacketBuilder responseTo(std::span<const uint8_t> query) {
    knot_dname_txt_storage_t txt;
    if (query.size() < 17 || !knot_dname_to_str(txt, query.data() + 12, sizeof txt)) {
      throw std::runtime_error("responseTo: not a query");
    }
    size_t nameSize = knot_dname_size(query.data() + 12);
    uint16_t qtype = knot_wire_read_u16(query.data() + 12 + nameSize);
    return response(txt, qtype, knot_wire_get_id(query.data()));
  }

  PacketBuilder& rcode(uint16_t rc) {
    rcode_ = rc;
    return *this;
  }
  PacketBuilder& setFlags1(uint8_t f) {
    flags1_ = f;
    return *this;
  }
  PacketBuilder& setFlags2(uint8_t f) {
    flags2_ = f;
    return *this;
  }
  // Records go to the current section: answer first, then authority(), additional().
  PacketBuilder& authority() {
    section_ = KNOT_AUTHORITY;
    return *this;
  }
  PacketBuilder& additional() {
    section_ = KNOT_ADDITIONAL;
    return *this;
  }
  PacketBuilder& a(std::string_view owner, uint32_t ttl, const char* ip) {
    uint8_t b[4];
    if (inet_pton(AF_INET, ip, b) != 1) throw std::runtime_error("bad IPv4");
    return raw(owner, KNOT_RRTYPE_A, ttl, {b, b + 4});
  }
  PacketBuilder& aaaa(std::string_view owner, uint32_t ttl, const char* ip) {
    uint8_t b[16];
    if (inet_pton(AF_INET6, ip, b) != 1) throw std::runtime_error("bad IPv6");
    return raw(owner, KNOT_RRTYPE_AAAA, ttl, {b, b + 16});
  }
  PacketBuilder& cname(std::string_view owner, uint32_t ttl, std::string_view target) {
    return raw(owner, KNOT_RRTYPE_CNAME, ttl, wireName(target));
  }
  PacketBuilder& soa(std::string_view owner, uint32_t ttl, uint32_t minimum) {
    std::vector<uint8_t> rd = wireName("ns.invalid");
    auto rname = wireName("hostmaster.invalid");
    rd.insert(rd.end(), rname.begin(), rname.end());
    for (uint32_t v : {2024010101u, 3600u, 600u, 86400u, minimum}) {
      uint8_t b[4];
      knot_wire_write_u32(b, v);
      rd.insert(rd.end(), b, b + 4);
    }
    return raw(owner, KNOT_RRTYPE_SOA, ttl, rd);
  }
  // SVCB/HTTPS (RFC 9460) with optional ipv4hint/ipv6hint.
  PacketBuilder& svcb(uint16_t type, std::string_view owner, uint32_t ttl, uint16_t priority,
                      std::string_view target, const std::vector<const char*>& v4 = {},
                      const std::vector<const char*>& v6 = {}) {
    std::vector<uint8_t> rd(2);
    knot_wire_write_u16(rd.data(), priority);
    auto t = wireName(target);
    rd.insert(rd.end(), t.begin(), t.end());
    auto param = [&](uint16_t key, int family, const std::vector<const char*>& ips, size_t n) {
      if (ips.empty()) return;
      uint8_t h[4];
      knot_wire_write_u16(h, key);
      knot_wire_write_u16(h + 2, static_cast<uint16_t>(ips.size() * n));
      rd.insert(rd.end(), h, h + 4);
      for (const char* ip : ips) {
        uint8_t b[16];
        if (inet_pton(family, ip, b) != 1) throw std::runtime_error("bad hint");
        rd.insert(rd.end(), b, b + n);
      }
    };
    // alpn=h2 first, as real HTTPS records carry it.
    const uint8_t alpn[] = {0, 1, 0, 3, 2, 'h', '2'};
    rd.insert(rd.end(), alpn, alpn + sizeof alpn);
    param(KNOT_SVCB_PARAM_IPV4HINT, AF_INET, v4, 4);
    param(KNOT_SVCB_PARAM_IPV6HINT, AF_INET6, v6, 16);
    return raw(owner, type, ttl, rd);
  }
  PacketBuilder& raw(std::string_view owner, uint16_t type, uint32_t ttl,
                     std::vector<uint8_t> rdata) {
    records_.push_back({section_, std::string(owner), type, ttl, std::move(rdata)});
    return *this;
  }
  // EDNS(0): payload size, DO bit, optional padding and Extended DNS Error options.
  PacketBuilder& edns(uint16_t udpSize = 1232, bool dnssecOk = false,
                      std::optional<uint16_t> padding = std::nullopt,
                      std::optional<uint16_t> ede = std::nullopt, uint8_t version = 0) {
    edns_ = Edns{udpSize, dnssecOk, padding, ede, version};
    return *this;
  }

  std::vector<uint8_t> build() const {
    knot_pkt_t* pkt = knot_pkt_new(nullptr, KNOT_WIRE_MAX_PKTSIZE, nullptr);
    if (!pkt) throw std::runtime_error("knot_pkt_new");
    struct Free {
      knot_pkt_t* p;
      ~Free() { knot_pkt_free(p); }
    } guard{pkt};
    auto qname = wireName(qname_);
    check(knot_pkt_put_question(pkt, qname.data(), KNOT_CLASS_IN, qtype_), "question");
    knot_wire_set_id(pkt->wire, id_);
    knot_wire_set_flags1(pkt->wire, flags1_);
    knot_wire_set_flags2(pkt->wire, static_cast<uint8_t>((flags2_ & 0xF0) | (rcode_ & 0xF)));
    for (knot_section_t s : {KNOT_ANSWER, KNOT_AUTHORITY, KNOT_ADDITIONAL}) {
      check(knot_pkt_begin(pkt, s), "begin");
      for (const Record& r : records_) {
        if (r.section != s) continue;
        auto owner = wireName(r.owner);
        // knot_pkt_put copies the rrset struct and, with KNOT_PF_FREE, owns what it points
        // to (owner, rdata); so the struct lives on the stack, and only its contents on the heap.
        knot_rrset_t rr;
        knot_rrset_init(&rr, knot_dname_copy(owner.data(), nullptr), r.type, KNOT_CLASS_IN,
                        r.ttl);
        check(knot_rrset_add_rdata(&rr, r.rdata.data(), static_cast<uint16_t>(r.rdata.size()),
                                   nullptr),
              "rdata");
        // As servers do: an owner equal to the question is a pointer to it.
        uint16_t hint = r.owner == qname_ ? KNOT_COMPR_HINT_QNAME : KNOT_COMPR_HINT_NONE;
        check(knot_pkt_put(pkt, hint, &rr, KNOT_PF_FREE | KNOT_PF_NOTRUNC), "put");
      }
    }
    if (edns_) {
      knot_rrset_t optRecord;  // knot_edns_init sets every field, owner included
      knot_rrset_t* opt = &optRecord;
      check(knot_edns_init(opt, edns_->udpSize, static_cast<uint8_t>(rcode_ >> 4), edns_->version,
                           nullptr),
            "edns");
      if (edns_->dnssecOk) knot_edns_set_do(opt);
      if (edns_->ede) {
        uint8_t data[2 + 7] = {0, 0, 'b', 'l', 'o', 'c', 'k', 'e', 'd'};
        knot_wire_write_u16(data, *edns_->ede);
        check(knot_edns_add_option(opt, KNOT_EDNS_OPTION_EDE, sizeof data, data, nullptr), "ede");
      }
      if (edns_->padding) {
        std::vector<uint8_t> zeros(*edns_->padding);
        check(knot_edns_add_option(opt, KNOT_EDNS_OPTION_PADDING, *edns_->padding, zeros.data(),
                                   nullptr),
              "padding");
      }
      check(knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, opt, KNOT_PF_FREE | KNOT_PF_NOTRUNC), "opt");
    }
    return std::vector<uint8_t>(pkt->wire, pkt->wire + pkt->size);
  }

  static std::vector<uint8_t> wireName(std::string_view text) {
    std::string s(text);
    uint8_t buf[KNOT_DNAME_MAXLEN];
    if (!knot_dname_from_str(buf, s.c_str(), sizeof buf)) throw std::runtime_error("bad name");
    return {buf, buf + knot_dname_size(buf)};
  }

 private:
  struct Record {
    knot_section_t section;
    std::string owner;
    uint16_t type;
    uint32_t ttl;
    std::vector<uint8_t> rdata;
  };
  struct Edns {
    uint16_t udpSize;
    bool dnssecOk;
    std::optional<uint16_t> padding;
    std::optional<uint16_t> ede;
    uint8_t version;
  };

  PacketBuilder(std::string_view name, uint16_t qtype, uint16_t id, bool)
      : qname_(name), qtype_(qtype), id_(id) {}

  static void check(int rc, const char* what) {
    if (rc != KNOT_EOK)
      throw std::runtime_error(std::string(what) + ": libknot error " + std::to_string(rc));
  }

  std::string qname_;
  uint16_t qtype_;
  uint16_t id_;
  uint8_t flags1_ = 0;
  uint8_t flags2_ = 0;
  uint16_t rcode_ = 0;
  knot_section_t section_ = KNOT_ANSWER;
  std::vector<Record> records_;
  std::optional<Edns> edns_;
};

}  // namespace ztdns::testing
