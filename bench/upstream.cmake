# upstream_bench: ServerPool over DoT/DoH against a local unbound (see docs/performance.md).
# It uses the test peers (unbound, PKI, private namespace) from tests/support.
if(ZTDNS_TESTS)
  add_executable(upstream_bench ${CMAKE_CURRENT_LIST_DIR}/upstream_bench.cc)
  target_link_libraries(upstream_bench PRIVATE ztdns::upstream ztdns::test_support)
endif()
