// The fleet part of `patchwave serve`'s /metrics, from one read of the
// database: rollouts, waves and hosts by state, reboots pending, drift.
#pragma once

#include <cstddef>

#include "common/metrics_text.hpp"
#include "orchestrator/status_report.hpp"

namespace patchwave::orchestrator {

/// Finished rollouts (completed, aborted, expired) beyond this many, newest
/// first, get no per-rollout series: they would pile up forever.
inline constexpr std::size_t kMetricsFinishedRollouts = 10;

/// Adds the patchwave_rollouts, _waves, _wave_hosts, _hosts_*, _reboot* and
/// _drift_* families (docs/operations.md lists them).
void write_report_metrics(MetricsText& text, const FleetReport& report, Timestamp now, Duration silence);

}  // namespace patchwave::orchestrator
