# opsready_layer(NAME DEPS <targets...> [TEST_DEPS <targets...>] [EXCLUDE <files...>])
#
# One static library per layer folder, named opsready_<NAME> (alias opsready::<NAME>),
# built from every *.cc in the folder except *_test.cc, plus one GoogleTest binary
# opsready_<NAME>_test from the *_test.cc files. Globbing keeps the layer's CMake file
# free of per-file edits; CONFIGURE_DEPENDS re-globs when files are added.
function(opsready_layer name)
  cmake_parse_arguments(ARG "" "" "DEPS;TEST_DEPS;EXCLUDE" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(tests)
    list(REMOVE_ITEM srcs ${tests})
  endif()
  foreach(excluded ${ARG_EXCLUDE})
    list(REMOVE_ITEM srcs ${CMAKE_CURRENT_SOURCE_DIR}/${excluded})
  endforeach()
  set(target opsready_${name})
  add_library(${target} STATIC ${srcs})
  add_library(opsready::${name} ALIAS ${target})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE opsready_warnings)
  if(OPSREADY_BUILD_TESTS AND tests)
    add_executable(${target}_test ${tests})
    target_link_libraries(${target}_test PRIVATE ${target} ${ARG_TEST_DEPS} GTest::gtest
      GTest::gmock GTest::gtest_main opsready_warnings)
    gtest_discover_tests(${target}_test DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120
      LABELS unit)
  endif()
endfunction()
