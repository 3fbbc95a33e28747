# BLAKE3 from the official C sources that Debian's librust-blake3-dev installs.
# Nothing is copied into the project; the directory is found by glob because its
# version changes between Debian releases.
file(GLOB PG_BLAKE3_CANDIDATES LIST_DIRECTORIES true "/usr/share/cargo/registry/blake3-*/c")
list(SORT PG_BLAKE3_CANDIDATES COMPARE NATURAL ORDER DESCENDING)
list(GET PG_BLAKE3_CANDIDATES 0 PG_BLAKE3_DIR)
if(NOT PG_BLAKE3_DIR OR NOT EXISTS "${PG_BLAKE3_DIR}/blake3.h")
  message(FATAL_ERROR "BLAKE3 C sources not found: install librust-blake3-dev (tools/install-deps.sh)")
endif()
message(STATUS "BLAKE3 sources: ${PG_BLAKE3_DIR}")

set(PG_BLAKE3_SOURCES
  ${PG_BLAKE3_DIR}/blake3.c
  ${PG_BLAKE3_DIR}/blake3_dispatch.c
  ${PG_BLAKE3_DIR}/blake3_portable.c)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  list(APPEND PG_BLAKE3_SOURCES
    ${PG_BLAKE3_DIR}/blake3_sse2_x86-64_unix.S
    ${PG_BLAKE3_DIR}/blake3_sse41_x86-64_unix.S
    ${PG_BLAKE3_DIR}/blake3_avx2_x86-64_unix.S
    ${PG_BLAKE3_DIR}/blake3_avx512_x86-64_unix.S)
else()
  set(PG_BLAKE3_DEFS BLAKE3_NO_SSE2 BLAKE3_NO_SSE41 BLAKE3_NO_AVX2 BLAKE3_NO_AVX512)
endif()
add_library(blake3_c STATIC ${PG_BLAKE3_SOURCES})
target_include_directories(blake3_c SYSTEM PUBLIC ${PG_BLAKE3_DIR})
target_compile_definitions(blake3_c PRIVATE ${PG_BLAKE3_DEFS})
set_target_properties(blake3_c PROPERTIES C_STANDARD 99)
# Upstream C code: do not let our warning flags fail its build.
target_compile_options(blake3_c PRIVATE -w)
