#pragma once
// Report-driven components: what the components that grade whole documents (system validation,
// incident response, security, backups, the failover drill, cross-region failover, disaster
// recovery, professional readiness) share — reading a document strictly, with the path of the
// offending field; one number-coercion rule; the spec's issue catalog; and the component that
// holds the latest evaluated document.
//
//   components::Doc doc(payload, "");                 // the root; errors name "checks[2].passed"
//   auto total = doc.number("total_checks");          // Result<optional<double>>
//   if (!total) return std::unexpected(total.error());
//   if (auto ok = doc.only({"results", "checks", "total_checks"}); !ok) return ok.error();
//
//   components::Findings f("incident_response");
//   f.add("missing_runbooks", core::Status::kFail, "Missing required runbooks: a",
//         "incident_response.missing_runbooks");
//   f.write_to(snapshot);            // issues (code = alert category, unique), status escalated
//   f.write_metadata(metadata);      // issue_details, issue_counts, issue_catalog, ...
//
// Reading rules (docs/components.md "Reading documents"), the same for every document:
// - a document of the wrong shape is refused, never graded: a key a document kind does not
//   know is an error ("unknown field"), except inside free-form `metadata` / `context`
//   objects; a value of the wrong type is an error naming its path;
// - numbers (core::to_number, the same rule as samples and audit entries): a JSON number, or
//   a string holding one (trimmed, a leading '+' allowed, a trailing '%' divides by 100: "95%"
//   is 0.95); booleans, NaN and infinities are refused;
// - booleans: true/false, 1/0, and the words 1, true, yes, y, on / 0, false, no, n, off
//   (trimmed, any case);
// - string lists: an array of strings (empty items dropped) or one string split on ',' or ';'
//   (items trimmed, empty items dropped);
// - times: RFC 3339; a time without an offset is UTC (the spec's naive datetimes); a trailing
//   'Z' is accepted.
//
// Not thread-safe; plain value types.

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/components/component.h"

namespace opsready::components {

// ---- Reading documents ------------------------------------------------------------------------

// core::to_number: none for anything that is not a number by the rule above.
[[nodiscard]] std::optional<double> document_number(const nlohmann::json& v);
// The boolean rule above: none for anything else.
[[nodiscard]] std::optional<bool> document_bool(const nlohmann::json& v);
// RFC 3339, or ISO 8601 without an offset (UTC); none when it does not parse.
[[nodiscard]] std::optional<core::TimePoint> document_time(std::string_view text);
// core::slug_part: the spec's reason-code slug of one part (§0.2).
[[nodiscard]] std::string slug(std::string_view part);

// One JSON object of a document and its path, for reading fields with errors that name them.
// A null or absent field reads as none (or an empty list); the object must outlive the Doc.
class Doc {
 public:
  // `path` is the object's own path ("" for the root, "checks[2]").
  Doc(const nlohmann::json& object, std::string path);

  // An error whose field is this object's path joined with `key`: code "invalid_document".
  [[nodiscard]] core::Error error(std::string_view key, std::string message) const;
  // The full path of `key` ("checks[2].passed").
  [[nodiscard]] std::string path_of(std::string_view key) const;

  // Refuses the first key not in `known`.
  [[nodiscard]] core::Result<void> only(std::initializer_list<std::string_view> known) const;
  [[nodiscard]] core::Result<void> only(const std::vector<std::string_view>& known) const;
  [[nodiscard]] bool has(std::string_view key) const;                   // present and not null
  [[nodiscard]] const nlohmann::json* get(std::string_view key) const;  // null: absent or null

