#include "opsready/detect/page_hinkley.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "opsready/detect/feed.h"

namespace opsready::detect {
namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The in-repo copy of ../shared/vectors/page_hinkley (kept so the repository is self-contained).
fs::path vectors_dir() { return fs::path(OPSREADY_DETECT_TESTDATA_DIR) / "page_hinkley"; }
// The shared original, beside the repository; absent in a bare checkout.
fs::path shared_vectors_dir() { return fs::path(OPSREADY_VECTORS_DIR) / "page_hinkley"; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << p;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Splits one CSV line into doubles parsed with strtod, which reads the 17-significant-digit
// values back to the exact doubles.
std::vector<double> parse_row(const std::string& line) {
  std::vector<double> out;
  const char* p = line.c_str();
  while (*p != '\0') {
    char* end = nullptr;
    out.push_back(std::strtod(p, &end));
    EXPECT_NE(end, p) << "not a number in: " << line;
    p = end;
    if (*p == ',') ++p;
  }
  return out;
}

// Rows of a CSV file with a header line.
std::vector<std::vector<double>> read_csv(const fs::path& p) {
  std::istringstream in(slurp(p));
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(parse_row(line));
  }
  return rows;
}

// The `x` column of an `i,x` file, checking that `i` counts from 0.
std::vector<double> read_series(const fs::path& p) {
  std::vector<double> xs;
  for (const auto& row : read_csv(p)) {
    EXPECT_EQ(row.size(), 2U);
    EXPECT_EQ(row[0], static_cast<double>(xs.size()));
    xs.push_back(row[1]);
  }
  return xs;
}

std::vector<std::size_t> detections(PageHinkley ph, const std::vector<double>& xs) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (ph.update(xs[i]) == Outcome::kDrift) out.push_back(i);
  }
  return out;
}

PageHinkleyConfig config_from(const nlohmann::json& j) {
  const auto mode = parse_mode(j.at("mode").get<std::string>());
  EXPECT_TRUE(mode.has_value());
  return PageHinkleyConfig{.min_instances = j.at("min_instances").get<std::uint32_t>(),
                           .delta = j.at("delta").get<double>(),
                           .threshold = j.at("threshold").get<double>(),
                           .alpha = j.at("alpha").get<double>(),
                           .mode = mode.value_or(Mode::kBoth)};
}

TEST(PageHinkleyVectors, ParametersAreRiversDefaults) {
  const auto expected = nlohmann::json::parse(slurp(vectors_dir() / "expected.json"));
  const PageHinkleyConfig c = config_from(expected.at("detector"));
  EXPECT_EQ(c, PageHinkleyConfig{});
  // alpha is 1 - 0.0001 evaluated in double, exactly the hex value recorded with the vectors.
  const std::string hex = expected["detector"]["alpha_hex"].get<std::string>();
  EXPECT_EQ(std::strtod(hex.c_str(), nullptr), 1 - 0.0001);
  EXPECT_EQ(expected.at("index_base").get<int>(), 0);
}

TEST(PageHinkleyVectors, DetectionsMatchExpectedJson) {
  const auto expected = nlohmann::json::parse(slurp(vectors_dir() / "expected.json"));
  auto ph = PageHinkley::create(config_from(expected.at("detector")));
  ASSERT_TRUE(ph.has_value()) << ph.error().describe();
  ASSERT_EQ(expected.at("vectors").size(), 2U);
  for (const auto& [file, v] : expected.at("vectors").items()) {
    const std::vector<double> xs = read_series(vectors_dir() / file);
    ASSERT_EQ(xs.size(), v.at("n").get<std::size_t>()) << file;
    EXPECT_EQ(detections(*ph, xs), v.at("detections").get<std::vector<std::size_t>>()) << file;
  }
}

TEST(PageHinkleyVectors, RiverDocExampleDetectsAt1006) {
  EXPECT_EQ(detections(PageHinkley{}, read_series(vectors_dir() / "river_doc_example.csv")),
            std::vector<std::size_t>{1006});
}

TEST(PageHinkleyVectors, ShiftDetectsAtBothLevelShifts) {
  EXPECT_EQ(detections(PageHinkley{}, read_series(vectors_dir() / "shift_5000.csv")),
            (std::vector<std::size_t>{2051, 3568}));
}

