#pragma once
// Templates: mustache (kainjow/mustache.hpp) over a notification's Data, for every title, body,
// subject and message a receiver sends. The view holds what Alertmanager's templates see and
// the brief's placeholders (docs/receivers.md, "Templates"):
//
//   receiver status isFiring isResolved externalURL groupKey groupId notificationId reason
//   alerts[] firingAlerts[] resolvedAlerts[] numFiring numResolved truncatedAlerts
//     each alert: status labels annotations labelsList annotationsList startsAt endsAt
//                 generatorURL fingerprint
//   groupLabels commonLabels commonAnnotations            (maps: {{commonLabels.alertname}})
//   groupLabelsList commonLabelsList commonAnnotationsList (lists: {{#commonLabelsList}}
//                                                           {{name}}={{value}}{{/...}})
//   severity severity_upper category message occurred_at tags[] tags_text has_tags
//   context_json has_context
//
// Alertmanager configurations hold Go templates. A value that is exactly one of Alertmanager's
// default template references ({{ template "slack.default.title" . }}, ...) or its default
// Slack color means opsready's default for it; any other Go template is refused (code
// go_template, with a mustache rewrite suggested when the template is a plain field reference),
// because sending `{{ .CommonLabels.alertname }}` verbatim helps nobody.
//
//   core::Result<Template> t = Template::compile(settings.value("title", ""), kDefaultTitle);
//   std::string title = t->render(make_view(data));
//
// Template is immutable after compile() and may be rendered from one thread at a time.

#include <memory>
#include <string>
#include <string_view>

#include <kainjow/mustache.hpp>

#include "opsready/alerting/notify/data.h"
#include "opsready/alerting/policy.h"
#include "opsready/core/error.h"

namespace opsready::alerting::notify {

using View = kainjow::mustache::data;

// The view of `d`; `truncated_alerts` is what the transport left out (webhook max_alerts).
[[nodiscard]] View make_view(const Data& d, std::size_t truncated_alerts = 0);

// opsready's defaults, reproducing the brief's (spec §1.5).
inline constexpr std::string_view kDefaultSubject =
    "{{#isResolved}}[RESOLVED] {{/isResolved}}[{{severity_upper}}] {{category}}";
inline constexpr std::string_view kDefaultEmailText =
    "{{message}}\n\ncontext={{context_json}}\noccurred_at={{occurred_at}}";
inline constexpr std::string_view kDefaultEmailHtml =
    "<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"><title>{{subject}}</title></head>\n"
    "<body style=\"font-family: sans-serif\">\n<h2>{{subject}}</h2>\n"
    "<table cellpadding=\"4\" style=\"border-collapse: collapse\">\n"
    "<tr><th align=\"left\">status</th><th align=\"left\">alert</th>"
    "<th align=\"left\">started</th></tr>\n"
    "{{#alerts}}<tr><td>{{status}}</td><td>{{#annotations.summary}}{{annotations.summary}}"
    "{{/annotations.summary}}{{^annotations.summary}}{{labels.alertname}}"
    "{{/annotations.summary}}<br><small>{{#labelsList}}{{name}}={{value}} {{/labelsList}}"
    "</small></td><td>{{startsAt}}</td></tr>\n{{/alerts}}</table>\n"
    "<p>occurred_at={{occurred_at}}</p>\n"
    "<p><small>context={{context_json}}</small></p>\n"
    "{{#externalURL}}<p><a href=\"{{externalURL}}\">{{externalURL}}</a></p>\n{{/externalURL}}"
    "</body></html>\n";
// Slack: the brief's layout, lines without the empty ones.
inline constexpr std::string_view kDefaultSlackText =
    "*{{severity_upper}}* {{category}}\n{{message}}{{#has_tags}}\nTags: {{tags_text}}"
    "{{/has_tags}}{{#has_context}}\nContext: ```{{context_json}}```{{/has_context}}";
inline constexpr std::string_view kDefaultSlackUsername = "opsready";
inline constexpr std::string_view kDefaultSlackColor =
    "{{#isFiring}}danger{{/isFiring}}{{^isFiring}}good{{/isFiring}}";
inline constexpr std::string_view kDefaultGithubTitle = "[{{severity_upper}}] {{category}}";
inline constexpr std::string_view kDefaultGithubBody =
    "{{#isResolved}}### Resolved\n\n{{/isResolved}}{{message}}\n\n"
    "* Severity: {{severity_upper}}\n* Category: {{category}}\n* Occurred: {{occurred_at}}\n"
    "* Tags: {{#has_tags}}{{tags_text}}{{/has_tags}}{{^has_tags}}(none){{/has_tags}}\n\n"
    "```{{context_json}}```";
inline constexpr std::string_view kDefaultSmsMessage = "{{message}}";
inline constexpr std::string_view kDefaultTwilioBody =
    "[{{severity_upper}}] {{category}}: {{message}}";

enum class Escape {
  kNone,  // text, JSON string values, headers: values as they are
  kHtml,  // HTML bodies: mustache's HTML escaping of {{name}} ({{{name}}} unescaped)
};

class Template {
 public:
  // `value` as configured; empty means `fallback`. Errors: go_template (a Go template that is
  // not one of Alertmanager's defaults), template_syntax (mustache's message).
  [[nodiscard]] static core::Result<Template> compile(std::string_view value,
                                                      std::string_view fallback,
                                                      Escape escape = Escape::kNone);
  [[nodiscard]] std::string render(const View& view) const;
  // The mustache source compiled (the fallback, a mapped Alertmanager default, or the value).
  [[nodiscard]] const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::shared_ptr<kainjow::mustache::mustache> mustache_;
};

// Whether a value is a Go template: alerting::is_go_template() (policy.h), which lint() and
// compile() share.
using alerting::is_go_template;

}  // namespace opsready::alerting::notify
