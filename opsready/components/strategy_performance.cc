#include "opsready/components/strategy_performance.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

constexpr std::string_view kTradeTopic = "telemetry.strategy.trade";
constexpr std::string_view kRegimeTopic = "telemetry.strategy.regime_evaluation";
constexpr std::string_view kDriftTopic = "telemetry.strategy.drift_evaluation";

constexpr std::array<std::string_view, 7> kFastWeightMeanKeys = {
    "total",   "active", "dormant", "inhibitory", "suppressed_inhibitory", "active_percentage",
    "sparsity"};

double clip01(double v) { return std::clamp(v, 0.0, 1.0); }

// A ratio written as a number or a string with a unit suffix (§8.2): "%" ÷ 100, "bps"/"bp"
// ÷ 10 000, "pip"/"pips" ÷ 10 000 (one pip as one basis point; the spec's 104 is a typo of
// 10_000), anything else parsed as a number.
std::optional<double> parse_ratio(const nlohmann::json& v) {
  if (!v.is_string()) return coerce_number(v);
  std::string s = core::to_lower(core::trim(v.get_ref<const std::string&>()));
  double divisor = 1.0;
  const auto strip = [&](std::string_view suffix, double d) {
    if (s.size() > suffix.size() && s.ends_with(suffix)) {
      s.resize(s.size() - suffix.size());
      divisor = d;
      return true;
    }
    return false;
  };
  strip("%", 100.0) || strip("bps", 10000.0) || strip("bp", 10000.0) || strip("pips", 10000.0) ||
      strip("pip", 10000.0);
  const auto x = coerce_number(nlohmann::json(std::string(core::trim(s))));
  if (!x) return std::nullopt;
  return *x / divisor;
}

std::optional<double> first_nonzero_abs(const nlohmann::json& m,
                                        std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (auto v = number_field(m, k); v && *v != 0.0) return std::fabs(*v);
  }
  return std::nullopt;
}

std::string iso(core::TimePoint t) { return core::format_rfc3339(t); }

std::optional<double> ratio_or_none(double num, double den) {
  if (den > 0) return num / den;
  return std::nullopt;
}

void put(nlohmann::json& j, const char* key, const std::optional<double>& v) {
  if (v) j[key] = json_number(*v);
}

}  // namespace

std::string_view to_string(RoiStatus s) {
  switch (s) {
    case RoiStatus::kAhead:
      return "ahead";
    case RoiStatus::kTracking:
      return "tracking";
    case RoiStatus::kAtRisk:
      return "at_risk";
  }
  return "at_risk";
}

core::Result<void> validate(const StrategyPerformanceConfig& c) {
  const auto nonneg = [](double v, const char* field) -> core::Result<void> {
    if (!std::isfinite(v) || v < 0) {
      return core::fail("invalid_parameter", "must be a finite number ≥ 0", field);
    }
    return {};
  };
  if (auto ok = nonneg(c.initial_capital, "initial_capital"); !ok) return ok;
  if (!std::isfinite(c.roi.target_annual_roi)) {
    return core::fail("invalid_parameter", "must be a finite number", "roi.target_annual_roi");
  }
  if (auto ok = nonneg(c.roi.fee_flat, "roi.fee_flat"); !ok) return ok;
  if (auto ok = nonneg(c.roi.fee_bps, "roi.fee_bps"); !ok) return ok;
  if (auto ok = nonneg(c.roi.daily_infra_cost, "roi.daily_infra_cost"); !ok) return ok;
  if (c.baseline_window < 1)
    return core::fail("invalid_parameter", "must be ≥ 1", "baseline_window");
  if (c.baseline_min_trades < 1) {
    return core::fail("invalid_parameter", "must be ≥ 1", "baseline_min_trades");
  }
  if (auto ok = nonneg(c.baseline_tolerance_ratio, "baseline_tolerance_ratio"); !ok) return ok;
  if (auto ok = nonneg(c.baseline_min_gap, "baseline_min_gap"); !ok) return ok;
  if (auto ok = nonneg(c.baseline_default_spread_bps, "baseline_default_spread_bps"); !ok) {
    return ok;
  }
  if (c.max_strategies < 1) return core::fail("invalid_parameter", "must be ≥ 1", "max_strategies");
  return {};
}