// Every field of the state after every sample, compared as doubles with ==.
TEST(PageHinkleyVectors, TraceMatchesBitForBit) {
  const auto rows = read_csv(vectors_dir() / "shift_5000_trace.csv");
  ASSERT_EQ(rows.size(), 5000U);
  PageHinkley ph;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    ASSERT_EQ(r.size(), 9U) << "row " << i;  // i,x,n,mean,sum_inc,min_inc,sum_dec,max_dec,drift
    ASSERT_EQ(r[0], static_cast<double>(i));
    const Outcome o = ph.update(r[1]);
    const PageHinkleyState& s = ph.state();
    ASSERT_EQ(s.n, r[2]) << "row " << i;
    ASSERT_EQ(s.mean, r[3]) << "row " << i;
    ASSERT_EQ(s.sum_increase, r[4]) << "row " << i;
    ASSERT_EQ(s.min_increase, r[5]) << "row " << i;
    ASSERT_EQ(s.sum_decrease, r[6]) << "row " << i;
    ASSERT_EQ(s.max_decrease, r[7]) << "row " << i;
    ASSERT_EQ(s.drift, r[8] != 0.0) << "row " << i;
    ASSERT_EQ(o, s.drift ? Outcome::kDrift : Outcome::kAccepted) << "row " << i;
  }
}

// feed() is update() in a loop: same detections, same state after each chunk, also when a
// detection (and so the pending reset) falls on a chunk boundary.
TEST(PageHinkleyVectors, FeedMatchesPerSampleUpdates) {
  const std::vector<double> xs = read_series(vectors_dir() / "shift_5000.csv");
  PageHinkley fed;
  PageHinkley stepped;
  std::vector<std::size_t> found;
  std::size_t from = 0;
  // Chunks end after 1000 samples, right after the detection at 2051, and at the end.
  for (std::size_t start : {std::size_t{1000}, std::size_t{2052}, xs.size()}) {
    const std::span<const double> chunk = std::span<const double>(xs).subspan(from, start - from);
    feed(fed, chunk, [&](std::size_t i, Outcome o) {
      if (o == Outcome::kDrift) found.push_back(from + i);
    });
    for (double x : chunk) stepped.update(x);
    EXPECT_EQ(fed.state(), stepped.state()) << start;
    from = start;
  }
  EXPECT_EQ(found, (std::vector<std::size_t>{2051, 3568}));
}

// The in-repo copy must not drift from the shared original.
TEST(PageHinkleyVectors, InRepoCopyMatchesSharedVectors) {
  if (!fs::exists(shared_vectors_dir())) GTEST_SKIP() << "no " << shared_vectors_dir();
  for (const char* f :
       {"expected.json", "shift_5000.csv", "shift_5000_trace.csv", "river_doc_example.csv"}) {
    EXPECT_EQ(slurp(vectors_dir() / f), slurp(shared_vectors_dir() / f)) << f;
  }
}

// Hand-computed: min_instances 1, delta 0, alpha 1, threshold 1 on [0, 0, 3].
//   x=0: n=1 mean=0 dev=0  sum_inc=0 min_inc=0  sum_dec=0 max_dec=max(-1,0)=0   no drift
//   x=0: the same
//   x=3: n=3 mean=0+(1/3)·3=1 dev=2  sum_inc=2 min_inc=0 → test_inc=2 > 1 (up)
//                                     sum_dec=2 max_dec=2 → test_dec=0
// and on [0, 0, -3]: mean=-1 dev=-2, test_inc=0, sum_dec=-2 max_dec=0 → test_dec=2 (down).
TEST(PageHinkley, ModesTestTheirSidesOnly) {
  struct Case {
    double last;
    Mode mode;
    Outcome want;
    Direction direction;
  };
  const Case cases[] = {
      {3.0, Mode::kBoth, Outcome::kDrift, Direction::kUp},
      {3.0, Mode::kUp, Outcome::kDrift, Direction::kUp},
      {3.0, Mode::kDown, Outcome::kAccepted, Direction::kNone},
      {-3.0, Mode::kBoth, Outcome::kDrift, Direction::kDown},
      {-3.0, Mode::kDown, Outcome::kDrift, Direction::kDown},
      {-3.0, Mode::kUp, Outcome::kAccepted, Direction::kNone},
  };
  for (const Case& c : cases) {
    auto ph =
        PageHinkley::create(
            {.min_instances = 1, .delta = 0.0, .threshold = 1.0, .alpha = 1.0, .mode = c.mode})
            .value();
    EXPECT_EQ(ph.update(0.0), Outcome::kAccepted);
    EXPECT_EQ(ph.update(0.0), Outcome::kAccepted);
    EXPECT_EQ(ph.update(c.last), c.want) << c.last << " " << to_string(c.mode);
    EXPECT_EQ(ph.direction(), c.direction) << c.last << " " << to_string(c.mode);
    EXPECT_EQ(ph.state().mean, c.last / 3.0);
    EXPECT_EQ(ph.increase_statistic(), c.last > 0 ? 2.0 : 0.0);
    EXPECT_EQ(ph.decrease_statistic(), c.last > 0 ? 0.0 : 2.0);
  }
}

