#include "opsready/alerting/route.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "opsready/alerting/test_support.h"

namespace opsready::alerting {
namespace {

using test::build_or_die;
using test::kNow;
using test::M;

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// Alertmanager's dispatch/route_test.go TestRouteMatchers tree (the same tree as TestRouteMatch
// and TestRouteWalk, written with `matchers`).
RouteSpec alertmanager_test_tree() {
  return RouteSpec{
      .receiver = "notify-def",
      .routes =
          {
              RouteSpec{
                  .receiver = "notify-A",
                  .matchers = M(R"({owner="team-A", level!="critical"})"),
                  .routes =
                      {
                          RouteSpec{.receiver = "notify-testing",
                                    .group_by = std::vector<std::string>{"..."},
                                    .matchers = M(R"({env="testing", baz!~".*quux"})")},
                          RouteSpec{.receiver = "notify-productionA",
                                    .group_wait = minutes(1),
                                    .matchers = M(R"(env="production")"),
                                    .continue_matching = true},
                          RouteSpec{.receiver = "notify-productionB",
                                    .group_by = std::vector<std::string>{"job"},
                                    .group_wait = seconds(30),
                                    .group_interval = minutes(5),
                                    .repeat_interval = hours(1),
                                    .matchers = M(R"(env=~"produ.*", job=~".*")")},
                      },
              },
              RouteSpec{.receiver = "notify-BC",
                        .group_by = std::vector<std::string>{"foo", "bar"},
                        .group_wait = minutes(2),
                        .matchers = M(R"x(owner=~"team-(B|C)")x")},
              RouteSpec{
                  .group_by = std::vector<std::string>{"role"},
                  .matchers = M(R"(group_by="role")"),
                  .routes = {RouteSpec{
                      .receiver = "notify-testing",
                      .matchers = M(R"({env="testing"})"),
                      .routes = {RouteSpec{.group_wait = minutes(2),
                                           .matchers = M(R"(wait="long")")}},
                  }},
              },
          },
  };
}

struct Opts {
  std::string receiver;
  std::vector<std::string> group_by;
  bool group_by_all = false;
  core::Duration group_wait = kDefaultGroupWait;
  core::Duration group_interval = kDefaultGroupInterval;
  core::Duration repeat_interval = kDefaultRepeatInterval;
  std::string key;

