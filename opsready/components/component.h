#pragma once
// Component: one readiness-component evaluator. It folds the telemetry events it consumes into
// its own state and, when asked, says what it thinks as a core::ComponentSnapshot.
//
//   auto c = components::SensoryDrift::create({}).value();
//   if (c->consumes(event.topic)) {
//     if (auto ok = c->apply(event); !ok) log(ok.error().describe());   // payload refused
//   }
//   if (c->active()) publish(c->snapshot(clock.now()));
//
// Lifetime and threads: a component is owned by the evaluation thread (one writer, no locks,
// see ../shared/design/ARCHITECTURE.md "Concurrency"); none of its methods is thread-safe.
// apply() and snapshot() never throw and never block; errors are values. The topics and
// payloads each component consumes, its thresholds and its YAML keys are in docs/components.md.
//
// Conventions every component follows:
// - observed_at of the snapshot is the time of the last event the component applied (so the
//   readiness gate's max_age measures how long the component has been silent);
// - issues carry a runbook link docs/runbooks/<component>.md; an issue's code is the alert
//   category of that finding ("sensory.drift.why", "ingest_slos.daily_bars.freshness", ...) and
//   is unique within one snapshot;
// - a component that has applied no event is not active and publishes no snapshot (list it as
//   `required` in the gate policy to make its silence block).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/event.h"
#include "opsready/core/snapshot.h"
#include "opsready/core/status.h"
#include "opsready/detect/outcome.h"

namespace opsready::components {

// How much a snapshot carries. kBrief: component, status, summary, observed_at and issues, with
// empty metadata — for consumers that read only those (the replay, alert derivation), and much
// cheaper for components whose metadata is large. kFull adds the metadata.
enum class Detail : std::uint8_t { kFull, kBrief };

class Component {
 public:
  virtual ~Component() = default;

  // The readiness component name ([a-z0-9_.-]+), e.g. "sensory_drift".
  [[nodiscard]] virtual std::string_view name() const = 0;
  // Category of the component-level alert, e.g. "sensory.drift".
  [[nodiscard]] virtual std::string_view alert_category() const = 0;
  // Whether events on `topic` are for this component. Pure: the same topic always gives the
  // same answer, so callers may cache it.
  [[nodiscard]] virtual bool consumes(std::string_view topic) const = 0;
  // Folds one event in. An event whose payload this component cannot use is refused with an
  // error naming the field; the state is then unchanged.
  [[nodiscard]] virtual core::Result<void> apply(const core::TelemetryEvent& event) = 0;
  // Whether apply() would refuse `event`'s payload for its shape, without applying it: what
  // ingest asks before queueing an event (DocumentChecker, registry.h), so a document of the
  // wrong shape is refused to its sender (HTTP 400, NATS term) instead of only on the
  // evaluation strand. Default: no check before queueing.
  [[nodiscard]] virtual core::Result<void> check(const core::TelemetryEvent& /*event*/) {
    return {};
  }
  // Called by Registry::snapshots() just before snapshot(), with the snapshots this round has
  // taken of the components before this one (registry order): for a component that rolls
  // others up (professional_readiness). Default: ignored.
  virtual void observe(std::span<const core::ComponentSnapshot> /*earlier*/) {}
  // True once an event has been applied.
  [[nodiscard]] virtual bool active() const = 0;
  // The component's view at `now` (time-dependent findings, such as freshness, use it).
  // Not const: components cache their evaluation between changes. Status, summary and issues
  // do not depend on `detail`.
  [[nodiscard]] virtual core::ComponentSnapshot snapshot(core::TimePoint now, Detail detail) = 0;
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now) {
    return snapshot(now, Detail::kFull);
  }

  // What must survive a restart (history a rule needs, such as system validation's
  // reliability window), as JSON; null when the component keeps none. state_version() changes
  // whenever state() does: the engine persists state() (an alerting_state row of kind
  // "component") when the version moved after an event, and hands the row back through
  // restore() before the first event after a restart.
  [[nodiscard]] virtual nlohmann::json state() const { return nullptr; }
  [[nodiscard]] virtual std::uint64_t state_version() const { return 0; }
  [[nodiscard]] virtual core::Result<void> restore(const nlohmann::json& /*state*/) { return {}; }

 protected:
  Component() = default;
  Component(const Component&) = default;
  Component& operator=(const Component&) = default;
};

// "docs/runbooks/<component>.md".
[[nodiscard]] std::string runbook_path(std::string_view component);

// ---- Helpers shared by the component implementations -------------------------------------

// The one number-coercion rule (core::to_number): numbers and numeric strings (trimmed, '+'
// allowed, a trailing '%' divides by 100); booleans and non-finite results are none.
[[nodiscard]] std::optional<double> coerce_number(const nlohmann::json& v);
// `j[key]` coerced, none when absent.
[[nodiscard]] std::optional<double> number_field(const nlohmann::json& j, std::string_view key);

// A double for JSON output: finite values as numbers; +inf and -inf as the strings "+Inf" and
// "-Inf" (Prometheus' spelling; JSON has no infinity); NaN as null.
[[nodiscard]] nlohmann::json json_number(double v);

// Sets `key` to the number when it has a value.
void put_optional(nlohmann::json& j, const char* key, const std::optional<double>& v);
// " (a, b)" for the detectors that fired; empty when none.
[[nodiscard]] std::string detectors_suffix(const std::vector<std::string>& detectors);

// What the drift components (sensory_drift, drift_sentry) build alike from their non-normal
// findings: one issue and one "name:severity (detectors)" summary part per finding, and the
// spec's issue_counts (warn/fail) and issue_details (the drift word kept) metadata.
class DriftFindings {
 public:
  explicit DriftFindings(std::string runbook) : runbook_(std::move(runbook)) {}
  // Records a finding of `severity` (normal is ignored); `detail` gains severity and
  // detectors and becomes issue_details[name].
  void add(const std::string& name, detect::Grade severity, std::string code,
           const std::vector<std::string>& detectors, nlohmann::json detail);
  [[nodiscard]] bool empty() const { return parts_.empty(); }
  // The sorted parts joined by "; " as the summary, and the issues, in finding order.
  void write_to(core::ComponentSnapshot& s) const;
  // issue_counts and issue_details, when there are findings.
  void write_metadata(nlohmann::json& metadata) const;

 private:
  std::string runbook_;
  std::vector<std::string> parts_;
  std::vector<core::Issue> issues_;
  nlohmann::json details_ = nlohmann::json::object();
  int warn_ = 0;
  int fail_ = 0;
};

// printf-style fixed formatting, locale-independent: fixed(1.5, 2) == "1.50",
// signed_fixed(0.3, 3) == "+0.300", percent(0.1234, 1) == "12.3%",
// grouped(-1234.5, 2) == "-1,234.50" (Python's "{:,.2f}").
[[nodiscard]] std::string fixed(double v, int decimals);
[[nodiscard]] std::string signed_fixed(double v, int decimals);
[[nodiscard]] std::string percent(double ratio, int decimals);
[[nodiscard]] std::string grouped(double v, int decimals);
// Shortest round-trip rendering ("0.25", "1e-06", "inf").
[[nodiscard]] std::string shortest(double v);

// Checks a warn/alert threshold pair (not NaN, warn ≤ alert; +inf disables a level).
[[nodiscard]] core::Result<void> check_thresholds(double warn, double alert,
                                                  std::string_view warn_field,
                                                  std::string_view alert_field);

}  // namespace opsready::components
