#pragma once
// Route: Alertmanager's routing tree. A RouteSpec is the tree as configured (a field left unset
// is std::nullopt); Route::build() validates it and compiles it into a Route tree in which
// every node carries its effective options, inherited from its parent where unset. match()
// tells which nodes handle an alert, and group_key() which aggregation group of a node the
// alert joins.
//
//   RouteSpec pager{.receiver = "pager", .matchers = *parse_matchers("severity=critical")};
//   RouteSpec spec{.receiver = "ops", .group_by = {{"alertname"}}, .routes = {pager}};
//   core::Result<Route> tree = Route::build(spec);   // errors carry .field = "route.routes[0]..."
//   for (const Route* r : tree->match(alert.labels)) {
//     GroupKey key = group_key(*r, alert.labels);    // {}/{severity="critical"}/0:{alertname="X"}
//     notify(r->receiver(), key, r->group_wait());
//   }
//
// Semantics are Alertmanager's (dispatch/route.go, config/config.go):
//  - every alert enters at the root, which has a receiver, no matchers, no `continue` and no
//    time intervals; the search is depth-first, left to right; at each node the first matching
//    child wins unless that child has `continue: true`, in which case later siblings are tried
//    too; a matching node none of whose children match handles the alert itself;
//  - receiver, group_by (and `...`), group_wait (30s), group_interval (5m) and repeat_interval
//    (4h) are inherited from the parent when unset; group_by: [] (set, empty) means "no grouping
//    labels" and is not inherited from the parent; mute_time_intervals and
//    active_time_intervals are NOT inherited (Alertmanager's code assigns them per node), they
//    are only stored here: evaluating them is the caller's job;
//  - a node's matchers are kept in Alertmanager's sort order (name, value, type), which is the
//    order its key and id print them in.
//
// Plain value types. A Route tree owns its children by value; the pointers match() returns
// point into the tree and stay valid while the tree is neither destroyed nor moved nor assigned.
// Not thread-safe for writes; const use from several threads is safe, but the intended user is
// the single evaluation strand that owns the tree.

#include <chrono>
#include <compare>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/alerting/matcher.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::alerting {

// The group_by entry that means "every label of the alert" (it must be the only entry).
inline constexpr std::string_view kGroupByAll = "...";

inline constexpr core::Duration kDefaultGroupWait = std::chrono::seconds(30);
inline constexpr core::Duration kDefaultGroupInterval = std::chrono::minutes(5);
inline constexpr core::Duration kDefaultRepeatInterval = std::chrono::hours(4);

// One node as configured. std::nullopt (and an empty receiver) means "inherit".
struct RouteSpec {
  std::optional<std::string> receiver;
  std::optional<std::vector<std::string>> group_by;
  std::optional<core::Duration> group_wait;
  std::optional<core::Duration> group_interval;
  std::optional<core::Duration> repeat_interval;
  Matchers matchers;
  bool continue_matching = false;  // `continue` in the configuration
  std::vector<std::string> mute_time_intervals;
  std::vector<std::string> active_time_intervals;
  std::vector<RouteSpec> routes;

  bool operator==(const RouteSpec&) const = default;
};

class Route {
 public:
  // Validates `root` and compiles the tree. Errors (code, field):
  //   route_missing_receiver      route.receiver            the root has none
  //   route_root_matchers         route.matchers            the root must match every alert
  //   route_root_continue         route.continue
  //   route_root_time_intervals   route.mute_time_intervals / route.active_time_intervals
  //   route_invalid_group_by      ….group_by[i] / ….group_by  bad or duplicate label name,
  //                                                          `...` together with other labels
  //   route_invalid_duration      ….group_wait (negative), ….group_interval /
  //                               ….repeat_interval (zero or negative)
  //   route_invalid_time_interval ….mute_time_intervals[i]   an empty name
  // with fields such as `route.routes[2].routes[0].group_wait`. Receiver names are not checked
  // against the receivers list here: that is the configuration's job (use walk()).
  [[nodiscard]] static core::Result<Route> build(const RouteSpec& root);