std::optional<double> infer_baseline_return(const nlohmann::json& m,
                                            std::optional<double> fallback) {
  if (!m.is_object() || m.empty()) return fallback;
  const auto hit = [](std::optional<double> v) -> std::optional<double> {
    if (v && std::isfinite(*v)) return clip01(*v);
    return std::nullopt;
  };
  for (const char* k : {"baseline_expected_return", "baseline_return", "expected_return",
                        "target_return", "spread_return_pct", "spread_pct", "mean_revert_return"}) {
    if (const auto it = m.find(k); it != m.end()) {
      if (auto v = hit(parse_ratio(*it))) return v;
    }
  }
  for (const char* k : {"spread_bps", "baseline_spread_bps", "expected_spread_bps", "spread_pips",
                        "baseline_spread_pips"}) {
    if (auto v = hit(number_field(m, k).transform([](double x) { return x / 10000.0; }))) return v;
  }
  const auto price = first_nonzero_abs(m, {"mid_price", "reference_price", "entry_price", "price"});
  const auto tick = first_nonzero_abs(m, {"tick_size", "tick_value", "price_increment"});
  if (price && tick) {
    for (const char* k : {"spread_ticks", "edge_ticks", "baseline_edge_ticks"}) {
      if (auto ticks = number_field(m, k)) {
        if (auto v = hit(std::fabs(*ticks) * *tick / *price)) return v;
        break;
      }
    }
  }
  if (price) {
    for (const char* k : {"spread", "bid_ask_spread", "price_spread"}) {
      if (auto spread = number_field(m, k)) {
        if (auto v = hit(std::fabs(*spread) / *price)) return v;
        break;
      }
    }
  }
  return fallback;
}

RoiPosture evaluate_roi_posture(double initial_capital, double total_pnl, std::uint64_t trades,
                                double total_notional, core::TimePoint period_start,
                                core::TimePoint as_of, const RoiCostModel& model) {
  RoiPosture p;
  const double elapsed = core::to_seconds(as_of - period_start);
  p.days_active = std::max(elapsed / 86400.0, 1.0 / 24.0);
  p.initial_capital = initial_capital;
  p.current_equity = initial_capital + total_pnl;
  p.gross_pnl = total_pnl;
  p.executed_trades = trades;
  p.total_notional = total_notional;
  p.fees = static_cast<double>(trades) * model.fee_flat + total_notional * model.fee_bps / 10000.0;
  p.infrastructure_cost = model.daily_infra_cost * p.days_active;
  p.net_pnl = p.gross_pnl - p.fees - p.infrastructure_cost;
  const double cap = std::max(initial_capital, 1e-9);
  p.roi = p.net_pnl / cap;
  p.gross_roi = p.gross_pnl / cap;
  p.annualised_roi = p.roi * 365.25 / p.days_active;
  p.gross_annualised_roi = p.gross_roi * 365.25 / p.days_active;
  p.breakeven_daily_return = (model.daily_infra_cost + p.fees / p.days_active) / cap;
  p.target_annual_roi = model.target_annual_roi;
  p.status = p.annualised_roi >= model.target_annual_roi         ? RoiStatus::kAhead
             : p.annualised_roi >= 0.5 * model.target_annual_roi ? RoiStatus::kTracking
                                                                 : RoiStatus::kAtRisk;
  return p;
}

nlohmann::json to_json(const RoiPosture& p, core::TimePoint generated_at) {
  return {{"status", to_string(p.status)},
          {"generated_at", iso(generated_at)},
          {"initial_capital", p.initial_capital},
          {"current_equity", p.current_equity},
          {"gross_pnl", p.gross_pnl},
          {"net_pnl", p.net_pnl},
          {"infrastructure_cost", p.infrastructure_cost},
          {"fees", p.fees},
          {"days_active", p.days_active},
          {"executed_trades", p.executed_trades},
          {"total_notional", p.total_notional},
          {"roi", p.roi},
          {"annualised_roi", p.annualised_roi},
          {"gross_roi", p.gross_roi},
          {"gross_annualised_roi", p.gross_annualised_roi},
          {"breakeven_daily_return", p.breakeven_daily_return},
          {"target_annual_roi", p.target_annual_roi}};
}

