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
// the offending key. Keys that are absent keep their defaults. Control plane only; may be
// called from any thread on its own arguments.

#include <functional>
#include <string>

#include "opsready/components/registry.h"

namespace YAML {
class Node;
}

namespace opsready::app {

using ConfigErrorSink = std::function<void(const YAML::Node& at, std::string message)>;

// Reads `section` (the value of the top-level `detectors:` key) into `out`.
void load_components_config(const YAML::Node& section, components::ComponentsConfig& out,
                            const ConfigErrorSink& error);

}  // namespace opsready::app
