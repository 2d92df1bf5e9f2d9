#include "opsready/metrics/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <locale>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace opsready::metrics {
namespace {

using ::testing::HasSubstr;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(Registry, GoldenExposition) {
  Registry reg;
  auto& events = reg.counter("opsready_events_received_total", "Events accepted.", {"topic"});
  events.with({"telemetry.sample"}).inc(2);
  events.with({"telemetry.alert"}).inc();
  auto& status = reg.gauge("opsready_component_status", "0 ok, 1 warn, 2 fail.", {"component"});
  status.with({"security"}).set(2);
  status.with({"backups"}).set(0.5);
  auto& eval = reg.histogram("opsready_evaluation_seconds", "Evaluation time.", {0.1, 1});
  for (double v : {0.0625, 0.5, 3.0}) eval.with({}).observe(v);
  reg.gauge("opsready_up", "1 while running.").with({}).set(1);
  reg.counter("opsready_drops_total", "Dropped events.", {"reason"});  // no children yet

  EXPECT_EQ(reg.expose(),
            "# HELP opsready_component_status 0 ok, 1 warn, 2 fail.\n"
            "# TYPE opsready_component_status gauge\n"
            "opsready_component_status{component=\"backups\"} 0.5\n"
            "opsready_component_status{component=\"security\"} 2\n"
            "# HELP opsready_drops_total Dropped events.\n"
            "# TYPE opsready_drops_total counter\n"
            "# HELP opsready_evaluation_seconds Evaluation time.\n"
            "# TYPE opsready_evaluation_seconds histogram\n"
            "opsready_evaluation_seconds_bucket{le=\"0.1\"} 1\n"
            "opsready_evaluation_seconds_bucket{le=\"1\"} 2\n"
            "opsready_evaluation_seconds_bucket{le=\"+Inf\"} 3\n"
            "opsready_evaluation_seconds_sum 3.5625\n"
            "opsready_evaluation_seconds_count 3\n"
            "# HELP opsready_events_received_total Events accepted.\n"
            "# TYPE opsready_events_received_total counter\n"
            "opsready_events_received_total{topic=\"telemetry.alert\"} 1\n"
            "opsready_events_received_total{topic=\"telemetry.sample\"} 2\n"
            "# HELP opsready_up 1 while running.\n"
            "# TYPE opsready_up gauge\n"
            "opsready_up 1\n");
}

TEST(Registry, EmptyRegistryExposesNothing) { EXPECT_EQ(Registry().expose(), ""); }

TEST(Registry, SortsChildrenByLabelValuesInOrder) {
  Registry reg;
  auto& f = reg.gauge("g", "h", {"a", "b"});
  f.with({"y", "1"}).set(1);
  f.with({"x", "2"}).set(2);
  f.with({"x", "10"}).set(3);
  EXPECT_EQ(reg.expose(),
            "# HELP g h\n# TYPE g gauge\n"
            "g{a=\"x\",b=\"10\"} 3\n"
            "g{a=\"x\",b=\"2\"} 2\n"
            "g{a=\"y\",b=\"1\"} 1\n");
}

TEST(Registry, EscapesHelpAndLabelValues) {
  Registry reg;
  reg.gauge("g", "back\\slash \"quote\"\nnext line", {"v"}).with({"a\\b\"c\nd"}).set(1);
  EXPECT_EQ(reg.expose(),
            "# HELP g back\\\\slash \"quote\"\\nnext line\n"
            "# TYPE g gauge\n"
            "g{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(Registry, PrintsShortestRoundTripNumbers) {
  struct Case {
    double in;
    const char* out;
  };
  const Case cases[] = {
      {0, "0"},
      {-0.0, "-0"},
      {1, "1"},
      {-2.5, "-2.5"},
      {0.1, "0.1"},
      {1.0 / 3, "0.3333333333333333"},
      {1e6, "1e+06"},
      {1e-7, "1e-07"},
      {123456789012.0, "123456789012"},
      {std::numeric_limits<double>::max(), "1.7976931348623157e+308"},
      {kNaN, "NaN"},
      {kInf, "+Inf"},
      {-kInf, "-Inf"},
  };
  for (const auto& c : cases) {
    Registry reg;
    reg.gauge("g", "h").with({}).set(c.in);
    EXPECT_EQ(reg.expose(), std::string("# HELP g h\n# TYPE g gauge\ng ") + c.out + "\n") << c.out;
  }
}

// A global locale with a decimal comma and digit grouping, as a German process might have.
struct CommaNumpunct : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

TEST(Registry, IgnoresTheGlobalLocale) {
  const std::locale previous =
      std::locale::global(std::locale(std::locale::classic(), new CommaNumpunct));
  Registry reg;
  reg.gauge("g", "h").with({}).set(1234567.5);
  reg.histogram("h", "h", {0.25}).with({}).observe(0.125);
  const std::string text = reg.expose();
  std::locale::global(previous);
  EXPECT_THAT(text, HasSubstr("g 1234567.5\n"));
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"0.25\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("h_sum 0.125\n"));
}

TEST(Registry, RefusesInvalidNamesNamingThem) {
  struct Case {
    const char* bad;  // must appear in the message
    std::function<void(Registry&)> reg;
  };
  const Case cases[] = {
      {"''", [](Registry& r) { r.counter("", "h"); }},
      {"1abc", [](Registry& r) { r.counter("1abc", "h"); }},
      {"a-b", [](Registry& r) { r.gauge("a-b", "h"); }},
      {"a b", [](Registry& r) { r.histogram("a b", "h", {1}); }},
      {"caf\xc3\xa9", [](Registry& r) { r.gauge("caf\xc3\xa9", "h"); }},
      {"'1x'", [](Registry& r) { r.counter("ok_total", "h", {"1x"}); }},
      {"'a:b'", [](Registry& r) { r.counter("ok_total", "h", {"a:b"}); }},
      {"''", [](Registry& r) { r.gauge("ok", "h", {""}); }},
      {"__reserved", [](Registry& r) { r.gauge("ok", "h", {"__reserved"}); }},
      {"'dup'",
       [](Registry& r) {
         r.gauge("ok", "h", {"dup", "x", "dup"});
       }},
      {"'le'", [](Registry& r) { r.histogram("ok", "h", {1}, {"le"}); }},
  };
  for (const auto& c : cases) {
    Registry reg;
    try {
      c.reg(reg);
      ADD_FAILURE() << "accepted " << c.bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.bad));
    }
    EXPECT_EQ(reg.expose(), "") << c.bad;  // nothing half-registered
  }
}

