# Compiler flags every Patchwave target gets: warnings on, optionally fatal,
# optionally sanitized. Applied through an interface target so third-party
# headers (included as SYSTEM) do not trip them.
add_library(patchwave_flags INTERFACE)
# Not -Wnull-dereference: g++ 12 raises it after inlining Boost.Asio's
# scheduler into our code, where SYSTEM includes cannot silence it.
target_compile_options(patchwave_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough)
if(PATCHWAVE_WERROR)
  target_compile_options(patchwave_flags INTERFACE -Werror)
endif()
if(PATCHWAVE_SANITIZE)
  target_compile_options(patchwave_flags INTERFACE -fsanitize=address,undefined
    -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(patchwave_flags INTERFACE -fsanitize=address,undefined)
endif()
