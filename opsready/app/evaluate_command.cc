#include "opsready/app/evaluate_command.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "opsready/app/commands.h"
#include "opsready/app/config.h"
#include "opsready/components/registry.h"
#include "opsready/components/report.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"
#include "opsready/readiness/readiness.h"

namespace opsready::app {
namespace {

struct Kind {
  std::string_view kind;
  std::string_view component;
  std::string_view topic;  // the topic the component reads the document from
};

constexpr Kind kKinds[] = {
    {"system-validation", "system_validation", "telemetry.operational.system_validation"},
    {"incident-response", "incident_response", "telemetry.operational.incident_response"},
    {"security", "security", "telemetry.operational.security"},
    {"backups", "backups", "telemetry.operational.backups"},
    {"failover-drill", "failover_drill", "telemetry.operational.failover_drill"},
    {"cross-region", "cross_region_failover", "telemetry.ingest.cross_region_failover"},
    {"disaster-recovery", "disaster_recovery", "telemetry.operational.disaster_recovery"},
    {"professional-readiness", "professional_readiness", "telemetry.operational.readiness"},
    {"cache", "cache", "telemetry.cache.health"},
    {"nats-consumer", "nats_consumer", "telemetry.bus.consumer"},
};

const Kind* find_kind(std::string_view kind) {
  for (const Kind& k : kKinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

// A component that grades a stream rather than one document (nats_consumer): the document is
// applied as an event on its topic and the snapshot taken at `now`.
core::Result<components::Evaluated> evaluate_as_event(components::Component& c,
                                                      std::string_view topic,
                                                      const nlohmann::json& doc,
                                                      core::TimePoint now) {
  core::TelemetryEvent e{
      .topic = std::string(topic), .source = "opsready evaluate", .time = now, .payload = doc};
  if (auto ok = c.apply(e); !ok) return std::unexpected(ok.error());
  components::Evaluated out;
  out.snapshot = c.snapshot(now);
  out.report = core::to_json(out.snapshot);
  out.markdown = "**" + out.snapshot.component +
                 "** – status: " + std::string(core::to_string(out.snapshot.status)) + "\n\n" +
                 core::markdown_inline(out.snapshot.summary) + "\n";
  for (const core::Issue& i : out.snapshot.issues) {
    out.markdown += "- `" + i.code + "` (" + std::string(core::to_string(i.severity)) +
                    "): " + core::markdown_inline(i.message) + "\n";
  }
  return out;
}

// The whole file; nullopt when it cannot be read.
std::optional<std::string> slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

// One JSON document, or (for a history) a JSON array or JSON lines: the documents, in order.
core::Result<std::vector<nlohmann::json>> documents(const std::string& text, bool many) {
  auto whole = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!whole.is_discarded()) {
    if (many && whole.is_array()) return std::vector<nlohmann::json>(whole.begin(), whole.end());
    return std::vector<nlohmann::json>{std::move(whole)};
  }
  if (!many) return core::fail("invalid_json", "not a JSON document");
  std::vector<nlohmann::json> out;
  std::istringstream lines(text);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      return core::fail("invalid_json", "line " + std::to_string(n) + " is not a JSON document");
    }
    out.push_back(std::move(j));
  }
  return out;
}

void print_gate_text(const readiness::GateDecision& gate, std::ostream& out) {
  out << "\n**Gate:** " << readiness::to_string(gate.decision) << "\n";
  for (const auto& r : gate.blocking_reasons)
    out << "- block `" << r.code << "`: " << r.message << "\n";
  for (const auto& r : gate.warnings) out << "- warn `" << r.code << "`: " << r.message << "\n";
}

}  // namespace

const std::vector<std::string_view>& evaluate_kinds() {
  static const std::vector<std::string_view> kinds = [] {
    std::vector<std::string_view> v;
    for (const Kind& k : kKinds) v.push_back(k.kind);
    return v;
  }();
  return kinds;
}

std::string_view component_of_kind(std::string_view kind) {
  const Kind* k = find_kind(kind);
  return k == nullptr ? std::string_view() : k->component;
}

