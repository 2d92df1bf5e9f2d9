#include "opsready/metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace opsready::metrics {
namespace {

// std::atomic<double>::fetch_add exists in C++20, but a CAS loop is what GCC emits for it
// anyway, and spelling it out keeps the code portable to toolchains that lack the member.
void atomic_add(std::atomic<double>& a, double by) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

bool is_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool is_label_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

void validate(const std::string& name, const std::vector<std::string>& labels, bool histogram) {
  if (!is_metric_name(name)) {
    throw std::invalid_argument("invalid metric name '" + name +
                                "' (want [a-zA-Z_:][a-zA-Z0-9_:]*)");
  }
  std::set<std::string_view> seen;
  for (const auto& l : labels) {
    if (!is_label_name(l)) {
      throw std::invalid_argument("invalid label name '" + l + "' on metric '" + name +
                                  "' (want [a-zA-Z_][a-zA-Z0-9_]*)");
    }
    if (l.starts_with("__")) {
      throw std::invalid_argument("label name '" + l + "' on metric '" + name +
                                  "' uses the reserved '__' prefix");
    }
    if (histogram && l == "le") {
      throw std::invalid_argument("label name 'le' on histogram '" + name +
                                  "' is reserved for bucket bounds");
    }
    if (!seen.insert(l).second) {
      throw std::invalid_argument("duplicate label name '" + l + "' on metric '" + name + "'");
    }
  }
}

void validate_buckets(const std::vector<double>& b) {
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (!std::isfinite(b[i])) {
      throw std::invalid_argument("histogram bucket bounds must be finite (+Inf is implied)");
    }
    if (i > 0 && !(b[i - 1] < b[i])) {
      throw std::invalid_argument("histogram bucket bounds must be strictly increasing");
    }
  }
}

// Prometheus text format numbers: Go's ParseFloat reads what to_chars writes (shortest
// round-trip, "1e+06" style exponents), and to_chars ignores the global locale by definition,
// so a de_DE process still prints "0.5", not "0,5".
void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_help(std::string& out, std::string_view help) {
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_label_value(std::string& out, std::string_view v) {
  for (const char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// `name{a="x",b="y"<extra>} value\n`; braces are left out when there are no labels at all.
void append_sample_head(std::string& out, std::string_view name, std::string_view suffix,
                        const std::vector<std::string>& labels,
                        const std::vector<std::string>& values, std::string_view extra_label = {},
                        std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  if (labels.empty() && extra_label.empty()) {
    out += ' ';
    return;
  }
  out += '{';
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i];
    out += "=\"";
    append_label_value(out, values[i]);
    out += '"';
  }
  if (!extra_label.empty()) {
    if (!labels.empty()) out += ',';
    out += extra_label;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += "} ";
}

void append_header(std::string& out, const std::string& name, const std::string& help,
                   std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_help(out, help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

void Counter::inc(double by) {
  // `!(by >= 0)` also drops NaN, which would otherwise stick to the counter for good.
  if (!(by >= 0)) return;
  atomic_add(value_, by);
}

void Gauge::inc(double by) { atomic_add(value_, by); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  validate_buckets(bounds_);
}

void Histogram::observe(double v) {
  // Buckets are stored per interval (not cumulative) so one observation touches one counter;
  // cumulative_counts() sums them. NaN compares false everywhere and lands in +Inf.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

template <typename Child>
Family<Child>::Family(std::string name, std::string help, std::vector<std::string> labels,
                      std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      labels_(std::move(labels)),
      buckets_(std::move(buckets)) {}

template <typename Child>
Child& Family<Child>::with(const std::vector<std::string>& values) {
  if (values.size() != labels_.size()) {
    throw std::invalid_argument("metric '" + name_ + "' takes " + std::to_string(labels_.size()) +
                                " label values, got " + std::to_string(values.size()));
  }
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) {
    std::unique_ptr<Child> child;
    if constexpr (std::is_same_v<Child, Histogram>) {
      child = std::make_unique<Histogram>(buckets_);
    } else {
      child = std::make_unique<Child>();
    }
    it = children_.emplace(values, std::move(child)).first;
  }
  return *it->second;
}

template <typename Child>
void Family<Child>::remove(const std::vector<std::string>& values) {
  std::lock_guard lock(mu_);
  children_.erase(values);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

namespace {

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, const std::vector<double>& /*bounds*/,
                  const Counter& c) {
  append_sample_head(out, name, "", labels, values);
  append_double(out, c.value());
  out += '\n';
}

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, const std::vector<double>& /*bounds*/,
                  const Gauge& g) {
  append_sample_head(out, name, "", labels, values);
  append_double(out, g.value());
  out += '\n';
}

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, const std::vector<double>& bounds,
                  const Histogram& h) {
  const auto counts = h.cumulative_counts();
  std::string le;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    le.clear();
    if (i < bounds.size()) {
      append_double(le, bounds[i]);
    } else {
      le = "+Inf";
    }
    append_sample_head(out, name, "_bucket", labels, values, "le", le);
    append_uint(out, counts[i]);
    out += '\n';
  }
  append_sample_head(out, name, "_sum", labels, values);
  append_double(out, h.sum());
  out += '\n';
  // _count is the +Inf bucket rather than count(): the fields are read without a common lock,
  // and a scrape must never show the +Inf bucket disagreeing with _count.
  append_sample_head(out, name, "_count", labels, values);
  append_uint(out, counts.back());
  out += '\n';
}

constexpr std::string_view type_name(const CounterFamily*) { return "counter"; }
constexpr std::string_view type_name(const GaugeFamily*) { return "gauge"; }
constexpr std::string_view type_name(const HistogramFamily*) { return "histogram"; }

// Series names a family writes; a histogram also owns name_bucket/_sum/_count, so a gauge
// "x_count" beside a histogram "x" would give one series name two TYPE lines.
std::vector<std::string> series_names(const std::string& name, bool histogram) {
  if (!histogram) return {name};
  return {name, name + "_bucket", name + "_sum", name + "_count"};
}

template <typename C, typename G, typename H>
void check_unique(const C& counters, const G& gauges, const H& histograms, const std::string& name,
                  bool histogram) {
  std::set<std::string> taken;
  for (const auto& [n, f] : counters) taken.insert(n);
  for (const auto& [n, f] : gauges) taken.insert(n);
  for (const auto& [n, f] : histograms) {
    for (auto& s : series_names(n, true)) taken.insert(std::move(s));
  }
  for (const auto& s : series_names(name, histogram)) {
    if (taken.contains(s)) {
      throw std::invalid_argument(s == name ? "metric '" + name + "' is already registered"
                                            : "metric '" + name + "' would write series '" + s +
                                                  "', which another family already writes");
    }
  }
}

}  // namespace

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> labels) {
  validate(name, labels, false);
  std::lock_guard lock(mu_);
  check_unique(counters_, gauges_, histograms_, name, false);
  // Not make_unique: the constructor is private to Registry.
  std::unique_ptr<CounterFamily> fam(new CounterFamily(name, std::move(help), std::move(labels)));
  return *counters_.emplace(std::move(name), std::move(fam)).first->second;
}

GaugeFamily& Registry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
  validate(name, labels, false);
  std::lock_guard lock(mu_);
  check_unique(counters_, gauges_, histograms_, name, false);
  std::unique_ptr<GaugeFamily> fam(new GaugeFamily(name, std::move(help), std::move(labels)));
  return *gauges_.emplace(std::move(name), std::move(fam)).first->second;
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<double> buckets, std::vector<std::string> labels) {
  validate(name, labels, true);
  validate_buckets(buckets);
  std::lock_guard lock(mu_);
  check_unique(counters_, gauges_, histograms_, name, true);
  std::unique_ptr<HistogramFamily> fam(
      new HistogramFamily(name, std::move(help), std::move(labels), std::move(buckets)));
  return *histograms_.emplace(std::move(name), std::move(fam)).first->second;
}