  [[nodiscard]] core::Result<std::optional<double>> number(std::string_view key) const;
  [[nodiscard]] core::Result<std::optional<bool>> boolean(std::string_view key) const;
  [[nodiscard]] core::Result<std::optional<std::string>> string(std::string_view key) const;
  // A string, or a number/boolean printed as JSON prints it (ids written as numbers).
  [[nodiscard]] core::Result<std::optional<std::string>> text(std::string_view key) const;
  [[nodiscard]] core::Result<std::vector<std::string>> strings(std::string_view key) const;
  [[nodiscard]] core::Result<std::optional<core::TimePoint>> time(std::string_view key) const;
  // A nested object; none when absent. An error when present but not an object.
  [[nodiscard]] core::Result<std::optional<Doc>> object(std::string_view key) const;
  // A nested array; none when absent. An error when present but not an array.
  [[nodiscard]] core::Result<const nlohmann::json*> array(std::string_view key) const;

  [[nodiscard]] const nlohmann::json& json() const { return *object_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  const nlohmann::json* object_;
  std::string path_;
};

// One row of the original's component tables ({name, status, summary, metadata}), as the
// evaluated snapshots of the failover drill, cross-region failover and professional readiness
// carry them.
struct NamedStatus {
  std::string name;
  core::Status status = core::Status::kOk;
  std::string summary;
  nlohmann::json metadata = nlohmann::json::object();

  bool operator==(const NamedStatus&) const = default;
};

// The required status word of `key` (core::parse_status), the error naming its path.
[[nodiscard]] core::Result<core::Status> required_status(const Doc& doc, std::string_view key);
// `doc[key]`, a list of {name (required), status (required), summary?, metadata? (object)},
// unknown keys refused: none when absent.
[[nodiscard]] core::Result<std::vector<NamedStatus>> named_statuses(const Doc& doc,
                                                                    std::string_view key);

// Refuses anything but a JSON object, with `what` in the message ("a backup document").
[[nodiscard]] core::Result<Doc> root_object(const nlohmann::json& doc, std::string_view what);

// ---- The issue catalog ------------------------------------------------------------------------

// One finding of an evaluation: the spec's issue_details entry.
struct Finding {
  std::string category;  // the spec's issue category ("missing_runbooks")
  core::Status severity = core::Status::kWarn;
  std::string message;
  nlohmann::json detail;  // null: none
  std::string code;       // the issue code = alert category ("incident_response.missing_runbooks")
};

// The findings of one evaluation, in rule order.
class Findings {
 public:
  explicit Findings(std::string component) : component_(std::move(component)) {}

  // Adds a finding. `code` is the issue code and alert category; it is made unique within the
  // snapshot by appending ":<n>" for the n-th repeat of the same code (the alert category is
  // the code before the first ':', see alerting/derive.h). An ok finding is kept as an info
  // issue. Constant time per finding.
  void add(std::string category, core::Status severity, std::string message, std::string code,
           nlohmann::json detail = nullptr);

  [[nodiscard]] bool empty() const { return findings_.empty(); }
  [[nodiscard]] const std::vector<Finding>& all() const { return findings_; }
  [[nodiscard]] core::Status worst() const;  // ok when empty
  // The messages, in order (the spec's `issues` list).
  [[nodiscard]] std::vector<std::string> messages() const;

  // Appends one core::Issue per finding (severity by rank, runbook
  // docs/runbooks/<component>.md#<category>) and escalates s.status by worst().
  void write_to(core::ComponentSnapshot& s) const;
  // When there are findings: issue_details [{category, severity (ok/warn/fail), message,
  // detail?}], issue_counts {severity → n}, issue_catalog {category → [entries]},
  // issue_category_severity {category → worst}, highest_issue_severity.
  void write_metadata(nlohmann::json& metadata) const;