TEST(Registry, AcceptsEdgeValidNames) {
  Registry reg;
  reg.counter("a:b_total", "h", {"_x", "A1"});
  reg.gauge("_g", "h", {"le"});  // "le" is reserved on histograms only
  reg.histogram("H1", "h", {});
  EXPECT_THAT(reg.expose(), HasSubstr("# TYPE a:b_total counter\n"));
}

TEST(Registry, RefusesBadBuckets) {
  const std::vector<double> cases[] = {{1, 1}, {2, 1}, {1, kInf}, {kNaN}, {-kInf, 0}};
  for (const auto& b : cases) {
    Registry reg;
    EXPECT_THROW(reg.histogram("h", "h", b), std::invalid_argument);
    EXPECT_THROW(Histogram{b}, std::invalid_argument);
  }
}

TEST(Registry, RefusesDuplicateAndCollidingFamilies) {
  struct Case {
    std::function<void(Registry&)> first, second;
    const char* name;
  };
  const Case cases[] = {
      {[](Registry& r) { r.counter("x_total", "h"); },
       [](Registry& r) { r.counter("x_total", "other help"); }, "x_total"},
      {[](Registry& r) { r.counter("x_total", "h"); }, [](Registry& r) { r.gauge("x_total", "h"); },
       "x_total"},
      {[](Registry& r) { r.histogram("x", "h", {1}); },
       [](Registry& r) { r.gauge("x_count", "h"); }, "x_count"},
      {[](Registry& r) { r.gauge("x_sum", "h"); }, [](Registry& r) { r.histogram("x", "h", {1}); },
       "x_sum"},
      {[](Registry& r) { r.histogram("x_bucket", "h", {1}); },
       [](Registry& r) { r.histogram("x", "h", {1}); }, "x_bucket"},
  };
  for (const auto& c : cases) {
    Registry reg;
    c.first(reg);
    try {
      c.second(reg);
      ADD_FAILURE() << "accepted " << c.name;
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.name));
    }
  }
}

