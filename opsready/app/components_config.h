#pragma once
// The `detectors:` section of the configuration file: the settings of the built-in component
// evaluators (components::ComponentsConfig), each threshold overridable, every key documented
// in docs/components.md.
//
//   components::ComponentsConfig detectors;
//   load_components_config(root["detectors"], detectors,
//                          [&](const YAML::Node& at, std::string message) {
//                            errors.push_back({file, line_of(at), std::move(message)});
//                          });
//
// Every problem is reported through the sink with the node it concerns (so the caller can say
// file:line) and loading goes on, so one run lists every error: unknown keys, wrong types,
// values out of range, and the components' own validation (components::validate), reported at
// the offending key. Keys that are absent keep their defaults; nothing is applied from a
// section with errors. The section is one declarative table per detector (config_reader.h),
// which parse_config() reads through detectors_field(). Control plane only; may be called from
// any thread on its own arguments.

#include <string>

#include "opsready/app/config_reader.h"
#include "opsready/components/registry.h"

namespace opsready::app {

using ConfigErrorSink = config::Sink;

// The `detectors:` section as a field of the top-level table, read into `out`.
[[nodiscard]] config::Field detectors_field(std::string key, components::ComponentsConfig& out);

// Reads `section` (the value of the top-level `detectors:` key) into `out`.
void load_components_config(const YAML::Node& section, components::ComponentsConfig& out,
                            const ConfigErrorSink& error);

}  // namespace opsready::app