// Same stream with min_instances 4: the third update's statistic is over the threshold but n=3.
TEST(PageHinkley, NoDetectionBeforeMinInstances) {
  auto ph = PageHinkley::create({.min_instances = 4, .delta = 0.0, .threshold = 1.0, .alpha = 1.0})
                .value();
  for (double x : {0.0, 0.0, 3.0}) EXPECT_EQ(ph.update(x), Outcome::kAccepted);
  EXPECT_GT(ph.increase_statistic(), 1.0);
  // x=3 again: n=4 mean=1.5 dev=1.5 sum_inc=3.5, min_inc=0 → drift.
  EXPECT_EQ(ph.update(3.0), Outcome::kDrift);
  EXPECT_EQ(ph.state().sum_increase, 3.5);
}

// River resets on the update after a detection, not on the detection itself.
TEST(PageHinkley, ResetsOnTheUpdateAfterADetection) {
  auto ph = PageHinkley::create({.min_instances = 1, .delta = 0.0, .threshold = 1.0, .alpha = 1.0})
                .value();
  for (double x : {0.0, 0.0, 3.0}) ph.update(x);
  ASSERT_TRUE(ph.drift_detected());
  EXPECT_EQ(ph.state().n, 3.0);  // the detecting state is still readable
  EXPECT_EQ(ph.update(5.0), Outcome::kAccepted);
  EXPECT_EQ(ph.state(), (PageHinkleyState{.n = 1.0,
                                          .mean = 5.0,
                                          .sum_increase = 0.0,
                                          .min_increase = 0.0,
                                          .sum_decrease = 0.0,
                                          .max_decrease = 0.0}));
}

TEST(PageHinkley, RefusesNonFiniteInputAndCountsIt) {
  auto ph = PageHinkley::create({.min_instances = 1, .delta = 0.0, .threshold = 1.0, .alpha = 1.0})
                .value();
  for (double x : {0.0, 0.0, 3.0}) ph.update(x);
  const PageHinkleyState before = ph.state();
  for (double bad : {kNaN, kInf, -kInf}) EXPECT_EQ(ph.update(bad), Outcome::kRefused);
  EXPECT_EQ(ph.refused(), 3U);
  PageHinkleyState want = before;
  want.refused = 3;
  EXPECT_EQ(ph.state(), want);  // nothing folded in, the drift flag kept
  EXPECT_TRUE(ph.drift_detected());
  // The next accepted update performs the pending reset; the refused count survives it.
  EXPECT_EQ(ph.update(5.0), Outcome::kAccepted);
  EXPECT_EQ(ph.state().n, 1.0);
  EXPECT_EQ(ph.refused(), 3U);
}

TEST(PageHinkley, RefusedInputDoesNotChangeDetections) {
  std::vector<double> xs = read_series(vectors_dir() / "shift_5000.csv");
  std::vector<double> noisy;
  std::vector<std::size_t> original_index;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (i % 97 == 0) noisy.push_back(i % 2 == 0 ? kNaN : kInf);
    noisy.push_back(xs[i]);
  }
  PageHinkley ph;
  std::vector<std::size_t> found;
  std::size_t accepted = 0;
  for (double x : noisy) {
    const Outcome o = ph.update(x);
    if (o == Outcome::kRefused) continue;
    if (o == Outcome::kDrift) found.push_back(accepted);
    ++accepted;
  }
  EXPECT_EQ(found, (std::vector<std::size_t>{2051, 3568}));
  EXPECT_EQ(ph.refused(), (xs.size() + 96) / 97);
}

TEST(PageHinkley, RefusesInvalidParametersNamingTheField) {
  struct Case {
    PageHinkleyConfig config;
    const char* field;
  };
  const Case cases[] = {
      {{.min_instances = 0}, "min_instances"},
      {{.delta = -0.1}, "delta"},
      {{.delta = kNaN}, "delta"},
      {{.threshold = 0.0}, "threshold"},
      {{.threshold = kNaN}, "threshold"},
      {{.alpha = 0.0}, "alpha"},
      {{.alpha = 1.5}, "alpha"},
      {{.mode = static_cast<Mode>(0)}, "mode"},
  };
  for (const Case& c : cases) {
    auto ph = PageHinkley::create(c.config);
    ASSERT_FALSE(ph.has_value()) << c.field;
    EXPECT_EQ(ph.error().code, "invalid_parameter");
    EXPECT_EQ(ph.error().field, c.field);
  }
  EXPECT_TRUE(PageHinkley::create({.threshold = kInf}).has_value());
  EXPECT_EQ(parse_mode("sideways").error().code, "unknown_mode");
  EXPECT_EQ(parse_mode("down").value(), Mode::kDown);
}