TEST(Registry, RefusesLabelCountMismatch) {
  Registry reg;
  auto& two = reg.counter("x_total", "h", {"a", "b"});
  EXPECT_THROW(two.with({}), std::invalid_argument);
  EXPECT_THROW(two.with({"1"}), std::invalid_argument);
  EXPECT_THROW(two.with({"1", "2", "3"}), std::invalid_argument);
  EXPECT_NO_THROW(two.with({"1", "2"}));
  auto& none = reg.gauge("g", "h");
  try {
    none.with({"1"});
    ADD_FAILURE() << "accepted a value for a family without labels";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("'g'"));
  }
}

TEST(Registry, WithReturnsTheSameChild) {
  Registry reg;
  auto& f = reg.counter("x_total", "h", {"a"});
  Counter& c = f.with({"1"});
  c.inc(3);
  EXPECT_EQ(&f.with({"1"}), &c);
  EXPECT_EQ(f.with({"1"}).value(), 3);
  EXPECT_NE(&f.with({"2"}), &c);
}

TEST(Counter, IgnoresNegativeAndNaN) {
  Counter c;
  c.inc();
  c.inc(2.5);
  c.inc(-10);
  c.inc(kNaN);
  EXPECT_EQ(c.value(), 3.5);
  c.inc(kInf);  // allowed: +Inf is a value a counter may reach
  EXPECT_EQ(c.value(), kInf);
}

TEST(Gauge, IncDecSet) {
  Gauge g;
  g.inc(5);
  g.dec(2);
  g.dec();
  EXPECT_EQ(g.value(), 2);
  g.set(-7.5);
  EXPECT_EQ(g.value(), -7.5);
}

TEST(Histogram, BucketsAreCumulativeAndUpperBoundInclusive) {
  Histogram h({1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 2.0, 4.0, 10.0, -3.0}) h.observe(v);
  // le=1: 0.5, 1, -3; le=2: +1.5, 2; le=5: +4; +Inf: +10.
  EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{3, 5, 6, 7}));
  EXPECT_EQ(h.count(), 7u);
  EXPECT_EQ(h.sum(), 16);

  Registry reg;
  auto& f = reg.histogram("lat_seconds", "h", {1, 2, 5}, {"route"});
  for (double v : {0.5, 1.0, 1.5, 2.0, 4.0, 10.0, -3.0}) f.with({"a"}).observe(v);
  EXPECT_EQ(reg.expose(),
            "# HELP lat_seconds h\n# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{route=\"a\",le=\"1\"} 3\n"
            "lat_seconds_bucket{route=\"a\",le=\"2\"} 5\n"
            "lat_seconds_bucket{route=\"a\",le=\"5\"} 6\n"
            "lat_seconds_bucket{route=\"a\",le=\"+Inf\"} 7\n"
            "lat_seconds_sum{route=\"a\"} 16\n"
            "lat_seconds_count{route=\"a\"} 7\n");
}

TEST(Histogram, DefaultBucketsAreStrictlyIncreasing) {
  const auto b = default_buckets();
  ASSERT_EQ(b.size(), 11u);
  EXPECT_EQ(b.front(), 0.005);
  EXPECT_EQ(b.back(), 10);
  EXPECT_NO_THROW(Histogram{b});
}

TEST(Registry, RemoveDropsOneChild) {
  Registry reg;
  auto& f = reg.gauge("g", "h", {"component"});
  f.with({"a"}).set(1);
  f.with({"b"}).set(2);
  f.remove({"a"});
  f.remove({"never-existed"});
  EXPECT_EQ(reg.expose(), "# HELP g h\n# TYPE g gauge\ng{component=\"b\"} 2\n");
  EXPECT_EQ(f.with({"a"}).value(), 0);  // a new child starts from zero
}

TEST(Registry, SamplesAreACounterOrGaugesSeriesWithTheirLabels) {
  Registry r;
  auto& family = r.counter("c_total", "c", {"a", "b"});
  family.with({"x", "y"}).inc(2);
  family.with({"x", "z"}).inc();
  r.gauge("g", "g").with({}).set(-1.5);
  (void)r.histogram("h_seconds", "h", {1});
  const auto c = r.samples("c_total");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].labels,
            (std::vector<std::pair<std::string, std::string>>{{"a", "x"}, {"b", "y"}}));
  EXPECT_EQ(c[0].value, 2);
  EXPECT_EQ(c[1].value, 1);
  ASSERT_EQ(r.samples("g").size(), 1u);
  EXPECT_EQ(r.samples("g")[0].value, -1.5);
  EXPECT_TRUE(r.samples("h_seconds").empty());
  EXPECT_TRUE(r.samples("nope").empty());
}

