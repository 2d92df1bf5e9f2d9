# Every third-party dependency, found the way ../shared/design/STACK.md verified.
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.11 CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)  # PostgreSQL::PostgreSQL: libpq, the shared store of replicas
find_package(simdjson CONFIG REQUIRED)  # simdjson::simdjson (On-Demand: the alert ingest hot path)
find_package(ZLIB REQUIRED)
find_package(OpenSSL REQUIRED)  # OpenSSL::Crypto: SHA-256 and CRYPTO_memcmp for bearer tokens
find_package(CURL REQUIRED)     # CURL::libcurl: delivery (HTTP and SMTP, multi interface)
# Boost.Beast's HTTP/1 parser (header-only; server/http_parser.cc is its only user).
find_package(Boost 1.74 CONFIG REQUIRED)  # Boost::headers
find_package(PkgConfig REQUIRED)
# cpp-httplib ships no CMake config, and its compile flags are part of its ABI.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_library(httplib::httplib ALIAS PkgConfig::HTTPLIB)
# RE2 (Debian libre2-dev) ships a .pc file; only the alerting layer links it (matchers).
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)

# Standalone asio is header-only and ships neither a CMake config nor a .pc file.
add_library(opsready_asio INTERFACE)
target_link_libraries(opsready_asio INTERFACE Threads::Threads)
target_compile_definitions(opsready_asio INTERFACE ASIO_NO_DEPRECATED
  $<$<CXX_COMPILER_ID:Clang>:ASIO_HAS_CO_AWAIT=1>)
add_library(asio::asio ALIAS opsready_asio)

if(OPSREADY_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(OPSREADY_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()

# Warnings for our own code only.
add_library(opsready_warnings INTERFACE)
# GCC 12 warns about fields left out of a designated initializer even when they have default
# member initializers; designated initializers with defaults are our idiom for value types.
target_compile_options(opsready_warnings INTERFACE -Wall -Wextra -Wpedantic
  -Wno-missing-field-initializers $<$<BOOL:${OPSREADY_WERROR}>:-Werror>)
