#include "opsready/components/component.h"

#include <charconv>
#include <cmath>

#include "opsready/core/text.h"

namespace opsready::components {

std::string runbook_path(std::string_view component) {
  return "docs/runbooks/" + std::string(component) + ".md";
}

std::optional<double> coerce_number(const nlohmann::json& v) { return core::to_number(v); }

std::optional<double> number_field(const nlohmann::json& j, std::string_view key) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  return coerce_number(*it);
}

nlohmann::json json_number(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return v;
}

void put_optional(nlohmann::json& j, const char* key, const std::optional<double>& v) {
  if (v) j[key] = json_number(*v);
}

std::string detectors_suffix(const std::vector<std::string>& detectors) {
  if (detectors.empty()) return {};
  std::string out = " (";
  for (std::size_t i = 0; i < detectors.size(); ++i) out += (i ? ", " : "") + detectors[i];
  return out + ")";
}

void DriftFindings::add(const std::string& name, detect::Grade severity, std::string code,
                        const std::vector<std::string>& detectors, nlohmann::json detail) {
  if (severity == detect::Grade::kNormal) return;
  const std::string sev(detect::to_string(severity));
  const std::string suffix = detectors_suffix(detectors);
  parts_.push_back(name + ":" + sev + suffix);
  issues_.push_back({.code = std::move(code),
                     .severity = core::severity_for(detect::to_status(severity)),
                     .message = name + " drift " + sev + suffix,
                     .runbook = runbook_});
  (severity == detect::Grade::kAlert ? fail_ : warn_) += 1;
  detail["severity"] = sev;
  if (!detectors.empty()) detail["detectors"] = detectors;
  details_[name] = std::move(detail);
}

void DriftFindings::write_to(core::ComponentSnapshot& s) const {
  std::vector<std::string> sorted = parts_;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) s.summary += (i ? "; " : "") + sorted[i];
  s.issues.insert(s.issues.end(), issues_.begin(), issues_.end());
}

void DriftFindings::write_metadata(nlohmann::json& metadata) const {
  if (warn_ + fail_ == 0) return;
  nlohmann::json counts = nlohmann::json::object();
  if (warn_) counts["warn"] = warn_;
  if (fail_) counts["fail"] = fail_;
  metadata["issue_counts"] = counts;
  metadata["issue_details"] = details_;
}

namespace {

std::string to_chars_fixed(double v, int decimals) {
  char buf[400];
  const auto [end, ec] =
      std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  if (ec != std::errc()) return "nan";
  return std::string(buf, end);
}

}  // namespace

std::string fixed(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return to_chars_fixed(v, decimals);
}

std::string signed_fixed(double v, int decimals) {
  std::string s = fixed(v, decimals);
  if (!s.empty() && s.front() != '-' && s != "nan") s.insert(s.begin(), '+');
  return s;
}

std::string percent(double ratio, int decimals) { return fixed(ratio * 100.0, decimals) + "%"; }

std::string grouped(double v, int decimals) {
  std::string s = fixed(v, decimals);
  if (!std::isfinite(v)) return s;
  const bool negative = !s.empty() && s.front() == '-';
  const std::size_t start = negative ? 1 : 0;
  std::size_t dot = s.find('.');
  if (dot == std::string::npos) dot = s.size();
  for (std::size_t i = dot; i > start + 3;) {
    i -= 3;
    s.insert(i, 1, ',');
  }
  return s;
}

std::string shortest(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

core::Result<void> check_thresholds(double warn, double alert, std::string_view warn_field,
                                    std::string_view alert_field) {
  if (std::isnan(warn) || warn < 0) {
    return core::fail("invalid_parameter", "must be a number ≥ 0", std::string(warn_field));
  }
  if (std::isnan(alert) || alert < 0) {
    return core::fail("invalid_parameter", "must be a number ≥ 0", std::string(alert_field));
  }
  if (warn > alert) {
    return core::fail(
        "invalid_parameter",
        "must not be above " + std::string(alert_field) + " (" + shortest(alert) + ")",
        std::string(warn_field));
  }
  return {};
}

}  // namespace opsready::components