  [[nodiscard]] const std::string& receiver() const { return receiver_; }
  // Sorted, without duplicates; empty when group_by_all().
  [[nodiscard]] const std::vector<std::string>& group_by() const { return group_by_; }
  [[nodiscard]] bool group_by_all() const { return group_by_all_; }
  [[nodiscard]] core::Duration group_wait() const { return group_wait_; }
  [[nodiscard]] core::Duration group_interval() const { return group_interval_; }
  [[nodiscard]] core::Duration repeat_interval() const { return repeat_interval_; }
  [[nodiscard]] const Matchers& matchers() const { return matchers_; }
  [[nodiscard]] bool continue_matching() const { return continue_matching_; }
  [[nodiscard]] const std::vector<std::string>& mute_time_intervals() const {
    return mute_time_intervals_;
  }
  [[nodiscard]] const std::vector<std::string>& active_time_intervals() const {
    return active_time_intervals_;
  }
  [[nodiscard]] const std::vector<Route>& routes() const { return routes_; }

  // Alertmanager's Route.ID(): unique in the tree. The root is `{}`; a child appends
  // `/<its matchers>/<its position among its siblings>`: `{}/{team="a"}/0/{env="prod"}/1`.
  [[nodiscard]] const std::string& id() const { return id_; }
  // Alertmanager's Route.Key(): the same without positions, so siblings with equal matchers
  // share it: `{}/{team="a"}/{env="prod"}`.
  [[nodiscard]] const std::string& key() const { return key_; }
  // Alertmanager's Route.Idx: the node's rank in a post-order walk (children before their
  // parent), so the root has the largest, tree size - 1. Suits arrays indexed by route.
  [[nodiscard]] std::size_t index() const { return index_; }

  // The nodes that handle `labels`, in depth-first order; never empty for a tree built by
  // build() (the root matches everything).
  [[nodiscard]] std::vector<const Route*> match(const core::LabelSet& labels) const;
  // The same, appended to `out` (so a caller can reuse one vector); returns how many were added.
  std::size_t match_into(const core::LabelSet& labels, std::vector<const Route*>& out) const;

  // Calls visit(const Route&) on this node, then on its descendants, depth-first (pre-order).
  template <typename Visit>
  void walk(Visit&& visit) const {
    visit(*this);
    for (const Route& child : routes_) child.walk(visit);
  }

  bool operator==(const Route&) const = default;

 private:
  Route() = default;

  std::string receiver_;
  std::vector<std::string> group_by_;
  bool group_by_all_ = false;
  core::Duration group_wait_ = kDefaultGroupWait;
  core::Duration group_interval_ = kDefaultGroupInterval;
  core::Duration repeat_interval_ = kDefaultRepeatInterval;
  Matchers matchers_;
  bool continue_matching_ = false;
  std::vector<std::string> mute_time_intervals_;
  std::vector<std::string> active_time_intervals_;
  std::vector<Route> routes_;
  std::string id_;
  std::string key_;
  std::size_t index_ = 0;

  friend class RouteBuilder;
};

// The aggregation group an alert joins on a route: the route's id and the alert's values of the
// route's group_by labels (every label with `...`). Labels the alert lacks, or has with an
// empty value, are left out, as a missing label and an empty one are the same to a matcher.
struct GroupKey {
  std::string route_id;
  core::LabelSet labels;

  // `<route id>:<labels>`, labels as Alertmanager prints a label set (model.LabelSet.String):
  // sorted by name, `name="value"` joined by ", ", values quoted with `\\`, `\"`, `\n`, `\r`,
  // `\t` and other control bytes as `\xNN`:  `{}/{severity="critical"}/0:{alertname="X"}`.
  // Alertmanager's own group key starts with Route.Key(), which siblings with equal matchers
  // share; the id is unique, so two such siblings never share a group key here.
  [[nodiscard]] std::string to_string() const;

  auto operator<=>(const GroupKey&) const = default;
  bool operator==(const GroupKey&) const = default;
};

// The labels of `labels` that define its group on `route` (see GroupKey).
[[nodiscard]] core::LabelSet group_labels(const Route& route, const core::LabelSet& labels);
[[nodiscard]] GroupKey group_key(const Route& route, const core::LabelSet& labels);

}  // namespace opsready::alerting
