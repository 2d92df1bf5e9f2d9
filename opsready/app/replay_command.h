#pragma once
// `opsready replay FILE.jsonl [--config FILE]`: feeds recorded telemetry events through the
// configured component evaluators and the readiness aggregator under a manual clock driven by
// the events' times, and prints every readiness change and every alert that would be raised.
// The same input gives byte-identical output.
//
//   ReplayOptions o{.input = "examples/replay/page_hinkley_replay.jsonl",
//                   .config = "examples/replay/page_hinkley_replay.yml"};
//   int code = run_replay(o, std::cout, std::cerr);
//
// Input: one TelemetryEvent per line ({topic, source?, time, payload}; blank lines skipped);
// `time` is required. Events on `opsready.component.snapshot` feed the aggregator directly, as
// in the daemon; every other topic goes to the components that consume it.
//
// Evaluation: after the last event of each run of equal times, at that time: the active
// components' snapshots plus the received ones are aggregated under the gate policy, then
//   <time> readiness <status> gate=<decision> <component>=<status>... [blocking=<codes>]
//          [warnings=<codes>]
// is printed when that line (less its time) differs from the previous one, followed by
//   <time> alert <severity> <category> [<component>] <message>
// for every alert the change raises (components::derive_alerts on the aggregated component
// snapshots, so staleness counts). The last line is
//   <time> end events=<n> applied=<n> unrouted=<n> rejected=<n> readiness=<status> gate=<d>
// `--format json` prints the same records as JSON lines ({"type": "readiness"|"alert"|"end"}).
// An event a component refuses (or an invalid snapshot) is reported on `err` with its line and
// counted as rejected; the replay goes on to the end and then exits 65, so bad input cannot
// pass a CI step unnoticed. A line that is not a valid event stops the replay at once with 65.
// With `keep_going`, both are reported, counted as rejected and skipped, and the exit code is 0.
// Exit codes: 0; 64 bad options; 65 a rejected event or an invalid line (without keep_going),
// or an invalid config; 66 an unreadable input. Control plane; single-threaded.

#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "opsready/core/clock.h"

namespace opsready::app {

struct ReplayOptions {
  std::filesystem::path input;
  std::optional<std::filesystem::path> config;  // gate policy + `detectors:` settings
  std::string format = "text";                  // text | json
  bool keep_going = false;                      // rejected events and invalid lines: exit 0
  bool final = false;  // also print the final readiness snapshot (Markdown, or JSON)
  // After the last line, the engine's timers due within this long fire (group_wait, ...).
  core::Duration settle = std::chrono::minutes(5);
};

[[nodiscard]] int run_replay(const ReplayOptions& options, std::ostream& out, std::ostream& err);

}  // namespace opsready::app