std::expected<components::Evaluated, DocumentError> evaluate_document(
    std::string_view kind, const std::filesystem::path& input,
    const std::optional<std::filesystem::path>& history_file, const Config& cfg,
    core::TimePoint now) {
  const auto fail = [](int code, std::string message) {
    return std::unexpected(DocumentError{.exit_code = code, .message = std::move(message)});
  };
  const std::string_view name = component_of_kind(kind);
  if (name.empty()) {
    std::string kinds;
    for (const auto k : evaluate_kinds()) kinds += (kinds.empty() ? "" : ", ") + std::string(k);
    return fail(kExitUsage,
                "unknown document kind '" + std::string(kind) + "' (known: " + kinds + ")");
  }
  auto registry = components::Registry::create(cfg.detectors);
  if (!registry) return fail(kExitDataErr, "detectors." + registry.error().describe());
  components::Component* any = registry->find(name);
  if (any == nullptr) {
    return fail(kExitDataErr,
                "component " + std::string(name) + " is disabled in the configuration");
  }
  auto* component = dynamic_cast<components::DocumentComponent*>(any);
  const auto text = slurp(input);
  if (!text) return fail(kExitNoInput, "cannot read " + input.string());
  auto docs = documents(*text, false);
  if (!docs) return fail(kExitDataErr, input.string() + ": " + docs.error().message);
  if (component == nullptr) {
    if (history_file) return fail(kExitUsage, std::string(kind) + " takes no --history");
    auto e = evaluate_as_event(*any, find_kind(kind)->topic, docs->front(), now);
    if (!e) return fail(kExitDataErr, input.string() + ": refused: " + e.error().describe());
    return std::move(*e);
  }
  if (history_file) {
    const auto history_text = slurp(*history_file);
    if (!history_text) return fail(kExitNoInput, "cannot read " + history_file->string());
    auto history = documents(*history_text, true);
    if (!history) {
      return fail(kExitDataErr, history_file->string() + ": " + history.error().message);
    }
    if (auto ok = component->load_history(*history, now); !ok) {
      return fail(kExitDataErr, history_file->string() + ": " + ok.error().describe());
    }
  }
  auto evaluated = component->evaluate(docs->front(), now);
  if (!evaluated) {
    return fail(kExitDataErr, input.string() + ": refused: " + evaluated.error().describe());
  }
  return std::move(*evaluated);
}

int run_evaluate(const EvaluateOptions& o, std::ostream& out, std::ostream& err) {
  if (component_of_kind(o.kind).empty()) {
    std::string kinds;
    for (const auto k : evaluate_kinds()) kinds += (kinds.empty() ? "" : ", ") + std::string(k);
    err << "opsready: unknown document kind '" << o.kind << "' (known: " << kinds << ")\n";
    return kExitUsage;
  }
  if (o.format != "json" && o.format != "markdown") {
    err << "opsready: --format must be json or markdown\n";
    return kExitUsage;
  }
  core::TimePoint now = core::SystemClock::instance().now();
  if (o.now) {
    auto t = core::parse_rfc3339(*o.now);
    if (!t) {
      err << "opsready: --now: " << t.error().message << "\n";
      return kExitUsage;
    }
    now = *t;
  }
  Config cfg;
  if (o.config) {
    auto loaded = load_config_file(*o.config);
    if (!loaded) {
      for (const auto& e : loaded.error()) err << "opsready: " << e.describe() << "\n";
      return kExitDataErr;
    }
    cfg = std::move(*loaded);
  }
  auto evaluated = evaluate_document(o.kind, o.input, o.history, cfg, now);
  if (!evaluated) {
    err << "opsready: " << evaluated.error().message << "\n";
    return evaluated.error().exit_code;
  }
  const std::vector<core::ComponentSnapshot> one{evaluated->snapshot};
  const readiness::ReadinessSnapshot snapshot = readiness::aggregate(one, cfg.gate, now);
  const readiness::GateDecision& gate = snapshot.gate;
  if (o.format == "json") {
    nlohmann::json j = {{"kind", o.kind},
                        {"component", core::to_json(snapshot.components.front())},
                        {"report", evaluated->report},
                        {"gate", readiness::to_json(gate)}};
    out << j.dump(2) << "\n";
  } else {
    out << evaluated->markdown;
    if (!evaluated->markdown.empty() && evaluated->markdown.back() != '\n') out << "\n";
    print_gate_text(gate, out);
  }
  switch (gate.decision) {
    case readiness::GateDecision::Decision::kPass:
      return kExitOk;
    case readiness::GateDecision::Decision::kWarn:
      return o.strict ? kExitWarn : kExitOk;
    case readiness::GateDecision::Decision::kBlock:
      return kExitBlock;
  }
  return kExitBlock;
}

}  // namespace opsready::app