  bool operator==(const Opts&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Opts& o) {
  os << "{" << o.receiver << " by=[";
  for (const auto& g : o.group_by) os << g << ",";
  return os << "] all=" << o.group_by_all << " wait=" << o.group_wait.count()
            << " interval=" << o.group_interval.count() << " repeat=" << o.repeat_interval.count()
            << " key=" << o.key << "}";
}

Opts opts_of(const Route& r) {
  return Opts{r.receiver(),       r.group_by(),        r.group_by_all(), r.group_wait(),
              r.group_interval(), r.repeat_interval(), r.key()};
}

TEST(Route, MatchesAsAlertmanagersRouteTest) {
  const Route tree = build_or_die(alertmanager_test_tree());
  struct Case {
    core::LabelSet labels;
    std::vector<Opts> want;
  };
  const std::vector<Case> cases = {
      {{{"owner", "team-A"}},
       {{.receiver = "notify-A", .key = R"({}/{level!="critical",owner="team-A"})"}}},
      {{{"owner", "team-A"}, {"env", "unset"}},
       {{.receiver = "notify-A", .key = R"({}/{level!="critical",owner="team-A"})"}}},
      {{{"owner", "team-C"}},
       {{.receiver = "notify-BC",
         .group_by = {"bar", "foo"},
         .group_wait = minutes(2),
         .key = R"x({}/{owner=~"team-(B|C)"})x"}}},
      {{{"owner", "team-A"}, {"env", "testing"}},
       {{.receiver = "notify-testing",
         .group_by_all = true,
         .key = R"({}/{level!="critical",owner="team-A"}/{baz!~".*quux",env="testing"})"}}},
      {{{"owner", "team-A"}, {"env", "production"}},
       {{.receiver = "notify-productionA",
         .group_wait = minutes(1),
         .key = R"({}/{level!="critical",owner="team-A"}/{env="production"})"},
        {.receiver = "notify-productionB",
         .group_by = {"job"},
         .group_wait = seconds(30),
         .repeat_interval = hours(1),
         .key = R"({}/{level!="critical",owner="team-A"}/{env=~"produ.*",job=~".*"})"}}},
      {{{"group_by", "role"}},
       {{.receiver = "notify-def", .group_by = {"role"}, .key = R"({}/{group_by="role"})"}}},
      {{{"env", "testing"}, {"group_by", "role"}},
       {{.receiver = "notify-testing",
         .group_by = {"role"},
         .key = R"({}/{group_by="role"}/{env="testing"})"}}},
      {{{"env", "testing"}, {"group_by", "role"}, {"wait", "long"}},
       {{.receiver = "notify-testing",
         .group_by = {"role"},
         .group_wait = minutes(2),
         .key = R"({}/{group_by="role"}/{env="testing"}/{wait="long"})"}}},
      // Beyond Alertmanager's table: nothing matches a child, so the root handles it; a
      // critical team-A alert fails the team-A node's level!="critical" and falls to the root.
      {{{"alertname", "X"}}, {{.receiver = "notify-def", .key = "{}"}}},
      {{{"owner", "team-A"}, {"level", "critical"}}, {{.receiver = "notify-def", .key = "{}"}}},
  };
  for (const Case& c : cases) {
    std::vector<Opts> got;
    for (const Route* r : tree.match(c.labels)) got.push_back(opts_of(*r));
    EXPECT_EQ(got, c.want) << c.want.front().key;
  }
}

TEST(Route, WalkVisitsDepthFirstAsAlertmanager) {
  const Route tree = build_or_die(alertmanager_test_tree());
  std::vector<std::string> got;
  tree.walk([&](const Route& r) { got.push_back(r.receiver()); });
  const std::vector<std::string> want = {
      "notify-def", "notify-A",   "notify-testing", "notify-productionA", "notify-productionB",
      "notify-BC",  "notify-def", "notify-testing", "notify-testing"};
  EXPECT_EQ(got, want);
}

TEST(Route, IndicesArePostOrderAndUnique) {
  const Route tree = build_or_die(alertmanager_test_tree());
  std::set<std::size_t> seen;
  std::size_t nodes = 0;
  tree.walk([&](const Route& r) {
    EXPECT_TRUE(seen.insert(r.index()).second) << r.id();
    ++nodes;
  });
  EXPECT_EQ(tree.index(), nodes - 1);
  EXPECT_EQ(*seen.rbegin(), nodes - 1);
  EXPECT_EQ(tree.routes()[0].routes()[0].index(), 0U);  // the first leaf comes first
}

// Alertmanager's TestRouteID: siblings with equal matchers get distinct ids.
TEST(Route, IdsAreUniqueAsAlertmanagers) {
  auto sub = [](std::string_view m) { return RouteSpec{.matchers = M(m)}; };
  const RouteSpec spec{
      .receiver = "default",
      .routes =
          {
              {.receiver = "test1",
               .matchers = M("foo=bar"),
               .continue_matching = true,
               .routes = {sub("bar=baz")}},
              {.receiver = "test1",
               .matchers = M("foo=bar"),
               .continue_matching = true,
               .routes = {sub("bar=baz")}},
              {.receiver = "test2",
               .matchers = M("foo=bar"),
               .continue_matching = true,
               .routes = {sub("bar=baz")}},
              {.receiver = "test3",
               .matchers = M("bar=baz"),
               .continue_matching = true,
               .routes = {sub("baz=qux"), sub("qux=corge")}},
              {.matchers = M(R"(qux=~"[a-zA-Z0-9]+")"), .continue_matching = true},
              {.matchers = M(R"(corge!~"[0-9]+")"), .continue_matching = true},
          },
  };
  const Route tree = build_or_die(spec);
  std::vector<std::string> got;
  tree.walk([&](const Route& r) { got.push_back(r.id()); });
  const std::vector<std::string> want = {
      R"({})",
      R"({}/{foo="bar"}/0)",
      R"({}/{foo="bar"}/0/{bar="baz"}/0)",
      R"({}/{foo="bar"}/1)",
      R"({}/{foo="bar"}/1/{bar="baz"}/0)",
      R"({}/{foo="bar"}/2)",
      R"({}/{foo="bar"}/2/{bar="baz"}/0)",
      R"({}/{bar="baz"}/3)",
      R"({}/{bar="baz"}/3/{baz="qux"}/0)",
      R"({}/{bar="baz"}/3/{qux="corge"}/1)",
      R"({}/{qux=~"[a-zA-Z0-9]+"}/4)",
      R"({}/{corge!~"[0-9]+"}/5)",
  };
  EXPECT_EQ(got, want);

  // With continue on every level-1 node, foo=bar,bar=baz reaches all four subtrees.
  std::vector<std::string> matched;
  for (const Route* r : tree.match({{"foo", "bar"}, {"bar", "baz"}})) matched.push_back(r->id());
  const std::vector<std::string> want_matched = {
      R"({}/{foo="bar"}/0/{bar="baz"}/0)", R"({}/{foo="bar"}/1/{bar="baz"}/0)",
      R"({}/{foo="bar"}/2/{bar="baz"}/0)", R"({}/{bar="baz"}/3)",
      R"({}/{corge!~"[0-9]+"}/5)",
  };
  EXPECT_EQ(matched, want_matched);
}

TEST(Route, ContinueOnlyOnTheMatchingChildDecides) {
  // A child without continue that matches stops the search; one with continue does not; a
  // continue on a child that did not match changes nothing.
  const RouteSpec spec{
      .receiver = "root",
      .routes =
          {
              {.receiver = "a", .matchers = M("x=1"), .continue_matching = true},
              {.receiver = "b", .matchers = M("y=1"), .continue_matching = false},
              {.receiver = "c", .matchers = M("z=1"), .continue_matching = true},
              {.receiver = "d", .matchers = M(R"(z=~".*")")},
          },
  };
  const Route tree = build_or_die(spec);
  struct Case {
    core::LabelSet labels;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {{{"x", "1"}}, {"a", "d"}},
      {{{"x", "1"}, {"y", "1"}}, {"a", "b"}},
      {{{"x", "1"}, {"z", "1"}}, {"a", "c", "d"}},
      {{{"y", "1"}, {"z", "1"}}, {"b"}},
      {{{"z", "1"}}, {"c", "d"}},
      {{}, {"d"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> got;
    for (const Route* r : tree.match(c.labels)) got.push_back(r->receiver());
    EXPECT_EQ(got, c.want);
  }
}

// Alertmanager's TestInheritParentGroupByAll, plus the other inherited fields.
TEST(Route, InheritsUnsetFields) {
  const RouteSpec spec{
      .receiver = "root",
      .group_by = std::vector<std::string>{"alertname"},
      .group_wait = seconds(10),
      .routes =
          {
              {.group_by = std::vector<std::string>{"..."},
               .group_interval = minutes(1),
               .matchers = M("env=parent"),
               .mute_time_intervals = {"weekends"},
               .routes =
                   {
                       {.matchers = M("env=child1")},
                       {.group_by = std::vector<std::string>{"foo"}, .matchers = M("env=child2")},
                       {.receiver = "other",
                        .group_by = std::vector<std::string>{},
                        .repeat_interval = hours(12),
                        .matchers = M("env=child3")},
                   }},
              {.receiver = "", .matchers = M("env=empty_receiver")},
          },
  };
  const Route tree = build_or_die(spec);
  const Route& parent = tree.routes()[0];
  const Route& child1 = parent.routes()[0];
  const Route& child2 = parent.routes()[1];
  const Route& child3 = parent.routes()[2];
  EXPECT_TRUE(parent.group_by_all());
  EXPECT_TRUE(child1.group_by_all());
  EXPECT_FALSE(child2.group_by_all());
  EXPECT_EQ(child2.group_by(), std::vector<std::string>{"foo"});
  EXPECT_FALSE(child3.group_by_all());
  EXPECT_TRUE(child3.group_by().empty());

  EXPECT_EQ(tree.group_wait(), seconds(10));
  EXPECT_EQ(tree.group_interval(), kDefaultGroupInterval);
  EXPECT_EQ(tree.repeat_interval(), kDefaultRepeatInterval);
  EXPECT_EQ(child1.receiver(), "root");
  EXPECT_EQ(child1.group_wait(), seconds(10));
  EXPECT_EQ(child1.group_interval(), minutes(1));
  EXPECT_EQ(child3.receiver(), "other");
  EXPECT_EQ(child3.repeat_interval(), hours(12));
  EXPECT_EQ(child3.group_interval(), minutes(1));
  // An empty receiver inherits, as in Alertmanager.
  EXPECT_EQ(tree.routes()[1].receiver(), "root");
  // Time intervals are per node (Alertmanager's newRoute assigns, does not inherit, them).
  EXPECT_EQ(parent.mute_time_intervals(), std::vector<std::string>{"weekends"});
  EXPECT_TRUE(child1.mute_time_intervals().empty());
}

TEST(Route, BuildReportsErrorsWithTheirPath) {
  struct Case {
    std::string name;
    RouteSpec spec;
    std::string code;
    std::string field;
  };
  auto with_child = [](RouteSpec child) {
    return RouteSpec{.receiver = "r",
                     .routes = {RouteSpec{.matchers = M("a=b")},
                                RouteSpec{.matchers = M("a=c"), .routes = {std::move(child)}}}};
  };
  const std::vector<Case> cases = {
      {"no receiver", RouteSpec{}, "route_missing_receiver", "route.receiver"},
      {"empty receiver", RouteSpec{.receiver = ""}, "route_missing_receiver", "route.receiver"},
      {"root matchers", RouteSpec{.receiver = "r", .matchers = M("a=b")}, "route_root_matchers",
       "route.matchers"},
      {"root continue", RouteSpec{.receiver = "r", .continue_matching = true},
       "route_root_continue", "route.continue"},
      {"root mute", RouteSpec{.receiver = "r", .mute_time_intervals = {"w"}},
       "route_root_time_intervals", "route.mute_time_intervals"},
      {"root active", RouteSpec{.receiver = "r", .active_time_intervals = {"w"}},
       "route_root_time_intervals", "route.active_time_intervals"},
      {"negative group_wait", with_child({.group_wait = seconds(-1)}), "route_invalid_duration",
       "route.routes[1].routes[0].group_wait"},
      {"zero group_interval", with_child({.group_interval = seconds(0)}), "route_invalid_duration",
       "route.routes[1].routes[0].group_interval"},
      {"zero repeat_interval", with_child({.repeat_interval = seconds(0)}),
       "route_invalid_duration", "route.routes[1].routes[0].repeat_interval"},
      {"bad group_by label", with_child({.group_by = std::vector<std::string>{"ok", "not-ok"}}),
       "route_invalid_group_by", "route.routes[1].routes[0].group_by[1]"},
      {"duplicate group_by label", with_child({.group_by = std::vector<std::string>{"a", "a"}}),
       "route_invalid_group_by", "route.routes[1].routes[0].group_by[1]"},
      {"... with others", with_child({.group_by = std::vector<std::string>{"...", "a"}}),
       "route_invalid_group_by", "route.routes[1].routes[0].group_by"},
      {"root group_by", RouteSpec{.receiver = "r", .group_by = std::vector<std::string>{""}},
       "route_invalid_group_by", "route.group_by[0]"},
      {"empty time interval name", with_child({.active_time_intervals = {"a", ""}}),
       "route_invalid_time_interval", "route.routes[1].routes[0].active_time_intervals[1]"},
  };
  for (const Case& c : cases) {
    auto r = Route::build(c.spec);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name;
    EXPECT_EQ(r.error().field, c.field) << c.name;
  }
  // A zero group_wait is allowed (notify at once), as in Alertmanager.
  EXPECT_TRUE(Route::build(with_child({.group_wait = seconds(0)})).has_value());
}

TEST(GroupKey, UsesGroupByLabelsOrAllAndPrintsLikeAlertmanager) {
  const RouteSpec spec{
      .receiver = "root",
      .group_by = std::vector<std::string>{"alertname", "cluster"},
      .routes = {{.receiver = "page",
                  .matchers = M(R"(severity="critical")"),
                  .routes = {{.group_by = std::vector<std::string>{"..."},
                              .matchers = M("team=infra")}}},
                 {.receiver = "none",
                  .group_by = std::vector<std::string>{},
                  .matchers = M("severity=info")}},
  };
  const Route tree = build_or_die(spec);
  struct Case {
    core::LabelSet labels;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{{"alertname", "X"}, {"severity", "critical"}, {"cluster", "eu"}, {"pod", "p1"}},
       R"({}/{severity="critical"}/0:{alertname="X", cluster="eu"})"},
      // A group_by label the alert lacks (or has empty) is left out.
      {{{"alertname", "X"}, {"severity", "critical"}},
       R"({}/{severity="critical"}/0:{alertname="X"})"},
      {{{"alertname", "X"}, {"severity", "critical"}, {"cluster", ""}},
       R"({}/{severity="critical"}/0:{alertname="X"})"},
      {{{"alertname", "X"}, {"severity", "warning"}, {"cluster", "us"}},
       R"({}:{alertname="X", cluster="us"})"},
      {{{"alertname", "X"}, {"severity", "critical"}, {"team", "infra"}, {"pod", "p\"1\n"}},
       R"({}/{severity="critical"}/0/{team="infra"}/0:{alertname="X", pod="p\"1\n", )"
       R"(severity="critical", team="infra"})"},
      {{{"alertname", "X"}, {"severity", "info"}}, R"({}/{severity="info"}/1:{})"},
      {{{"alertname", "Y"}, {"severity", "warning"}, {"msg", "a\\b\t\x01"}},
       R"({}:{alertname="Y"})"},
  };
  for (const Case& c : cases) {
    const auto routes = tree.match(c.labels);
    ASSERT_EQ(routes.size(), 1U);
    EXPECT_EQ(group_key(*routes[0], c.labels).to_string(), c.want);
  }
  const GroupKey escaped{"{}", {{"m", "a\\b\t\x01\x7f"}}};
  EXPECT_EQ(escaped.to_string(), R"({}:{m="a\\b\t\x01\x7f"})");
  // Equal group labels give equal keys; keys order by route id, then labels.
  const GroupKey a = group_key(tree, {{"alertname", "A"}, {"x", "1"}});
  const GroupKey b = group_key(tree, {{"alertname", "A"}, {"x", "2"}});
  EXPECT_EQ(a, b);
  EXPECT_LT(group_key(tree, {{"alertname", "A"}}), group_key(tree, {{"alertname", "B"}}));
}

// 100 000 distinct alerts through a 3-level tree: every result equals what an independent,
// hand-written reading of the tree says, and routing the same alerts through a second tree
// built from the same spec (and through a copy) gives the same routes and group keys.
TEST(Route, HundredThousandAlertsRouteDeterministically) {
  const std::vector<std::string> teams = {"a", "b", "c", "d"};
  RouteSpec spec{.receiver = "default", .group_by = std::vector<std::string>{"alertname"}};
  for (const std::string& t : teams) {
    RouteSpec team{.receiver = "team-" + t, .matchers = M("team=" + t)};
    RouteSpec prod{.receiver = t + "-prod",
                   .matchers = M("env=prod"),
                   .continue_matching = true,
                   .routes = {
                       {.receiver = t + "-page", .matchers = M("severity=critical")},
                       {.group_by = std::vector<std::string>{"..."},
                        .matchers = M(R"(severity=~"warning|info")")},
                   }};
    RouteSpec nonlab{.receiver = t + "-nonlab",
                     .group_by = std::vector<std::string>{"alertname", "env"},
                     .matchers = M(R"(env=~"prod|staging")"),
                     .routes = {{.receiver = t + "-db", .matchers = M(R"(service=~"db-.*")")}}};
    team.routes = {prod, nonlab};
    spec.routes.push_back(team);
  }
  spec.routes.push_back({.receiver = "unknown-team", .matchers = M(R"(team=~".+")")});

  const Route tree = build_or_die(spec);
  const Route again = build_or_die(spec);
  const Route copy = tree;
  ASSERT_EQ(tree, again);

  const std::vector<std::string> envs = {"prod", "staging", "lab", ""};
  const std::vector<std::string> severities = {"critical", "warning", "info", "none"};
  const std::vector<std::string> team_values = {"a", "b", "c", "d", "zz", ""};

  // The receivers the tree above must produce, written out by hand.
  auto oracle = [&](const std::string& team, const std::string& env, const std::string& sev,
                    const std::string& service) {
    std::vector<std::string> out;
    if (team.empty()) return std::vector<std::string>{"default"};
    if (team.size() > 1) return std::vector<std::string>{"unknown-team"};
    // Under prod, warning/info reach the group_by-all leaf, which inherits `<team>-prod`;
    // other severities stay at the prod node itself, with the same receiver.
    if (env == "prod") out.push_back(sev == "critical" ? team + "-page" : team + "-prod");
    if (env == "prod" || env == "staging") {
      out.push_back(service.starts_with("db-") ? team + "-db" : team + "-nonlab");
    }
    if (out.empty()) out.push_back("team-" + team);
    return out;
  };

  std::vector<const Route*> scratch;
  std::map<std::string, std::size_t> per_receiver;
  std::set<std::string> group_keys;
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    // A fixed mixing of i, so the labels are spread but the same on every run.
    const std::uint32_t h = i * 2654435761U;
    const std::string& team = team_values[h % team_values.size()];
    const std::string& env = envs[(h >> 8) % envs.size()];
    const std::string& sev = severities[(h >> 16) % severities.size()];
    const std::string service = ((h >> 24) % 3 == 0 ? "db-" : "api-") + std::to_string(i % 17);
    core::LabelSet labels{{"alertname", "A" + std::to_string(i % 50)},
                          {"instance", "host-" + std::to_string(i)},
                          {"service", service}};
    if (!team.empty()) labels["team"] = team;
    if (!env.empty()) labels["env"] = env;
    if (sev != "none") labels["severity"] = sev;

    scratch.clear();
    tree.match_into(labels, scratch);
    std::vector<std::string> got;
    for (const Route* r : scratch) got.push_back(r->receiver());
    ASSERT_EQ(got, oracle(team, env, sev, service)) << "alert " << i;

    const auto second = again.match(labels);
    const auto third = copy.match(labels);
    ASSERT_EQ(second.size(), scratch.size());
    ASSERT_EQ(third.size(), scratch.size());
    for (std::size_t k = 0; k < scratch.size(); ++k) {
      ASSERT_EQ(second[k]->id(), scratch[k]->id());
      ASSERT_EQ(third[k]->id(), scratch[k]->id());
      const std::string key = group_key(*scratch[k], labels).to_string();
      ASSERT_EQ(group_key(*second[k], labels).to_string(), key);
      group_keys.insert(key);
      ++per_receiver[scratch[k]->receiver()];
    }
  }
  // Every leaf of the tree was reached, and group_by `...` leaves made one group per alert.
  EXPECT_EQ(per_receiver.size(), 1 + 1 + teams.size() * 5);
  EXPECT_GT(group_keys.size(), 5'000U);
}

}  // namespace
}  // namespace opsready::alerting
