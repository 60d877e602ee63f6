// libsodium must be initialised once per process before any other call;
// every crypto/ entry point calls ensure_sodium() so callers never have to.
#pragma once

namespace patchwave::crypto {

/// Initialises libsodium once (thread-safe). Aborts if it cannot: without a
/// working CSPRNG no key or signature can be trusted, so there is no recovery.
void ensure_sodium();

}  // namespace patchwave::crypto