void StrategyPerformance::FastWeightMetrics::add(const nlohmann::json& metrics) {
  if (!metrics.is_object()) return;
  bool any = false;
  for (std::string_view key : kFastWeightMeanKeys) {
    if (auto v = number_field(metrics, key)) {
      auto& [sum, n] = sums[std::string(key)];
      sum += *v;
      ++n;
      any = true;
    }
  }
  if (auto v = number_field(metrics, "max_multiplier")) {
    max_multiplier = max_multiplier ? std::max(*max_multiplier, *v) : *v;
    any = true;
  }
  if (auto v = number_field(metrics, "min_multiplier")) {
    min_multiplier = min_multiplier ? std::min(*min_multiplier, *v) : *v;
    any = true;
  }
  if (any) ++samples;
}

nlohmann::json StrategyPerformance::FastWeightMetrics::to_json() const {
  nlohmann::json j = {{"samples", samples}};
  for (const auto& [key, sn] : sums) j[key + "_mean"] = sn.first / static_cast<double>(sn.second);
  if (max_multiplier) j["max_multiplier"] = *max_multiplier;
  if (min_multiplier) j["min_multiplier"] = *min_multiplier;
  return j;
}

void StrategyPerformance::FastWeight::add(std::optional<bool> enabled,
                                          const nlohmann::json* metrics,
                                          const nlohmann::json* summary) {
  ++toggles[!enabled ? "unknown" : *enabled ? "enabled" : "disabled"];
  if (metrics) this->metrics.add(*metrics);
  if (!summary || !summary->is_object()) return;
  const nlohmann::json* adapters = summary;
  if (const auto it = summary->find("adapters"); it != summary->end() && it->is_object()) {
    adapters = &*it;
  }
  for (const auto& [id, a] : adapters->items()) {
    const auto current = number_field(a, "current_multiplier");
    if (!current) continue;
    Hebbian& h = hebbian[id];
    const auto add = [&h](const char* key, double v) {
      auto& [sum, n] = h.sums[key];
      sum += v;
      ++n;
    };
    add("current_multiplier", *current);
    if (auto prev = number_field(a, "previous_multiplier")) {
      add("previous_multiplier", *prev);
      add("delta", *current - *prev);
    }
    if (auto f = number_field(a, "feature_value")) add("feature_value", *f);
    h.max_multiplier = h.samples == 0 ? *current : std::max(h.max_multiplier, *current);
    h.min_multiplier = h.samples == 0 ? *current : std::min(h.min_multiplier, *current);
    h.last_multiplier = *current;
    ++h.samples;
  }
}

nlohmann::json StrategyPerformance::FastWeight::to_json() const {
  nlohmann::json j = {{"toggle_counts", toggles}};
  if (metrics.samples > 0) j["metrics"] = metrics.to_json();
  if (!hebbian.empty()) {
    nlohmann::json adapters = nlohmann::json::object();
    for (const auto& [id, h] : hebbian) {
      nlohmann::json a = {{"samples", h.samples},
                          {"max_multiplier", h.max_multiplier},
                          {"min_multiplier", h.min_multiplier},
                          {"last_multiplier", h.last_multiplier}};
      for (const auto& [key, sn] : h.sums) {
        a[key + "_mean"] = sn.first / static_cast<double>(sn.second);
      }
      adapters[id] = a;
    }
    j["hebbian_adapters"] = adapters;
  }
  return j;
}

void StrategyPerformance::Drawdown::add(double pnl) {
  cum += pnl;
  peak = std::max(peak, cum);
  max = std::max(max, peak - cum);
}

StrategyPerformance::StrategyPerformance(const StrategyPerformanceConfig& config)
    : config_(config) {
  if (config_.baseline_default_spread_bps > 0) {
    default_baseline_ = config_.baseline_default_spread_bps / 10000.0;
  }
}

core::Result<std::unique_ptr<StrategyPerformance>> StrategyPerformance::create(
    const StrategyPerformanceConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<StrategyPerformance>(new StrategyPerformance(config));
}

bool StrategyPerformance::consumes(std::string_view topic) const {
  return topic == kTradeTopic || topic == kRegimeTopic || topic == kDriftTopic;
}