// The batch computes, series by series, what one PageHinkley per series computes: the state
// after every step is equal field for field, on every instruction set this CPU runs. 13 and 24
// series exercise full blocks, groups of 2, 4 and 8 lanes and a padded last block; some samples
// are NaN/inf, series detect drift and restart (by themselves and by restart()), and
// both-sided and one-sided modes run.
TEST(PageHinkleyBatch, EachSeriesMatchesASingleDetectorOnEveryIsa) {
  const std::vector<double> shift = read_series(vectors_dir() / "shift_5000.csv");
  const std::vector<double> doc = read_series(vectors_dir() / "river_doc_example.csv");
  using Isa = PageHinkleyBatch::Isa;
  for (Isa isa : {Isa::kBaseline, Isa::kAvx2, Isa::kAvx512}) {
    if (!PageHinkleyBatch::supported(isa)) {
      std::cout << "skipping ISA " << static_cast<int>(isa) << " (not supported here)\n";
      continue;
    }
    for (Mode mode : {Mode::kBoth, Mode::kDown}) {
      SCOPED_TRACE(testing::Message()
                   << "isa " << static_cast<int>(isa) << " mode " << to_string(mode));
      const PageHinkleyConfig config{.mode = mode};
      for (const std::size_t kSeries : {std::size_t{13}, std::size_t{24}}) {
        auto batch = PageHinkleyBatch::create(kSeries, config, isa);
        ASSERT_TRUE(batch.has_value());
        EXPECT_EQ(batch->isa(), isa);
        std::vector<PageHinkley> singles(kSeries, PageHinkley::create(config).value());
        std::vector<double> step(kSeries);
        std::size_t total_drifts = 0;
        for (std::size_t t = 0; t < shift.size(); ++t) {
          for (std::size_t s = 0; s < kSeries; ++s) {
            double x =
                (s % 2 == 0) ? shift[(t + 100 * s) % shift.size()] : doc[(t + s) % doc.size()];
            if (s % 3 == 1) x = -x;
            if ((t + s) % 211 == 0) x = (s % 2 == 0) ? kNaN : -kInf;
            step[s] = x;
          }
          if (t == 2100) {  // series 0 has just detected drift at 2051 and runs again
            batch->restart(0);
            singles[0].restart();
          }
          const PageHinkleyBatch::Step got = batch->update(step);
          PageHinkleyBatch::Step want;
          for (std::size_t s = 0; s < kSeries; ++s) {
            const Outcome o = singles[s].update(step[s]);
            want.refused += o == Outcome::kRefused ? 1 : 0;
            want.drifts += singles[s].drift_detected() ? 1 : 0;
          }
          ASSERT_EQ(got, want) << "step " << t;
          for (std::size_t s = 0; s < kSeries; ++s) {
            ASSERT_EQ(batch->state(s), singles[s].state()) << "step " << t << " series " << s;
            ASSERT_EQ(batch->direction(s), singles[s].direction());
          }
          total_drifts += got.drifts;
        }
        EXPECT_GT(total_drifts, 0U);  // the comparison covered detections and resets
      }
    }
  }
}

TEST(PageHinkleyBatch, RestartForgetsOneSeries) {
  auto batch = PageHinkleyBatch::create(3, {}).value();
  const std::vector<double> step = {1.0, 2.0, 3.0};
  ASSERT_EQ(batch.update(step), PageHinkleyBatch::Step{});
  batch.restart(1);
  EXPECT_EQ(batch.state(1), PageHinkleyState{});
  EXPECT_EQ(batch.state(2).n, 1.0);
  EXPECT_EQ(batch.size(), 3U);
  // Storage comes in blocks of kBlock series.
  EXPECT_EQ(batch.heap_bytes(), PageHinkleyBatch::kBlock * PageHinkleyBatch::kBytesPerSeries);
  EXPECT_FALSE(PageHinkleyBatch::create(4, {.alpha = 2.0}).has_value());
}

TEST(PageHinkleyBatch, AutoPicksASupportedIsa) {
  using Isa = PageHinkleyBatch::Isa;
  auto batch = PageHinkleyBatch::create(1, {}).value();
  EXPECT_NE(batch.isa(), Isa::kAuto);
  EXPECT_TRUE(PageHinkleyBatch::supported(batch.isa()));
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (PageHinkleyBatch::supported(isa)) continue;
    EXPECT_EQ(PageHinkleyBatch::create(1, {}, isa).error().code, "unsupported_isa");
  }
}

TEST(PageHinkleyBatch, EmptyBatchIsANoOp) {
  auto batch = PageHinkleyBatch::create(0, {}).value();
  EXPECT_EQ(batch.update({}), PageHinkleyBatch::Step{});
}

}  // namespace
}  // namespace opsready::detect
