# Enforcement (docs/performance.md, "Enforcement"): run as root, e.g. build/bench/enforce_bench
add_executable(enforce_bench ${CMAKE_CURRENT_LIST_DIR}/enforce_bench.cc)
target_link_libraries(enforce_bench PRIVATE ztdns::enforce)