core::Result<void> StrategyPerformance::apply_trade(const core::TelemetryEvent& event) {
  const auto& p = event.payload;
  const auto id_it = p.find("strategy_id");
  if (id_it == p.end() || !id_it->is_string() || id_it->get_ref<const std::string&>().empty() ||
      id_it->get_ref<const std::string&>().size() > 128) {
    return core::fail("missing_field", "a trade needs a strategy_id (1 to 128 characters)",
                      "payload.strategy_id");
  }
  const std::string& id = id_it->get_ref<const std::string&>();
  const auto pnl = number_field(p, "pnl");
  if (!pnl) return core::fail("wrong_type", "a trade needs a finite numeric pnl", "payload.pnl");
  const auto notional = number_field(p, "notional");
  if (!notional) {
    return core::fail("wrong_type", "a trade needs a finite numeric notional", "payload.notional");
  }
  std::optional<double> return_pct;
  if (const auto it = p.find("return_pct"); it != p.end() && !it->is_null()) {
    return_pct = coerce_number(*it);
    if (!return_pct)
      return core::fail("wrong_type", "must be a finite number", "payload.return_pct");
  }
  core::TimePoint timestamp = event.time;
  if (const auto it = p.find("timestamp"); it != p.end() && !it->is_null()) {
    if (!it->is_string())
      return core::fail("wrong_type", "must be an RFC 3339 string", "payload.timestamp");
    auto t = core::parse_rfc3339(it->get<std::string>());
    if (!t) return core::fail("invalid_timestamp", t.error().message, "payload.timestamp");
    timestamp = *t;
  }
  std::optional<std::string> regime;
  if (const auto it = p.find("regime"); it != p.end() && !it->is_null()) {
    if (!it->is_string()) return core::fail("wrong_type", "must be a string", "payload.regime");
    regime = it->get<std::string>();
  }
  std::optional<bool> fast;
  if (const auto it = p.find("fast_weights_enabled"); it != p.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return core::fail("wrong_type", "must be true, false or null",
                        "payload.fast_weights_enabled");
    }
    fast = it->get<bool>();
  }
  const nlohmann::json* metadata = nullptr;
  const nlohmann::json* fw_metrics = nullptr;
  const nlohmann::json* fw_summary = nullptr;
  for (const auto& [key, ptr] :
       {std::pair{"metadata", &metadata}, std::pair{"fast_weight_metrics", &fw_metrics},
        std::pair{"fast_weight_summary", &fw_summary}}) {
    if (const auto it = p.find(key); it != p.end() && !it->is_null()) {
      if (!it->is_object())
        return core::fail("wrong_type", "must be an object", std::string("payload.") + key);
      *ptr = &*it;
    }
  }
  auto found = index_.find(id);
  if (found == index_.end()) {
    if (strategies_.size() >= config_.max_strategies) {
      return core::fail("too_many_strategies",
                        "at most " + std::to_string(config_.max_strategies) +
                            " strategies are tracked (strategy_performance.max_strategies)",
                        "payload.strategy_id");
    }
    found = index_.emplace(id, strategies_.size()).first;
    strategies_.emplace_back().id = id;
  }
  Strategy& s = strategies_[found->second];

  const double abs_notional = std::fabs(*notional);
  if (!return_pct && abs_notional > 0) return_pct = *pnl / abs_notional;
  Trade t{.timestamp = timestamp,
          .pnl = *pnl,
          .notional = abs_notional,
          .return_pct = return_pct,
          .baseline_return =
              infer_baseline_return(metadata ? *metadata : nlohmann::json(), default_baseline_)};
  if (t.baseline_return) t.baseline_pnl = *t.baseline_return * abs_notional;
  if (trades_ > 0 && timestamp < latest_trade_) ++out_of_order_;
  latest_trade_ = std::max(latest_trade_, timestamp);

  const auto count = [&](std::uint64_t& trades, std::uint64_t& wins, std::uint64_t& losses,
                         double& pnl_total, double& notional_total, detect::ExactSum& returns_sum,
                         std::uint64_t& returns) {
    ++trades;
    wins += *pnl > 0;
    losses += *pnl < 0;
    pnl_total += *pnl;
    notional_total += abs_notional;
    if (return_pct) {
      returns_sum.add(*return_pct);
      ++returns;
    }
  };
  count(s.trades, s.wins, s.losses, s.pnl, s.notional, s.returns_sum, s.returns);
  count(trades_, wins_, losses_, pnl_, notional_, returns_sum_, returns_);
  if (fast) {
    Mode& m = *fast ? s.enabled : s.disabled;
    ++m.trades;
    m.pnl += *pnl;
    m.notional += abs_notional;
    if (return_pct) {
      m.returns_sum += *return_pct;
      ++m.returns;
    }
  }
  if (fast || fw_metrics || fw_summary) {
    s.has_fast_weight = true;
    has_fast_weight_ = true;
  }
  s.fast_weight.add(fast, fw_metrics, fw_summary);
  fast_weight_.add(fast, fw_metrics, fw_summary);
  if (regime) ++s.regimes[*regime];
  s.drawdown.add(*pnl);
  drawdown_.add(*pnl);
  s.window.push_back(t);
  if (s.window.size() > config_.baseline_window) s.window.pop_front();
  window_.push_back(t);
  if (window_.size() > config_.baseline_window) window_.pop_front();
  return {};
}

