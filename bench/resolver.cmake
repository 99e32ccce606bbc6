# Resolver hot paths (docs/performance.md, "Resolver hot path").
add_executable(bench_resolver_hot_path ${CMAKE_CURRENT_LIST_DIR}/resolver_hot_path.cc)
target_include_directories(bench_resolver_hot_path PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
target_link_libraries(bench_resolver_hot_path PRIVATE ztdns::resolver benchmark::benchmark)
# The whole stub over loopback UDP with an in-process pool and allow set.
add_executable(bench_resolver_stub_loop ${CMAKE_CURRENT_LIST_DIR}/resolver_stub_loop.cc)
target_include_directories(bench_resolver_stub_loop PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
target_link_libraries(bench_resolver_stub_loop PRIVATE ztdns::resolver benchmark::benchmark)
