#pragma once
// `opsready detect <detector> --input FILE.csv`: runs one streaming detector over one column of
// a recorded series so operators can tune thresholds offline (docs/components.md).
//
//   DetectOptions o{.detector = "page-hinkley", .input = "lag.csv", .column = "lag_seconds"};
//   o.threshold = 20;
//   int code = run_detect(o, std::cout, std::cerr);   // kExitOk, kExitUsage, kExitDataErr, ...
//
// Output, one detection per line (CSV: `index,direction,statistic,level`; JSON: one document
// {detector, input, column, parameters, samples, refused, detections[...]}):
// - page-hinkley, cusum: every sample after which the detector reports drift (River's
//   semantics; it resets on the next sample); statistic = the crossing side's test statistic
//   (for cusum in reference standard deviations, comparable with --threshold);
// - variance: every sample at which the variance-ratio grade rises (normal → warn/alert,
//   warn → alert); statistic = the ratio;
// - psi: the last sample of each full evaluation window whose PSI against the baseline (the
//   first --baseline samples) reaches --alert; direction = the evaluation mean against the
//   baseline mean.
// Index is the 0-based data row (the header is not a row). Values that parse as NaN or ±inf are
// refused by the detector and counted, never folded in. A missing column, a short row or a
// non-numeric value names FILE:LINE and exits 65; bad parameters exit 64; an unreadable file 66.

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace opsready::app {

struct DetectOptions {
  std::string detector;  // page-hinkley | cusum | variance | psi
  std::filesystem::path input;
  std::string column = "x";
  std::string format = "csv";  // csv | json
  // page-hinkley and cusum (River's defaults when unset).
  std::optional<std::uint32_t> min_instances;
  std::optional<double> delta;      // page-hinkley: 0.005
  std::optional<double> threshold;  // page-hinkley: 50; cusum: 5 (in standard deviations)
  std::optional<double> alpha;      // page-hinkley: 1 - 0.0001
  std::optional<double> slack;      // cusum: 0.5 (in standard deviations)
  std::optional<std::string> mode;  // up | down | both
  // variance.
  std::optional<std::uint32_t> baseline_window;    // 20
  std::optional<std::uint32_t> evaluation_window;  // 20
  std::optional<double> warn_ratio;                // 1.5
  std::optional<double> alert_ratio;               // 2.5
  // psi.
  std::optional<std::uint32_t> baseline;  // 120 samples
  std::optional<std::uint32_t> window;    // 24 samples
  std::optional<std::uint32_t> buckets;   // 10
  std::optional<double> epsilon;          // 1e-6
  std::optional<double> alert;            // 0.25
};

[[nodiscard]] int run_detect(const DetectOptions& options, std::ostream& out, std::ostream& err);

}  // namespace opsready::app