core::Result<void> StrategyPerformance::apply(const core::TelemetryEvent& event) {
  if (!event.payload.is_object()) return core::fail("wrong_type", "must be an object", "payload");
  if (event.topic == kTradeTopic) {
    if (auto ok = apply_trade(event); !ok) return ok;
  } else if (event.topic == kRegimeTopic) {
    const auto it = event.payload.find("correct");
    if (it == event.payload.end() || !it->is_boolean()) {
      return core::fail("wrong_type", "a regime evaluation needs a boolean 'correct'",
                        "payload.correct");
    }
    ++regime_total_;
    regime_correct_ += it->get<bool>();
  } else if (event.topic == kDriftTopic) {
    const auto triggered = event.payload.find("triggered");
    const auto present = event.payload.find("drift_present");
    if (triggered == event.payload.end() || !triggered->is_boolean()) {
      return core::fail("wrong_type", "a drift evaluation needs a boolean 'triggered'",
                        "payload.triggered");
    }
    if (present == event.payload.end() || !present->is_boolean()) {
      return core::fail("wrong_type", "a drift evaluation needs a boolean 'drift_present'",
                        "payload.drift_present");
    }
    const bool t = triggered->get<bool>();
    const bool d = present->get<bool>();
    ++drift_counts_[t ? (d ? "true_positive" : "false_positive")
                      : (d ? "false_negative" : "true_negative")];
    ++drift_total_;
  } else {
    return core::fail("unknown_topic", "not a strategy performance topic", "topic");
  }
  if (!first_event_) first_event_ = event.time;
  ++applied_;
  last_event_ = std::max(last_event_, event.time);
  return {};
}

core::TimePoint StrategyPerformance::period_start() const {
  if (config_.period_start) return *config_.period_start;
  return first_event_.value_or(core::TimePoint{});
}

std::optional<StrategyPerformance::Comparator> StrategyPerformance::compare(
    const std::deque<Trade>& window) const {
  Comparator c{.window_trades = window.size()};
  double notional = 0, weighted_actual = 0, weighted_base = 0;
  bool first = true;
  for (const Trade& t : window) {
    if (t.notional <= 0) {
      ++c.missing;
      continue;
    }
    const double actual = t.return_pct.value_or(t.pnl / t.notional);
    const std::optional<double> base = t.baseline_return ? t.baseline_return : default_baseline_;
    if (!base) {
      ++c.missing;
      continue;
    }
    ++c.samples;
    c.actual_pnl += t.pnl;
    c.baseline_pnl += t.baseline_pnl.value_or(*base * t.notional);
    notional += t.notional;
    weighted_actual += actual * t.notional;
    weighted_base += *base * t.notional;
    c.earliest = first ? t.timestamp : std::min(c.earliest, t.timestamp);
    c.latest = first ? t.timestamp : std::max(c.latest, t.timestamp);
    first = false;
  }
  if (c.samples == 0 || notional <= 0) return std::nullopt;
  c.actual_return = weighted_actual / notional;
  c.baseline_return = weighted_base / notional;
  c.gap = c.baseline_return - c.actual_return;
  c.tolerance = config_.baseline_tolerance_ratio * c.baseline_pnl;
  c.alert = c.samples >= config_.baseline_min_trades && c.baseline_pnl > 0 &&
            c.gap >= config_.baseline_min_gap && c.actual_pnl + c.tolerance < c.baseline_pnl;
  return c;
}

nlohmann::json StrategyPerformance::comparator_json(const Comparator& c, std::string_view scope,
                                                    std::string_view id) const {
  nlohmann::json j = {{"scope", scope},
                      {"window_size", config_.baseline_window},
                      {"window_trades", c.window_trades},
                      {"missing_samples", c.missing},
                      {"actual_pnl", c.actual_pnl},
                      {"baseline_pnl", c.baseline_pnl},
                      {"pnl_shortfall", c.baseline_pnl - c.actual_pnl},
                      {"actual_return", c.actual_return},
                      {"baseline_return", c.baseline_return},
                      {"return_gap", c.gap},
                      {"tolerance_ratio", config_.baseline_tolerance_ratio},
                      {"min_gap", config_.baseline_min_gap},
                      {"tolerance_value", c.tolerance},
                      {"window_minutes", core::to_seconds(c.latest - c.earliest) / 60.0},
                      {"alert", c.alert},
                      {"latest_trade_at", iso(c.latest)},
                      {"earliest_trade_at", iso(c.earliest)}};
  j[scope == "portfolio" ? "identifier" : "strategy_id"] = id;
  if (c.alert) j["alert_reason"] = "actual_below_baseline";
  return j;
}

