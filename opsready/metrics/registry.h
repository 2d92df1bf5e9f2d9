#pragma once
// Metrics registry and Prometheus text exposition (format 0.0.4).
//
//   Registry reg;
//   auto& events = reg.counter("opsready_events_received_total", "Events accepted.", {"topic"});
//   events.with({"telemetry.ingest.health"}).inc();
//   auto& status = reg.gauge("opsready_component_status", "0 ok, 1 warn, 2 fail.", {"component"});
//   status.with({"incident_response"}).set(2);
//   std::string body = reg.expose();   // serve with kContentType
//
// Names are checked when a family is registered (metric [a-zA-Z_:][a-zA-Z0-9_:]*, labels
// [a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix, "le" reserved for histograms); a bad name, a
// duplicate family or a label-count mismatch throws std::invalid_argument at registration —
// a programming error on the control plane, never at scrape time. Updating a child (inc, set,
// observe) is lock-free; creating a child takes the family's mutex. Families and children live
// as long as the Registry; references stay valid. Thread-safe throughout.
// Exposition uses the classic locale, shortest round-trip numbers, NaN/+Inf/-Inf, escapes
// help text and label values, sorts families by name and children by label values, and ends
// with a newline, so `promtool check metrics` accepts it.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace opsready::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

class Counter {
 public:
  void inc(double by = 1.0);  // by < 0 is ignored (counters only go up)
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1.0);
  void dec(double by = 1.0) { inc(-by); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  [[nodiscard]] const std::vector<double>& upper_bounds() const { return bounds_; }
  // Cumulative counts per bound (the +Inf bucket last), sum and count, read consistently
  // enough for exposition (each field atomically).
  [[nodiscard]] std::vector<std::uint64_t> cumulative_counts() const;
  [[nodiscard]] double sum() const { return sum_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

template <typename Child>
class Family {
 public:
  // The child for these label values (created on first use). values.size() must equal the
  // family's label count, else std::invalid_argument.
  Child& with(const std::vector<std::string>& values);
  // Removes a child (e.g. a component that no longer exists); no-op when absent. References
  // to the removed child dangle: only remove children nothing else still updates.
  void remove(const std::vector<std::string>& values);
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> buckets = {});
  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::vector<double> buckets_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_;
};

// Defined and explicitly instantiated in registry.cc for these three children only.
extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> labels = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  // Buckets must be strictly increasing and finite; +Inf is implied.
  HistogramFamily& histogram(std::string name, std::string help, std::vector<double> buckets,
                             std::vector<std::string> labels = {});

  // The whole registry in Prometheus text format 0.0.4.
  [[nodiscard]] std::string expose() const;

  // The current value of every series of counter or gauge `name` (none for a histogram or an
  // unknown name), each with its labels: what a drill's metric check reads.
  struct Sample {
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
  };
  [[nodiscard]] std::vector<Sample> samples(std::string_view name) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<CounterFamily>> counters_;
  std::map<std::string, std::unique_ptr<GaugeFamily>> gauges_;
  std::map<std::string, std::unique_ptr<HistogramFamily>> histograms_;
};

// Default latency buckets (seconds), Prometheus client defaults.
[[nodiscard]] std::vector<double> default_buckets();

}  // namespace opsready::metrics
