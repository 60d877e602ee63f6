#include "crypto/sodium_init.hpp"

#include <cstdio>
#include <cstdlib>
#include <sodium.h>

namespace patchwave::crypto {

void ensure_sodium() {
    static const bool ready = [] {
        if (sodium_init() < 0) {
            std::fputs("fatal: libsodium could not be initialised\n", stderr);
            std::abort();
        }
        return true;
    }();
    (void)ready;
}

}  // namespace patchwave::crypto