nlohmann::json StrategyPerformance::kpi_json(const Strategy& s) const {
  nlohmann::json j = {
      {"strategy_id", s.id},
      {"trades", s.trades},
      {"wins", s.wins},
      {"losses", s.losses},
      {"total_pnl", s.pnl},
      {"total_notional", s.notional},
      {"roi", s.notional > 0 ? s.pnl / s.notional : 0.0},
      {"win_rate",
       s.trades > 0 ? static_cast<double>(s.wins) / static_cast<double>(s.trades) : 0.0},
      {"max_drawdown", s.drawdown.max}};
  if (s.returns > 0) j["average_return"] = s.returns_sum.value() / static_cast<double>(s.returns);
  put(j, "max_drawdown_pct", ratio_or_none(s.drawdown.max, s.notional));
  if (s.enabled.trades > 0 || s.disabled.trades > 0) {
    nlohmann::json fw = nlohmann::json::object();
    const auto mode = [](const Mode& m) {
      nlohmann::json x = {{"trades", m.trades},
                          {"pnl", m.pnl},
                          {"notional", m.notional},
                          {"roi", m.notional > 0 ? m.pnl / m.notional : 0.0}};
      if (m.returns > 0) x["average_return"] = m.returns_sum / static_cast<double>(m.returns);
      return x;
    };
    if (s.enabled.trades > 0) fw["enabled"] = mode(s.enabled);
    if (s.disabled.trades > 0) fw["disabled"] = mode(s.disabled);
    if (s.enabled.trades > 0 && s.disabled.trades > 0) {
      fw["roi_uplift"] = fw["enabled"]["roi"].get<double>() - fw["disabled"]["roi"].get<double>();
    }
    j["fast_weight_breakdown"] = fw;
  }
  nlohmann::json md = nlohmann::json::object();
  if (!s.regimes.empty()) md["regime_counts"] = s.regimes;
  if (s.has_fast_weight) md["fast_weight"] = s.fast_weight.to_json();
  if (auto c = compare(s.window)) md["baseline_comparator"] = comparator_json(*c, "strategy", s.id);
  j["metadata"] = md;
  return j;
}

std::optional<RoiPosture> StrategyPerformance::posture(core::TimePoint as_of) const {
  if (config_.initial_capital <= 0) return std::nullopt;
  return evaluate_roi_posture(config_.initial_capital, pnl_, trades_, notional_, period_start(),
                              as_of, config_.roi);
}

