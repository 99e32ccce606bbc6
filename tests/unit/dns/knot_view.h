// Test helper: reads a message back with libknot's parser, an implementation independent
// of ours, so tests assert on what any client would see.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "dns/knot.h"

namespace ztdns::testing {

class KnotView {
 public:
  explicit KnotView(const std::vector<uint8_t>& wire) : wire_(wire) {
    pkt_.reset(knot_pkt_new(wire_.data(), static_cast<uint16_t>(wire_.size()), nullptr));
    rc_ = knot_pkt_parse(pkt_.get(), 0);
  }
  int rc() const { return rc_; }
  knot_pkt_t* pkt() const { return pkt_.get(); }
  uint16_t id() const { return knot_wire_get_id(wire_.data()); }
  std::string qname() const {
    knot_dname_txt_storage_t txt;
    return knot_dname_to_str(txt, knot_pkt_wire_qname(pkt_.get()), sizeof txt);
  }
  size_t count(knot_section_t s) const { return knot_pkt_section(pkt_.get(), s)->count; }
  const knot_rrset_t* rr(knot_section_t s, uint16_t i) const {
    return knot_pkt_rr(knot_pkt_section(pkt_.get(), s), i);
  }
  std::string owner(knot_section_t s, uint16_t i) const {
    knot_dname_txt_storage_t txt;
    return knot_dname_to_str(txt, rr(s, i)->owner, sizeof txt);
  }
  bool hasOpt() const { return pkt_->opt_rr != nullptr; }

 private:
  struct Free {
    void operator()(knot_pkt_t* p) const { knot_pkt_free(p); }
  };
  std::vector<uint8_t> wire_;
  std::unique_ptr<knot_pkt_t, Free> pkt_;
  int rc_ = KNOT_EINVAL;
};

}  // namespace ztdns::testing
