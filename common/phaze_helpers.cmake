# Build helpers with named arguments, in the spirit of abseil's absl_cc_library.
#
#   phaze_cc_library(NAME workload SRCS a.cc HDRS a.h DEPS phaze::arch absl::status PURE)
#   phaze_cc_test(NAME workload_test SRCS workload_test.cc DEPS phaze::workload LABELS unit)
#
# A PURE library is part of the science core: configuration fails if it (directly) links gRPC or
# prometheus-cpp, so the core always builds and tests without the service stack.

set(PHAZE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(PHAZE_WERROR)
  list(APPEND PHAZE_WARNINGS -Werror)
endif()

function(phaze_cc_library)
  cmake_parse_arguments(P "PURE;TESTONLY" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  if(P_PURE)
    foreach(dep IN LISTS P_DEPS)
      if(dep MATCHES "^(gRPC::|prometheus-cpp::|phaze::proto|phaze::rpc)")
        message(FATAL_ERROR "phaze_cc_library(${P_NAME}) is PURE but depends on ${dep}")
      endif()
    endforeach()
  endif()
  if(P_SRCS)
    add_library(phaze_${P_NAME} ${P_SRCS} ${P_HDRS})
    target_link_libraries(phaze_${P_NAME} PUBLIC ${P_DEPS})
    target_compile_options(phaze_${P_NAME} PRIVATE ${PHAZE_WARNINGS})
    set(_scope PUBLIC)
  else()
    add_library(phaze_${P_NAME} INTERFACE)
    target_link_libraries(phaze_${P_NAME} INTERFACE ${P_DEPS})
    set(_scope INTERFACE)
  endif()
  target_include_directories(phaze_${P_NAME} ${_scope} ${PROJECT_SOURCE_DIR})
  add_library(phaze::${P_NAME} ALIAS phaze_${P_NAME})
endfunction()

function(phaze_cc_test)
  cmake_parse_arguments(P "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${P_NAME} ${P_SRCS})
  target_link_libraries(${P_NAME} PRIVATE ${P_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_options(${P_NAME} PRIVATE ${PHAZE_WARNINGS})
  if(NOT P_LABELS)
    set(P_LABELS unit)
  endif()
  # One label per test binary: gtest_discover_tests flattens a list of labels.
  list(LENGTH P_LABELS _n)
  if(_n GREATER 1)
    message(FATAL_ERROR "phaze_cc_test(${P_NAME}): give one label, not ${P_LABELS}")
  endif()
  # The test binaries run gtest's main, not ours: give them the malloc thresholds that phaze,
  # the coordinator and the worker set with mallopt (coordinator/cli/phaze_main.cc). Without
  # them every CBC model is an mmap/munmap pair and a whole-search test spends as long in the
  # kernel as in the solver (SearchTest.SameFrontWithOneOrTwoThreads: 38 s against 13 s).
  # Sanitizer builds bring their own allocator and ignore the tunables.
  gtest_discover_tests(${P_NAME} PROPERTIES LABELS "${P_LABELS}" ENVIRONMENT
    "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824"
    DISCOVERY_TIMEOUT 60)
endfunction()
