# ztdns_library(NAME SOURCES ... [DEPS ...]): one static library per module, ztdns::NAME.
function(ztdns_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(ztdns_${name} STATIC ${ARG_SOURCES})
  add_library(ztdns::${name} ALIAS ztdns_${name})
  target_include_directories(ztdns_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(ztdns_${name} PUBLIC ${ARG_DEPS})
endfunction()

# ztdns_unit_test(NAME SOURCES ... [DEPS ...] [NEEDS_ROOT]): a GoogleTest binary registered
# with CTest under the label "unit". Tests that need root or namespaces exit 77
# (GTEST_SKIP in every test also works) and are reported as skipped, not passed.
function(ztdns_unit_test name)
  cmake_parse_arguments(ARG "NEEDS_ROOT" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  set(labels unit)
  if(ARG_NEEDS_ROOT)
    list(APPEND labels root)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" SKIP_RETURN_CODE 77 TIMEOUT 300)
endfunction()
