#include "opsready/alerting/notify/template.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "opsready/alerting/notify/encoding.h"
#include "opsready/core/text.h"

namespace opsready::alerting::notify {
namespace {

namespace mu = kainjow::mustache;

mu::data map_of(const core::LabelSet& labels) {
  mu::data out{mu::data::type::object};
  for (const auto& [name, value] : labels) out.set(name, mu::data(value));
  return out;
}

mu::data list_of(const core::LabelSet& labels) {
  mu::data out{mu::data::type::list};
  for (const auto& [name, value] : labels) {
    mu::data pair{mu::data::type::object};
    pair.set("name", mu::data(name));
    pair.set("value", mu::data(value));
    out.push_back(pair);
  }
  return out;
}

mu::data alert_view(const core::Alert& a, bool firing) {
  mu::data v{mu::data::type::object};
  v.set("status", mu::data(std::string(firing ? "firing" : "resolved")));
  v.set("labels", map_of(a.labels));
  v.set("annotations", map_of(a.annotations));
  v.set("labelsList", list_of(a.labels));
  v.set("annotationsList", list_of(a.annotations));
  v.set("startsAt", mu::data(go_time(a.starts_at)));
  v.set("endsAt", mu::data(firing ? std::string("0001-01-01T00:00:00Z") : go_time(a.ends_at)));
  v.set("generatorURL", mu::data(a.generator_url));
  v.set("fingerprint", mu::data(a.fingerprint));
  return v;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// Alertmanager's default template references (template/default.tmpl, 0.25) and what each means
// in opsready. The defaults that are empty there are empty here.
struct GoDefault {
  std::string_view name;
  std::string_view ours;
};
constexpr std::array<GoDefault, 16> kGoDefaults = {{
    {"email.default.subject", kDefaultSubject},
    {"email.default.html", kDefaultEmailHtml},
    {"email.default.text", kDefaultEmailText},
    {"__subject", kDefaultSubject},
    {"slack.default.title", kDefaultSubject},
    {"slack.default.text", kDefaultSlackText},
    {"slack.default.username", kDefaultSlackUsername},
    {"slack.default.fallback", kDefaultSubject},
    {"slack.default.titlelink", "{{externalURL}}"},
    {"slack.default.pretext", ""},
    {"slack.default.callbackid", ""},
    {"slack.default.iconemoji", ""},
    {"slack.default.iconurl", ""},
    {"slack.default.footer", ""},
    {"__alertmanager", kDefaultSlackUsername},
    {"__alertmanagerURL", "{{externalURL}}"},
}};

// The inside of a Go action, "{{- .X -}}" → ".X".
std::string_view action_body(std::string_view tag) {
  tag = core::trim(tag);
  if (tag.starts_with('-')) tag.remove_prefix(1);
  if (tag.ends_with('-')) tag.remove_suffix(1);
  return core::trim(tag);
}

// Whitespace runs as one space, so `{{template "x" .}}` and `{{ template "x" . }}` compare equal.
std::string squeeze(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::optional<std::string_view> go_default(std::string_view value) {
  const std::string v = squeeze(value);
  if (v == R"({{ if eq .Status "firing" }}danger{{ else }}good{{ end }})") {
    return kDefaultSlackColor;
  }
  const auto acts = template_actions(v);
  if (acts.size() != 1 || !v.starts_with("{{") || !v.ends_with("}}")) return std::nullopt;
  const std::string body(action_body(acts.front()));
  for (const GoDefault& d : kGoDefaults) {
    if (body == "template \"" + std::string(d.name) + "\" .") return d.ours;
  }
  return std::nullopt;
}

// A mustache spelling of a plain Go field reference (".CommonLabels.alertname" →
// "commonLabels.alertname"), or empty.
std::string suggestion(std::string_view value) {
  const auto acts = template_actions(value);
  std::string out(value);
  for (const std::string_view raw : acts) {
    const std::string_view a = action_body(raw);
    if (a.size() < 2 || a.front() != '.' || !std::all_of(a.begin(), a.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
        })) {
      return {};
    }
    std::string name(a.substr(1));
    name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    const std::string from = "{{" + std::string(raw) + "}}";
    out.replace(out.find(from), from.size(), "{{" + name + "}}");
  }
  return out;
}

}  // namespace

View make_view(const Data& d, std::size_t truncated_alerts) {
  mu::data v{mu::data::type::object};
  const bool firing = d.status == "firing";
  v.set("receiver", mu::data(d.receiver));
  v.set("status", mu::data(d.status));
  v.set("isFiring", mu::data(firing));
  v.set("isResolved", mu::data(!firing));
  v.set("externalURL", mu::data(d.external_url));
  v.set("groupKey", mu::data(d.group_key));
  v.set("groupId", mu::data(d.group_id));
  v.set("notificationId", mu::data(d.notification_id));
  v.set("reason", mu::data(d.reason));
  mu::data all{mu::data::type::list};
  mu::data fired{mu::data::type::list};
  mu::data resolved{mu::data::type::list};
  for (std::size_t i = 0; i < d.alerts.size(); ++i) {
    const bool f = i < d.firing_count;
    mu::data a = alert_view(d.alerts[i], f);
    all.push_back(a);
    (f ? fired : resolved).push_back(a);
  }
  v.set("alerts", all);
  v.set("firingAlerts", fired);
  v.set("resolvedAlerts", resolved);
  v.set("numFiring", mu::data(std::to_string(d.firing_count)));
  v.set("numResolved", mu::data(std::to_string(d.alerts.size() - d.firing_count)));
  v.set("truncatedAlerts", mu::data(std::to_string(truncated_alerts)));
  v.set("groupLabels", map_of(d.group_labels));
  v.set("commonLabels", map_of(d.common_labels));
  v.set("commonAnnotations", map_of(d.common_annotations));
  v.set("groupLabelsList", list_of(d.group_labels));
  v.set("commonLabelsList", list_of(d.common_labels));
  v.set("commonAnnotationsList", list_of(d.common_annotations));
  v.set("severity", mu::data(d.severity));
  v.set("severity_upper", mu::data(upper(d.severity)));
  v.set("category", mu::data(d.category));
  v.set("message", mu::data(d.message));
  v.set("occurred_at", mu::data(d.occurred_at));
  mu::data tags{mu::data::type::list};
  std::string tags_text;
  for (const std::string& t : d.tags) {
    tags.push_back(mu::data(t));
    tags_text += (tags_text.empty() ? "" : ", ") + t;
  }
  v.set("tags", tags);
  v.set("tags_text", mu::data(tags_text));
  v.set("has_tags", mu::data(!d.tags.empty()));
  const bool has_context = d.context.is_object() && !d.context.empty();
  v.set("context_json", mu::data(has_context ? d.context.dump() : std::string()));
  v.set("has_context", mu::data(has_context));
  return v;
}

core::Result<Template> Template::compile(std::string_view value, std::string_view fallback,
                                         Escape escape) {
  Template t;
  if (value.empty()) {
    t.source_ = std::string(fallback);
  } else if (const auto ours = go_default(value)) {
    t.source_ = std::string(*ours);
  } else if (is_go_template(value)) {
    const std::string hint = suggestion(value);
    return core::fail("go_template",
                      "is an Alertmanager (Go) template, which opsready does not run; write it "
                      "in mustache (docs/receivers.md#templates)" +
                          (hint.empty() ? std::string() : ", e.g. '" + hint + "'"));
  } else {
    t.source_ = std::string(value);
  }
  t.mustache_ = std::make_shared<mu::mustache>(t.source_);
  if (!t.mustache_->is_valid()) {
    return core::fail("template_syntax", "mustache: " + t.mustache_->error_message());
  }
  if (escape == Escape::kNone) {
    t.mustache_->set_custom_escape([](const std::string& s) { return s; });
  }
  return t;
}

std::string Template::render(const View& view) const { return mustache_->render(view); }

}  // namespace opsready::alerting::notify