 private:
  std::string component_;
  std::vector<Finding> findings_;
  std::unordered_map<std::string, int> uses_;  // code as given → how many findings used it
  std::unordered_set<std::string> emitted_;    // every code handed out
};

// ---- Evaluated documents ----------------------------------------------------------------------

// What a report-driven component makes of one document.
struct Evaluated {
  core::ComponentSnapshot snapshot;  // the readiness component (metadata: the spec's keys)
  nlohmann::json report;             // the spec's as_dict of the evaluated snapshot
  std::string markdown;              // the spec's Markdown
};

// Turns an already-evaluated snapshot (the original platform's as_dict, carrying status,
// generated_at and metadata.issue_details) into a component snapshot: status by
// core::parse_status (pass/ok/warn/fail/...), observed_at from `generated_at` (else
// `received`), issues from metadata.issue_details (severities ok/warn/fail or
// info/warning/critical; code "<code_prefix>.<slug(category)>") or, when there are none, from
// a list of issue strings under `issues_key` with the snapshot's status. `summary` is used as
// given. The report is the document itself; the Markdown is left empty for the caller. With
// `take_issue_details` false (and issues_key ""), the caller derives the findings itself: none
// are read, and metadata.issue_details is left out of the snapshot's metadata.
[[nodiscard]] core::Result<Evaluated> from_evaluated(std::string_view component,
                                                     std::string_view code_prefix,
                                                     const nlohmann::json& doc,
                                                     core::TimePoint received, std::string summary,
                                                     std::string_view issues_key = "issues",
                                                     bool take_issue_details = true);

// What a component hands out for a document it read, in either form, into a report of its own
// whose findings it derives itself (failover drill, cross-region failover, disaster recovery).
struct ReportView {
  core::Status status = core::Status::kOk;
  std::string summary;
  core::TimePoint observed_at{};
  const nlohmann::json* metadata = nullptr;  // the report's metadata (null: none)
};

// The evaluated form goes through from_evaluated (the document is the report, its own issue
// details are not read); the input form becomes a snapshot of `view` with metadata.source
// "input" and `input_report()` as the report. Then `findings` are written to the snapshot and
// its metadata, and `markdown` is the Markdown.
[[nodiscard]] core::Result<Evaluated> evaluated_report(
    std::string_view component, bool evaluated_form, const nlohmann::json& doc, core::TimePoint now,
    const ReportView& view, const std::function<nlohmann::json()>& input_report,
    const Findings& findings, std::string markdown);

// A component fed by whole documents: every event on one of its topics carries one document,
// evaluated on arrival (at the event's time); the latest evaluation is the snapshot. A refused
// document leaves the previous evaluation in place.
class DocumentComponent : public Component {
 public:
  [[nodiscard]] std::string_view name() const override { return name_; }
  [[nodiscard]] std::string_view alert_category() const override { return alert_category_; }
  [[nodiscard]] bool consumes(std::string_view topic) const override;
  [[nodiscard]] core::Result<void> apply(const core::TelemetryEvent& event) override;
  // evaluate() at the event's time, the result dropped.
  [[nodiscard]] core::Result<void> check(const core::TelemetryEvent& event) override;
  [[nodiscard]] bool active() const override { return latest_.has_value(); }
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now, Detail detail) override;
  using Component::snapshot;

  // The latest evaluation; nullptr before the first document.
  [[nodiscard]] const Evaluated* latest() const { return latest_ ? &*latest_ : nullptr; }
  // Evaluates one document as a CLI or an embedder would, without keeping it.
  [[nodiscard]] virtual core::Result<Evaluated> evaluate(const nlohmann::json& doc,
                                                         core::TimePoint now) = 0;
  // Takes earlier documents as history, oldest first, as if each had been applied
  // (`opsready evaluate --history FILE`). Components whose rules use no history refuse it.
  [[nodiscard]] virtual core::Result<void> load_history(const std::vector<nlohmann::json>& docs,
                                                        core::TimePoint now) {
    (void)docs;
    (void)now;
    return core::fail("no_history", "component " + name_ + " keeps no history");
  }

 protected:
  DocumentComponent(std::string name, std::string alert_category, std::vector<std::string> topics);
  // Called with every evaluation apply() keeps (a component with history records it here).
  virtual void kept(const Evaluated& /*e*/) {}

 private:
  std::string name_;
  std::string alert_category_;
  std::vector<std::string> topics_;
  std::optional<Evaluated> latest_;
};

}  // namespace opsready::components