std::string Registry::expose() const {
  using AnyFamily = std::variant<const CounterFamily*, const GaugeFamily*, const HistogramFamily*>;
  std::lock_guard lock(mu_);
  // Families sorted by name across the three kinds (names are unique across kinds).
  std::map<std::string_view, AnyFamily> order;
  for (const auto& [n, f] : counters_) order.emplace(n, f.get());
  for (const auto& [n, f] : gauges_) order.emplace(n, f.get());
  for (const auto& [n, f] : histograms_) order.emplace(n, f.get());

  std::string out;
  for (const auto& [n, any] : order) {
    std::visit(
        [&out](const auto* fam) {
          append_header(out, fam->name_, fam->help_, type_name(fam));
          // The family's lock only keeps its child map stable while we walk it; values are
          // read atomically, so updates keep going during a scrape.
          std::lock_guard family_lock(fam->mu_);
          for (const auto& [values, child] : fam->children_) {
            render_child(out, fam->name_, fam->labels_, values, fam->buckets_, *child);
          }
        },
        any);
  }
  return out;
}

std::vector<Registry::Sample> Registry::samples(std::string_view name) const {
  std::vector<Sample> out;
  const auto collect = [&out](const auto& fam) {
    std::lock_guard family_lock(fam.mu_);
    for (const auto& [values, child] : fam.children_) {
      Sample s{.value = child->value()};
      for (std::size_t i = 0; i < values.size() && i < fam.labels_.size(); ++i) {
        s.labels.emplace_back(fam.labels_[i], values[i]);
      }
      out.push_back(std::move(s));
    }
  };
  std::lock_guard lock(mu_);
  if (const auto it = counters_.find(std::string(name)); it != counters_.end()) {
    collect(*it->second);
  } else if (const auto g = gauges_.find(std::string(name)); g != gauges_.end()) {
    collect(*g->second);
  }
  return out;
}

std::vector<double> default_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace opsready::metrics
