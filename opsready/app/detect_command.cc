#include "opsready/app/detect_command.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <ostream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/app/commands.h"
#include "opsready/components/component.h"
#include "opsready/core/text.h"
#include "opsready/detect/cusum.h"
#include "opsready/detect/page_hinkley.h"
#include "opsready/detect/psi.h"
#include "opsready/detect/rolling_variance.h"
#include "opsready/detect/stats.h"

namespace opsready::app {
namespace {

struct Detection {
  std::uint64_t index = 0;
  detect::Direction direction = detect::Direction::kNone;
  double statistic = 0;
  std::string_view level;
};

struct Series {
  std::vector<double> values;
};

// Splits one CSV line (RFC 4180 quoting within the line); none on an unterminated quote.
std::optional<std::vector<std::string>> split_csv(std::string_view line) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  while (true) {
    std::string field;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        field += line[i++];
      }
      if (!closed) return std::nullopt;
      while (i < line.size() && line[i] != ',') ++i;
    } else {
      const std::size_t start = i;
      while (i < line.size() && line[i] != ',') ++i;
      field = std::string(core::trim(line.substr(start, i - start)));
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

// Reads one numeric column; on error writes "opsready: FILE:LINE: ..." and returns the exit code.
std::expected<Series, int> read_column(const std::filesystem::path& path, const std::string& column,
                                       std::ostream& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << "opsready: " << path.string() << ": cannot open the file for reading\n";
    return std::unexpected(kExitNoInput);
  }
  const std::string name = path.string();
  const auto fail = [&](std::size_t line, const std::string& message) {
    err << "opsready: " << name << ":" << line << ": " << message << "\n";
    return std::unexpected(kExitDataErr);
  };
  Series s;
  std::string line;
  std::size_t line_no = 0;
  std::optional<std::size_t> col;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (core::trim(line).empty()) continue;
    auto fields = split_csv(line);
    if (!fields) return fail(line_no, "unterminated quoted field");
    if (!col) {
      for (std::size_t k = 0; k < fields->size(); ++k) {
        if ((*fields)[k] == column) {
          col = k;
          break;
        }
      }
      if (!col) {
        std::string names;
        for (const auto& f : *fields) names += (names.empty() ? "" : ", ") + f;
        return fail(line_no, "no column '" + column + "' in the header (columns: " + names +
                                 "); choose one with --column");
      }
      continue;
    }
    if (*col >= fields->size()) {
      return fail(line_no, "the row has " + std::to_string(fields->size()) + " field(s); column '" +
                               column + "' is field " + std::to_string(*col + 1));
    }
    std::string_view text = (*fields)[*col];
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
      return fail(line_no, "column '" + column + "': '" + (*fields)[*col] + "' is not a number");
    }
    s.values.push_back(v);
  }
  if (!col) return fail(line_no == 0 ? 1 : line_no, "no header line (the file is empty)");
  return s;
}

std::string option_name(std::string_view field) {
  std::string out = "--";
  for (char c : field) out += c == '_' ? '-' : c;
  return out;
}

int usage_error(const core::Error& e, std::ostream& err) {
  err << "opsready: " << option_name(e.field) << ": " << e.message << "\n";
  return kExitUsage;
}

double side_statistic(detect::Direction d, double up, double down) {
  switch (d) {
    case detect::Direction::kUp:
      return up;
    case detect::Direction::kDown:
      return down;
    default:
      return std::max(up, down);
  }
}

}  // namespace

