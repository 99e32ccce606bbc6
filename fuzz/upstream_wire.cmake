ztdns_fuzz_target(upstream_wire ${CMAKE_CURRENT_SOURCE_DIR}/upstream_wire_fuzz.cc ztdns::upstream)