TEST(Registry, ConcurrentUpdatesAreExact) {
  Registry reg;
  auto& counters = reg.counter("c_total", "h", {"k"});
  Counter& shared = counters.with({"shared"});
  Gauge& gauge = reg.gauge("g", "h").with({});
  auto& hist = reg.histogram("h", "h", {1});
  constexpr int kThreads = 8;
  constexpr int kEach = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        shared.inc();
        counters.with({"looked_up"}).inc(0.5);  // child creation races with lookups
        counters.with({"t" + std::to_string(t % 2)}).inc();
        gauge.inc(2);
        gauge.dec();
        hist.with({}).observe(i % 2 ? 0.5 : 2.0);
        if (i % 5000 == 0) (void)reg.expose();  // scrapes while updating
      }
    });
  }
  for (auto& th : threads) th.join();
  // Every increment is an integer or a half, so the double sums are exact.
  EXPECT_EQ(shared.value(), kThreads * kEach);
  EXPECT_EQ(counters.with({"looked_up"}).value(), kThreads * kEach * 0.5);
  EXPECT_EQ(counters.with({"t0"}).value() + counters.with({"t1"}).value(), kThreads * kEach);
  EXPECT_EQ(gauge.value(), kThreads * kEach);
  const Histogram& h = hist.with({});
  EXPECT_EQ(h.count(), static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_EQ(h.cumulative_counts(),
            (std::vector<std::uint64_t>{kThreads * kEach / 2, kThreads * kEach}));
  EXPECT_EQ(h.sum(), kThreads * (kEach / 2) * 2.5);
}

// promtool is the reference parser and linter for this format; every kind of metric and the
// awkward label values go through it.
TEST(Registry, PromtoolAcceptsExposition) {
  const char* promtool = "/usr/bin/promtool";
  if (access(promtool, X_OK) != 0) {
    GTEST_SKIP() << promtool << " not found (Debian package 'prometheus' provides it)";
  }
  Registry reg;
  auto& c = reg.counter("opsready_notifications_sent_total", "Notifications sent,\nby receiver.",
                        {"receiver", "channel"});
  c.with({"ops\\team", "email"}).inc(3);
  c.with({"quote \"q\"", "slack"}).inc();
  c.with({"line\nbreak", "sms"}).inc(1e6);
  c.with({"caf\xc3\xa9 \xe2\x9c\x93", "webhook"}).inc(0.25);
  c.with({"", "github"}).inc();
  auto& g = reg.gauge("opsready_component_status", "Back\\slash help.", {"component"});
  g.with({"nan"}).set(kNaN);
  g.with({"pos_inf"}).set(kInf);
  g.with({"neg_inf"}).set(-kInf);
  g.with({"tiny"}).set(1e-300);
  g.with({"negative"}).set(-42.125);
  reg.gauge("opsready_up", "1 while running.").with({}).set(1);
  auto& h = reg.histogram("opsready_delivery_seconds", "Delivery latency.", default_buckets(),
                          {"receiver"});
  for (double v : {0.001, 0.2, 3.0, 99.0}) h.with({"ops\\team"}).observe(v);
  h.with({"idle"});
  reg.histogram("opsready_unused_seconds", "No children.", {1});
  reg.counter("opsready_dropped_total", "No children either.", {"reason"});

  const std::string text = reg.expose();
  const std::string file = (std::filesystem::path(::testing::TempDir()) /
                            ("opsready-metrics-" + std::to_string(getpid()) + ".prom"))
                               .string();
  std::ofstream(file, std::ios::binary) << text;
  const std::string cmd = std::string(promtool) + " check metrics < '" + file + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) output += buf;
  const int status = pclose(p);
  std::filesystem::remove(file);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "promtool said:\n" << output << "\non:\n" << text;
}

}  // namespace
}  // namespace opsready::metrics
