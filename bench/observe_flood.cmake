# observe: the logging pipeline under a flood of blocked connection attempts (needs root;
# not a CTest test: run it by hand, see docs/performance.md "Logging under flood").
add_executable(observe_flood ${CMAKE_CURRENT_LIST_DIR}/observe_flood.cc)
target_link_libraries(observe_flood PRIVATE ztdns::observe)
