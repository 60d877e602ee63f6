// What a child forked from a threaded daemon does before exec, shared by the
// agent's step commands and serve's command hook: async-signal-safe calls only.
#pragma once

namespace patchwave {

/// A process group of its own (so a timeout can kill the whole tree), every
/// signal disposition back to its default and an empty signal mask: the
/// daemon ignores or blocks some (SIGPIPE), a command must not inherit that.
void child_reset_process_state() noexcept;

/// `fd` when it is above stdio, else a close-on-exec duplicate at 3 or above
/// (-1 when that fails). A daemon started with stdio closed may hold the
/// child's pipes at 0-2: moved first, the dup2s onto 0-2 neither clobber one
/// another nor become no-ops that leave close-on-exec set.
int child_move_above_stdio(int fd) noexcept;

/// Nothing but 0-2 crosses exec, including descriptors other threads opened
/// without O_CLOEXEC: marks every descriptor from 3 up close-on-exec
/// (close_range, Linux 5.11); older kernels close them instead, all but `keep`
/// (a pipe that must stay open until exec succeeds).
void child_close_on_exec_from_3(int keep = -1) noexcept;

}  // namespace patchwave