nlohmann::json StrategyPerformance::report_json(core::TimePoint as_of) const {
  nlohmann::json strategies = nlohmann::json::array();
  nlohmann::json baseline_alerts = nlohmann::json::array();
  double uplift_sum = 0;
  std::size_t uplifts = 0;
  for (const auto& s : strategies_) {
    nlohmann::json k = kpi_json(s);
    if (k.contains("fast_weight_breakdown") && k["fast_weight_breakdown"].contains("roi_uplift")) {
      uplift_sum += k["fast_weight_breakdown"]["roi_uplift"].get<double>();
      ++uplifts;
    }
    const auto& md = k["metadata"];
    if (md.contains("baseline_comparator") && md["baseline_comparator"]["alert"].get<bool>()) {
      const auto& c = md["baseline_comparator"];
      baseline_alerts.push_back({{"strategy_id", s.id},
                                 {"return_gap", c["return_gap"]},
                                 {"pnl_shortfall", c["pnl_shortfall"]},
                                 {"window_trades", c["window_trades"]},
                                 {"window_minutes", c["window_minutes"]},
                                 {"latest_trade_at", c["latest_trade_at"]}});
    }
    strategies.push_back(std::move(k));
  }
  nlohmann::json aggregates = {
      {"trades", trades_},
      {"wins", wins_},
      {"losses", losses_},
      {"total_pnl", pnl_},
      {"total_notional", notional_},
      {"roi", notional_ > 0 ? pnl_ / notional_ : 0.0},
      {"win_rate", trades_ > 0 ? static_cast<double>(wins_) / static_cast<double>(trades_) : 0.0},
      {"max_drawdown", drawdown_.max}};
  if (returns_ > 0)
    aggregates["average_return"] = returns_sum_.value() / static_cast<double>(returns_);
  put(aggregates, "max_drawdown_pct", ratio_or_none(drawdown_.max, notional_));
  nlohmann::json agg_md = nlohmann::json::object();
  if (uplifts > 0)
    agg_md["fast_weight_roi_uplift_mean"] = uplift_sum / static_cast<double>(uplifts);
  if (has_fast_weight_) agg_md["fast_weight"] = fast_weight_.to_json();
  aggregates["metadata"] = agg_md;

  nlohmann::json loop = {{"total_regime_evaluations", regime_total_},
                         {"drift_counts", drift_counts_},
                         {"total_drift_evaluations", drift_total_}};
  if (regime_total_ > 0) {
    loop["regime_accuracy"] =
        static_cast<double>(regime_correct_) / static_cast<double>(regime_total_);
  }
  const auto dc = [&](const char* k) -> double {
    const auto it = drift_counts_.find(k);
    return it == drift_counts_.end() ? 0.0 : static_cast<double>(it->second);
  };
  put(loop, "drift_false_positive_rate",
      ratio_or_none(dc("false_positive"), dc("false_positive") + dc("true_negative")));
  put(loop, "drift_false_negative_rate",
      ratio_or_none(dc("false_negative"), dc("false_negative") + dc("true_positive")));

  const core::TimePoint start = period_start();
  nlohmann::json metadata = {
      {"period_days", std::max(core::to_seconds(as_of - start) / 86400.0, 0.0)},
      {"initial_capital", config_.initial_capital},
      {"out_of_order_trades", out_of_order_}};
  if (auto c = compare(window_)) {
    metadata["baseline_comparator"] = comparator_json(*c, "portfolio", "portfolio");
  }
  if (!baseline_alerts.empty()) metadata["baseline_alerts"] = baseline_alerts;

  nlohmann::json doc = {{"generated_at", iso(as_of)}, {"period_start", iso(start)},
                        {"strategies", strategies},   {"aggregates", aggregates},
                        {"loop_metrics", loop},       {"metadata", metadata}};
  if (auto p = posture(as_of)) doc["roi_snapshot"] = to_json(*p, as_of);
  return doc;
}

std::string StrategyPerformance::to_markdown(core::TimePoint as_of) const {
  const nlohmann::json r = report_json(as_of);
  std::string out = "**Strategy KPIs** — generated at " + iso(as_of) + "\n\n" +
                    "| Strategy | Trades | Win rate | ROI | PnL | Max drawdown |\n"
                    "| --- | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& s : r["strategies"]) {
    std::string dd = grouped(s["max_drawdown"].get<double>(), 2);
    if (s.contains("max_drawdown_pct")) {
      dd += " (" + percent(s["max_drawdown_pct"].get<double>(), 2) + ")";
    }
    out += "| " + s["strategy_id"].get<std::string>() + " | " +
           std::to_string(s["trades"].get<std::uint64_t>()) + " | " +
           percent(s["win_rate"].get<double>(), 1) + " | " + percent(s["roi"].get<double>(), 2) +
           " | " + grouped(s["total_pnl"].get<double>(), 2) + " | " + dd + " |\n";
  }
  const auto& a = r["aggregates"];
  out += "\n**Portfolio totals**\n";
  out += "- Trades: " + std::to_string(trades_) + " (wins: " + std::to_string(wins_) +
         ", losses: " + std::to_string(losses_) + ")\n";
  out += "- ROI: " + percent(a["roi"].get<double>(), 2) +
         " | Win rate: " + percent(a["win_rate"].get<double>(), 2) + "\n";
  out += "- PnL: " + grouped(pnl_, 2) + " | Max drawdown: " + grouped(drawdown_.max, 2) + "\n";
  const auto& loop = r["loop_metrics"];
  if (regime_total_ > 0 || drift_total_ > 0) {
    out += "\n**Understanding loop KPIs**\n";
    if (loop.contains("regime_accuracy")) {
      out += "- Regime accuracy: " + percent(loop["regime_accuracy"].get<double>(), 2) + "\n";
    }
    if (loop.contains("drift_false_positive_rate")) {
      out += "- Drift false-positive rate: " +
             percent(loop["drift_false_positive_rate"].get<double>(), 2) + "\n";
    }
    if (loop.contains("drift_false_negative_rate")) {
      out += "- Drift false-negative rate: " +
             percent(loop["drift_false_negative_rate"].get<double>(), 2) + "\n";
    }
  }
  out += "\n**ROI posture**\n";
  if (auto p = posture(as_of)) {
    out += "- Status: " + std::string(to_string(p->status)) + " | ROI: " + percent(p->roi, 2) +
           " | Annualised: " + percent(p->annualised_roi, 2) + "\n";
    out += "- Net PnL: " + grouped(p->net_pnl, 2) +
           " | Trades: " + std::to_string(p->executed_trades) + "\n";
  } else {
    out +=
        "- Status: not graded (strategy_performance.initial_capital is not configured) | "
        "Trades: " +
        std::to_string(trades_) + "\n";
  }
  return out;
}