int run_detect(const DetectOptions& o, std::ostream& out, std::ostream& err) {
  if (o.format != "csv" && o.format != "json") {
    err << "opsready: --format: must be csv or json\n";
    return kExitUsage;
  }
  detect::Mode mode = detect::Mode::kBoth;
  if (o.mode) {
    auto m = detect::parse_mode(*o.mode);
    if (!m) return usage_error({.message = m.error().message, .field = "mode"}, err);
    mode = *m;
  }
  nlohmann::json params = nlohmann::json::object();
  std::vector<Detection> found;
  std::uint64_t refused = 0;

  // Parameters are checked before the input is read, so a usage error never waits on a file.
  std::optional<detect::PageHinkley> ph;
  std::optional<detect::Cusum> cusum;
  std::optional<detect::RollingVariance> variance;
  detect::PsiConfig psi_config;
  std::uint32_t psi_baseline = 120;
  std::uint32_t psi_window = 24;
  if (o.detector == "page-hinkley") {
    detect::PageHinkleyConfig c;
    if (o.min_instances) c.min_instances = *o.min_instances;
    if (o.delta) c.delta = *o.delta;
    if (o.threshold) c.threshold = *o.threshold;
    if (o.alpha) c.alpha = *o.alpha;
    c.mode = mode;
    auto made = detect::PageHinkley::create(c);
    if (!made) return usage_error(made.error(), err);
    ph = *made;
    params = {{"min_instances", c.min_instances},
              {"delta", c.delta},
              {"threshold", components::json_number(c.threshold)},
              {"alpha", c.alpha},
              {"mode", detect::to_string(c.mode)}};
  } else if (o.detector == "cusum") {
    detect::CusumConfig c;
    if (o.min_instances) c.min_instances = *o.min_instances;
    if (o.slack) c.slack = *o.slack;
    if (o.threshold) c.threshold = *o.threshold;
    c.mode = mode;
    auto made = detect::Cusum::create(c);
    if (!made) return usage_error(made.error(), err);
    cusum = *made;
    params = {{"min_instances", c.min_instances},
              {"slack", c.slack},
              {"threshold", components::json_number(c.threshold)},
              {"mode", detect::to_string(c.mode)}};
  } else if (o.detector == "variance") {
    detect::RollingVarianceConfig c;
    if (o.baseline_window) c.baseline_window = *o.baseline_window;
    if (o.evaluation_window) c.evaluation_window = *o.evaluation_window;
    if (o.warn_ratio) c.warn_ratio = *o.warn_ratio;
    if (o.alert_ratio) c.alert_ratio = *o.alert_ratio;
    auto made = detect::RollingVariance::create(c);
    if (!made) return usage_error(made.error(), err);
    variance.emplace(std::move(*made));
    params = {{"baseline_window", c.baseline_window},
              {"evaluation_window", c.evaluation_window},
              {"warn_ratio", components::json_number(c.warn_ratio)},
              {"alert_ratio", components::json_number(c.alert_ratio)}};
  } else if (o.detector == "psi") {
    if (o.buckets) psi_config.buckets = *o.buckets;
    if (o.epsilon) psi_config.epsilon = *o.epsilon;
    if (o.alert) psi_config.alert = *o.alert;
    if (auto ok = detect::validate(psi_config); !ok) return usage_error(ok.error(), err);
    if (o.baseline) psi_baseline = *o.baseline;
    if (o.window) psi_window = *o.window;
    if (psi_baseline < 2) {
      return usage_error({.message = "must be at least 2 samples", .field = "baseline"}, err);
    }
    if (psi_window < 1)
      return usage_error({.message = "must be at least 1 sample", .field = "window"}, err);
    params = {{"baseline", psi_baseline},
              {"window", psi_window},
              {"buckets", psi_config.buckets},
              {"epsilon", psi_config.epsilon},
              {"alert", components::json_number(psi_config.alert)}};
  } else {
    err << "opsready: unknown detector '" << o.detector
        << "' (expected page-hinkley, cusum, variance or psi)\n";
    return kExitUsage;
  }

  auto series = read_column(o.input, o.column, err);
  if (!series) return series.error();
  const std::vector<double>& xs = series->values;

  if (ph) {
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (ph->update(xs[i]) != detect::Outcome::kDrift) continue;
      const auto d = ph->direction();
      found.push_back(
          {i, d, side_statistic(d, ph->increase_statistic(), ph->decrease_statistic()), "drift"});
    }
    refused = ph->refused();
  } else if (cusum) {
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (cusum->update(xs[i]) != detect::Outcome::kDrift) continue;
      const auto d = cusum->direction();
      // In reference standard deviations, so it reads against --threshold (h).
      const double sigma = cusum->sigma();
      const double up = sigma > 0 ? cusum->sum_increase() / sigma : cusum->sum_increase();
      const double down = sigma > 0 ? cusum->sum_decrease() / sigma : cusum->sum_decrease();
      found.push_back({i, d, side_statistic(d, up, down), "drift"});
    }
    refused = cusum->refused();
  } else if (variance) {
    detect::Grade previous = detect::Grade::kNormal;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const detect::Grade g = variance->update(xs[i]);
      if (g == detect::Grade::kRefused) continue;
      if (g > previous) {
        found.push_back({i, detect::Direction::kUp, *variance->ratio(), detect::to_string(g)});
      }
      previous = g;
    }
    refused = variance->refused();
  } else {
    const std::size_t b = std::min<std::size_t>(psi_baseline, xs.size());
    const std::span<const double> all(xs);
    for (double x : all.first(b)) refused += std::isfinite(x) ? 0 : 1;
    if (xs.size() >= std::size_t{psi_baseline} + psi_window) {
      auto base = detect::PsiBaseline::create(all.first(b), psi_config);
      if (!base) {
        err << "opsready: " << o.input.string() << ": the baseline (the first " << psi_baseline
            << " samples) needs at least two finite values\n";
        return kExitDataErr;
      }
      const double base_mean = detect::mean(all.first(b)).value_or(0.0);
      detect::PsiMonitor monitor(std::move(*base));
      for (std::size_t start = b; start + psi_window <= xs.size(); start += psi_window) {
        monitor.reset();
        detect::ExactSum sum;
        std::size_t n = 0;
        for (double x : all.subspan(start, psi_window)) {
          if (monitor.update(x) == detect::Outcome::kRefused) continue;
          sum.add(x);
          ++n;
        }
        const auto value = monitor.value();
        if (!value || *value < psi_config.alert) continue;
        const double m = sum.value() / static_cast<double>(n);
        const auto d = m > base_mean   ? detect::Direction::kUp
                       : m < base_mean ? detect::Direction::kDown
                                       : detect::Direction::kNone;
        found.push_back({start + psi_window - 1, d, *value, "alert"});
      }
      refused += monitor.refused();
    }
  }

  if (o.format == "csv") {
    std::string text = "index,direction,statistic,level\n";
    for (const auto& f : found) {
      text += std::to_string(f.index) + "," + std::string(detect::to_string(f.direction)) + "," +
              components::shortest(f.statistic) + "," + std::string(f.level) + "\n";
    }
    out << text;
  } else {
    nlohmann::json detections = nlohmann::json::array();
    for (const auto& f : found) {
      detections.push_back({{"index", f.index},
                            {"direction", detect::to_string(f.direction)},
                            {"statistic", components::json_number(f.statistic)},
                            {"level", f.level}});
    }
    const nlohmann::json doc = {{"detector", o.detector},  {"input", o.input.string()},
                                {"column", o.column},      {"parameters", params},
                                {"samples", xs.size()},    {"refused", refused},
                                {"detections", detections}};
    out << doc.dump(2) << "\n";
  }
  return kExitOk;
}

}  // namespace opsready::app
