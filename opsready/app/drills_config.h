#pragma once
// The `drills:` section of the configuration and the drill scenario files it names
// (docs/drills.md, docs/configuration.md "drills"), read with the configuration's one reader.
//
//   drills:
//     scenarios: [drills/]        # files, or directories of *.yml / *.yaml, relative to the file
//     poll_interval: 100ms
//
// A scenario file's problems are reported with its own name and line, as alerting.config_file's
// are; a scenario naming a receiver the alerting policy does not have is refused.

#include <filesystem>
#include <string>
#include <vector>

#include "opsready/alerting/policy.h"
#include "opsready/app/alerting_config.h"
#include "opsready/app/config.h"
#include "opsready/app/config_reader.h"
#include "opsready/core/clock.h"
#include "opsready/drills/scenario.h"

namespace opsready::app {

// The `drills:` field of the top-level table. `policy` is the alerting policy read before it
// (receivers are checked against it).
[[nodiscard]] config::Field drills_field(std::string key, const std::string& file,
                                         DrillsConfig& out, const alerting::Policy& policy,
                                         OtherFileSinks other_file);

using ScenarioResult = std::expected<drills::Scenario, std::vector<ConfigError>>;
// One scenario document (`name` is its file name in messages).
[[nodiscard]] ScenarioResult parse_scenario(const std::string& yaml, const std::string& name);

}  // namespace opsready::app