core::ComponentSnapshot StrategyPerformance::snapshot(core::TimePoint now, Detail detail) {
  core::ComponentSnapshot s{.component = std::string(kStrategyPerformanceName),
                            .observed_at = last_event_};
  const std::string runbook = runbook_path(kStrategyPerformanceName);
  const std::string activity = std::to_string(trades_) + (trades_ == 1 ? " trade" : " trades") +
                               " across " + std::to_string(strategies_.size()) +
                               (strategies_.size() == 1 ? " strategy" : " strategies") + ", PnL " +
                               grouped(pnl_, 2);
  if (auto p = posture(now)) {
    const core::Status st = p->status == RoiStatus::kAhead      ? core::Status::kOk
                            : p->status == RoiStatus::kTracking ? config_.tracking_status
                                                                : config_.at_risk_status;
    s.status = core::escalate(s.status, st);
    s.summary = "ROI " + std::string(to_string(p->status)) + ": annualised " +
                percent(p->annualised_roi, 2) + " vs target " + percent(p->target_annual_roi, 2) +
                "; " + activity;
    if (st != core::Status::kOk) {
      const std::string why =
          p->status == RoiStatus::kAtRisk ? " below half the target " : " below the target ";
      s.issues.push_back({.code = "strategy_performance.roi",
                          .severity = core::severity_for(st),
                          .message = "ROI posture " + std::string(to_string(p->status)) +
                                     ": annualised " + percent(p->annualised_roi, 2) + why +
                                     percent(p->target_annual_roi, 2) + " (net PnL " +
                                     grouped(p->net_pnl, 2) + " over " +
                                     std::to_string(p->executed_trades) + " trades)",
                          .runbook = runbook});
    }
  } else {
    s.summary = activity + "; ROI posture not graded (no initial_capital)";
    s.issues.push_back({.code = "strategy_performance.roi_unconfigured",
                        .severity = core::Severity::kInfo,
                        .message = "ROI posture is not graded: set "
                                   "detectors.strategy_performance.initial_capital",
                        .runbook = runbook});
  }
  std::size_t alerts = 0;
  const auto baseline_issue = [&](const Comparator& c, std::string code, const std::string& who) {
    ++alerts;
    s.status = core::escalate(s.status, config_.baseline_alert_status);
    s.issues.push_back({.code = std::move(code),
                        .severity = core::severity_for(config_.baseline_alert_status),
                        .message = who + " below its spread baseline: return gap " +
                                   fixed(c.gap, 6) + ", PnL shortfall " +
                                   grouped(c.baseline_pnl - c.actual_pnl, 2) + " over " +
                                   std::to_string(c.window_trades) + " trades",
                        .runbook = runbook});
  };
  for (const Strategy& st : strategies_) {
    if (auto c = compare(st.window); c && c->alert) {
      baseline_issue(*c, "strategy_performance.strategy." + st.id + ".baseline",
                     "strategy " + st.id);
    }
  }
  if (auto c = compare(window_); c && c->alert) {
    baseline_issue(*c, "strategy_performance.portfolio.baseline", "the portfolio");
  }
  if (alerts > 0) {
    s.summary += "; " + std::to_string(alerts) + " baseline alert" + (alerts == 1 ? "" : "s");
  }
  if (detail == Detail::kFull) {
    s.metadata = report_json(now);
    s.metadata["runbook"] = runbook;
  }
  return s;
}

}  // namespace opsready::components
