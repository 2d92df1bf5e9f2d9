#include "opsready/alerting/route.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <utility>

namespace opsready::alerting {

class RouteBuilder {
 public:
  // `parent` is nullptr for the root; `position` is the node's index among its siblings.
  core::Result<Route> build(const RouteSpec& spec, const Route* parent, std::size_t position,
                            const std::string& path) {
    Route r;
    if (parent != nullptr) {
      r.receiver_ = parent->receiver_;
      r.group_by_ = parent->group_by_;
      r.group_by_all_ = parent->group_by_all_;
      r.group_wait_ = parent->group_wait_;
      r.group_interval_ = parent->group_interval_;
      r.repeat_interval_ = parent->repeat_interval_;
    }
    if (spec.receiver && !spec.receiver->empty()) r.receiver_ = *spec.receiver;

    if (spec.group_by) {
      auto g = compile_group_by(*spec.group_by, path + ".group_by");
      if (!g) return std::unexpected(std::move(g.error()));
      r.group_by_all_ = g->second;
      r.group_by_ = std::move(g->first);
    }

    if (spec.group_wait) {
      if (*spec.group_wait < core::Duration::zero()) {
        return core::fail("route_invalid_duration", "group_wait must not be negative",
                          path + ".group_wait");
      }
      r.group_wait_ = *spec.group_wait;
    }
    if (spec.group_interval) {
      if (*spec.group_interval <= core::Duration::zero()) {
        return core::fail("route_invalid_duration", "group_interval must be positive",
                          path + ".group_interval");
      }
      r.group_interval_ = *spec.group_interval;
    }
    if (spec.repeat_interval) {
      if (*spec.repeat_interval <= core::Duration::zero()) {
        return core::fail("route_invalid_duration", "repeat_interval must be positive",
                          path + ".repeat_interval");
      }
      r.repeat_interval_ = *spec.repeat_interval;
    }

    for (const auto* field : {&spec.mute_time_intervals, &spec.active_time_intervals}) {
      const char* name =
          field == &spec.mute_time_intervals ? "mute_time_intervals" : "active_time_intervals";
      for (std::size_t i = 0; i < field->size(); ++i) {
        if ((*field)[i].empty()) {
          return core::fail("route_invalid_time_interval", "time interval name is empty",
                            path + "." + name + "[" + std::to_string(i) + "]");
        }
      }
    }
    r.mute_time_intervals_ = spec.mute_time_intervals;
    r.active_time_intervals_ = spec.active_time_intervals;

    r.matchers_ = spec.matchers;
    std::stable_sort(r.matchers_.begin(), r.matchers_.end());
    r.continue_matching_ = spec.continue_matching;

    const std::string printed = to_string(r.matchers_);
    if (parent == nullptr) {
      r.id_ = printed;
      r.key_ = printed;
    } else {
      r.id_ = parent->id_ + "/" + printed + "/" + std::to_string(position);
      r.key_ = parent->key_ + "/" + printed;
    }

    r.routes_.reserve(spec.routes.size());
    for (std::size_t i = 0; i < spec.routes.size(); ++i) {
      auto child = build(spec.routes[i], &r, i, path + ".routes[" + std::to_string(i) + "]");
      if (!child) return child;
      r.routes_.push_back(std::move(*child));
    }
    r.index_ = next_index_++;
    return r;
  }

 private:
  // The sorted label names and whether `...` was given.
  static core::Result<std::pair<std::vector<std::string>, bool>> compile_group_by(
      const std::vector<std::string>& names, const std::string& path) {
    std::set<std::string> seen;
    bool all = false;
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string field = path + "[" + std::to_string(i) + "]";
      const std::string& n = names[i];
      if (n == kGroupByAll) {
        all = true;
        continue;
      }
      if (!core::is_valid_label_name(n)) {
        return core::fail("route_invalid_group_by", "invalid label name \"" + n + "\"", field);
      }
      if (!seen.insert(n).second) {
        return core::fail("route_invalid_group_by", "duplicated label \"" + n + "\"", field);
      }
    }
    if (all && names.size() > 1) {
      return core::fail("route_invalid_group_by",
                        "cannot have wildcard group_by (`...`) and other labels at the same time",
                        path);
    }
    return std::pair{std::vector<std::string>(seen.begin(), seen.end()), all};
  }

  std::size_t next_index_ = 0;
};

core::Result<Route> Route::build(const RouteSpec& root) {
  if (!root.receiver || root.receiver->empty()) {
    return core::fail("route_missing_receiver", "the root route must specify a default receiver",
                      "route.receiver");
  }
  if (!root.matchers.empty()) {
    return core::fail("route_root_matchers",
                      "the root route must not have any matchers: every alert enters there",
                      "route.matchers");
  }
  if (root.continue_matching) {
    return core::fail("route_root_continue", "the root route cannot have continue",
                      "route.continue");
  }
  if (!root.mute_time_intervals.empty()) {
    return core::fail("route_root_time_intervals",
                      "the root route must not have any mute time intervals",
                      "route.mute_time_intervals");
  }
  if (!root.active_time_intervals.empty()) {
    return core::fail("route_root_time_intervals",
                      "the root route must not have any active time intervals",
                      "route.active_time_intervals");
  }
  RouteBuilder builder;
  return builder.build(root, nullptr, 0, "route");
}

std::size_t Route::match_into(const core::LabelSet& labels, std::vector<const Route*>& out) const {
  if (!alerting::matches(matchers_, labels)) return 0;
  const std::size_t before = out.size();
  for (const Route& child : routes_) {
    const std::size_t added = child.match_into(labels, out);
    if (added > 0 && !child.continue_matching_) break;
  }
  if (out.size() == before) out.push_back(this);
  return out.size() - before;
}

std::vector<const Route*> Route::match(const core::LabelSet& labels) const {
  std::vector<const Route*> out;
  match_into(labels, out);
  return out;
}

core::LabelSet group_labels(const Route& route, const core::LabelSet& labels) {
  core::LabelSet out;
  if (route.group_by_all()) {
    for (const auto& [name, value] : labels) {
      if (!value.empty()) out.emplace_hint(out.end(), name, value);
    }
    return out;
  }
  for (const std::string& name : route.group_by()) {
    const auto it = labels.find(name);
    if (it != labels.end() && !it->second.empty()) out.emplace_hint(out.end(), name, it->second);
  }
  return out;
}

GroupKey group_key(const Route& route, const core::LabelSet& labels) {
  return GroupKey{route.id(), group_labels(route, labels)};
}

std::string GroupKey::to_string() const {
  std::string out = route_id;
  out += ":{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ", ";
    first = false;
    out += name;
    out += "=\"";
    for (const char c : value) {
      const auto u = static_cast<unsigned char>(c);
      switch (c) {
        case '\\':
          out += "\\\\";
          break;
        case '"':
          out += "\\\"";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (u < 0x20 || u == 0x7f) {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
          } else {
            out.push_back(c);
          }
      }
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace opsready::alerting
