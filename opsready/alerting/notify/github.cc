// GitHub issues (opsready extension `github_configs`): the brief's two modes, one issue per
// alert group or comments on a standing issue (`issue_number`), with the lifecycle of its
// CI-failure workflow (spec §11.2): ensure a label, comment while firing, comment and close on
// resolve, reopen on re-fire.
//
// Every body carries hidden markers, `<!-- opsready:group=<group id> -->` in an issue and
// `<!-- opsready:notification=<id> -->` in an issue or comment, and the conversation looks them
// up before it writes, so a resend (a retry, or a new exchange after a crash) finds the issue
// or comment it already made instead of making a second one. Issues are looked up with the
// list API filtered by the label (no search index delay), newest updated first, 100 of them.
#include <chrono>

#include "opsready/alerting/notify/encoding.h"
#include "opsready/alerting/notify/internal.h"
#include "opsready/core/text.h"

namespace opsready::alerting::notify::internal {
namespace {

constexpr std::string_view kDefaultApiUrl = "https://api.github.com";
constexpr std::string_view kDefaultLabel = "opsready-alert";
constexpr std::string_view kLabelColor = "B60205";  // the brief's ci-alert label
constexpr std::size_t kMaxBody = 65536;             // GitHub's issue and comment body limit

std::string group_marker(const Data& d) { return "<!-- opsready:group=" + d.group_id + " -->"; }
std::string notification_marker(const Data& d) {
  return "<!-- opsready:notification=" + d.notification_id + " -->";
}

// A rate limit answer, as GitHub documents them: 429, or 403 with Retry-After (a secondary
// limit) or with X-RateLimit-Remaining: 0 (the primary limit; X-RateLimit-Reset says when it
// resets). Every answer carries X-RateLimit-Reset, so a 403 with requests left is a plain
// refusal (no permission), final. Retry after the delay the answer names.
std::optional<Step> rate_limited(const Response& r, core::TimePoint now) {
  if (r.status != 403 && r.status != 429) return std::nullopt;
  std::optional<std::chrono::milliseconds> after;
  if (const std::string* ra = r.header("retry-after")) after = parse_retry_after(*ra, now);
  const std::string* remaining = r.header("x-ratelimit-remaining");
  const bool exhausted = remaining != nullptr && *remaining == "0";
  if (!after && exhausted) {
    if (const std::string* reset = r.header("x-ratelimit-reset")) {
      try {
        const auto at = std::chrono::seconds(std::stoll(*reset));
        const auto delay =
            std::chrono::duration_cast<std::chrono::milliseconds>(at - now.time_since_epoch());
        after = std::max(delay, std::chrono::milliseconds(0));
      } catch (const std::exception&) {  // not a number: no delay known
      }
    }
  }
  if (r.status == 403 && !after && !exhausted) return std::nullopt;  // no permission
  return Retry{.reason = "github: rate limited (" + std::to_string(r.status) + ")", .after = after};
}

class GithubExchange : public Exchange {
 public:
  struct Plan {
    std::string api;  // api_url + "/repos/owner/name", no trailing slash
    Request base;     // headers and http_config; url, method and body set per step
    std::string title;
    std::string body;  // rendered, markers included
    std::vector<std::string> labels;
    std::vector<std::string> assignees;
    std::string label;           // the lookup label (per-group mode)
    std::uint64_t standing = 0;  // issue_number; 0: one issue per group
    bool firing = true;
    bool close_on_resolve = true;
    std::string group_marker;
    std::string notification_marker;
    std::string since;  // comments looked up from here (RFC 3339)
    Truncation truncation;
  };
  explicit GithubExchange(Plan plan) : p_(std::move(plan)) {}

  [[nodiscard]] Truncation truncation() const override { return p_.truncation; }

  [[nodiscard]] Request start() override {
    issue_ = p_.standing;
    open_ = true;
    if (p_.standing != 0) return go(State::kIssue, "GET", issue_url(), "");
    return go(State::kLabel, "GET", p_.api + "/labels/" + url_escape(p_.label), "");
  }

  [[nodiscard]] Step next(const Response& r, core::TimePoint now) override {
    if (auto limited = rate_limited(r, now)) return *limited;
    const bool ok = r.status >= 200 && r.status < 300;
    const json body = json::parse(r.body, nullptr, false);
    switch (state_) {
      case State::kLabel:
        if (ok) return find();
        if (r.status == 404) {
          const json label{{"name", p_.label}, {"color", kLabelColor}};
          return go(State::kCreateLabel, "POST", p_.api + "/labels", label.dump());
        }
        break;
      case State::kCreateLabel:
        // 422: someone else created it meanwhile.
        if (ok || r.status == 422) return find();
        break;
      case State::kFind:
        if (ok && body.is_array()) return found(body);
        break;
      case State::kIssue:
        if (ok && body.is_object()) {
          open_ = body.value("state", std::string("open")) == "open";
          return comments();
        }
        break;
      case State::kComments:
        if (ok && body.is_array()) {
          for (const json& c : body) {
            if (c.is_object() &&
                c.value("body", std::string()).find(p_.notification_marker) != std::string::npos) {
              return state_change();  // this notification's comment is there already
            }
          }
          const json comment{{"body", p_.body}};
          return go(State::kComment, "POST", issue_url() + "/comments", comment.dump());
        }
        break;
      case State::kCreate:
      case State::kComment:
        if (ok) return p_.standing == 0 && state_ == State::kCreate ? Step{Done{}} : state_change();
        break;
      case State::kState:
        if (ok) return Done{};
        break;
    }
    Step s = classify(r, now);
    if (std::holds_alternative<Retry>(s)) return s;
    std::string excerpt = r.error.empty() ? r.body.substr(0, 200) : r.error;
    return Fail{.reason = "github: " + std::string(step_name()) + ": " +
                          (r.status != 0 ? std::to_string(r.status) + " " : "") + excerpt};
  }

 private:
  enum class State { kLabel, kCreateLabel, kFind, kIssue, kComments, kCreate, kComment, kState };

  [[nodiscard]] std::string_view step_name() const {
    switch (state_) {
      case State::kLabel:
        return "label lookup";
      case State::kCreateLabel:
        return "label creation";
      case State::kFind:
        return "issue lookup";
      case State::kIssue:
        return "issue read";
      case State::kComments:
        return "comment lookup";
      case State::kCreate:
        return "issue creation";
      case State::kComment:
        return "comment";
      case State::kState:
        return "issue state change";
    }
    return "";
  }

  [[nodiscard]] std::string issue_url() const {
    return p_.api + "/issues/" + std::to_string(issue_);
  }

  [[nodiscard]] Request go(State s, std::string method, std::string url, std::string body) {
    state_ = s;
    Request r = p_.base;
    HttpRequest& h = http(r);
    h.method = std::move(method);
    h.url = std::move(url);
    h.body = std::move(body);
    if (h.method == "GET") {
      std::erase_if(h.headers,
                    [](const auto& kv) { return core::to_lower(kv.first) == "content-type"; });
    }
    return r;
  }

  [[nodiscard]] Request find() {
    return go(State::kFind, "GET",
              p_.api + "/issues?state=all&labels=" + url_escape(p_.label) +
                  "&sort=updated&direction=desc&per_page=100",
              "");
  }

  [[nodiscard]] Step found(const json& issues) {
    for (const json& i : issues) {
      if (!i.is_object() || i.contains("pull_request")) continue;
      const std::string body = i.value("body", std::string());
      if (body.find(p_.group_marker) == std::string::npos) continue;
      issue_ = i.value("number", std::uint64_t{0});
      open_ = i.value("state", std::string("open")) == "open";
      // Created by this very notification (a resend after the create was accepted).
      if (body.find(p_.notification_marker) != std::string::npos) return Done{};
      return comments();
    }
    if (!p_.firing) return Done{};  // resolved, and no issue to close
    json issue{{"title", p_.title}, {"body", p_.body}};
    std::vector<std::string> labels = p_.labels;
    if (std::find(labels.begin(), labels.end(), p_.label) == labels.end()) {
      labels.insert(labels.begin(), p_.label);
    }
    issue["labels"] = labels;
    if (!p_.assignees.empty()) issue["assignees"] = p_.assignees;
    return go(State::kCreate, "POST", p_.api + "/issues", issue.dump());
  }

  [[nodiscard]] Request comments() {
    return go(State::kComments, "GET",
              issue_url() + "/comments?per_page=100&since=" + url_escape(p_.since), "");
  }

  // After the comment: reopen on (re-)fire, close on resolve.
  [[nodiscard]] Step state_change() {
    if (p_.firing && !open_) {
      return go(State::kState, "PATCH", issue_url(), json{{"state", "open"}}.dump());
    }
    if (!p_.firing && open_ && p_.close_on_resolve) {
      return go(State::kState, "PATCH", issue_url(),
                json{{"state", "closed"}, {"state_reason", "completed"}}.dump());
    }
    return Done{};
  }

  Plan p_;
  State state_ = State::kLabel;
  std::uint64_t issue_ = 0;
  bool open_ = true;
};

}  // namespace

core::Result<std::unique_ptr<Exchange>> make_github(Env& env) {
  const json& s = env.settings();
  GithubExchange::Plan p;
  const std::string repository = str(s, "repository");
  auto token = secret(env, s, "token", "token_file", "");
  if (!token) return std::unexpected(token.error());
  if (repository.empty() || token->empty()) {
    if (!env.check) {
      return core::fail("no_endpoint", repository.empty()
                                           ? "no repository: notifications are recorded, not sent"
                                           : "no token or token_file: notifications are "
                                             "recorded, not sent");
    }
    if (repository.empty()) return core::fail("no_endpoint", "no repository");
  }
  std::string api = has(s, "api_url") ? str(s, "api_url") : std::string(kDefaultApiUrl);
  while (api.ends_with('/')) api.pop_back();
  // The path of api_url is kept (GitHub Enterprise: https://ghe.example/api/v3).
  p.api = api + "/repos/" + repository;
  p.standing = s.value("issue_number", std::uint64_t{0});
  p.label = has(s, "label") ? str(s, "label") : std::string(kDefaultLabel);
  if (p.label.empty()) return core::fail("invalid_value", "must not be empty", "label");
  if (has(s, "labels")) p.labels = s.at("labels").get<std::vector<std::string>>();
  if (has(s, "assignees")) p.assignees = s.at("assignees").get<std::vector<std::string>>();
  p.firing = env.data.status == "firing";
  p.close_on_resolve = s.value("close_on_resolve", p.standing == 0);
  p.group_marker = group_marker(env.data);
  p.notification_marker = notification_marker(env.data);
  // Comments a resend could have made are newer than the decision (a minute of clock skew).
  p.since = go_time(env.data.at - std::chrono::minutes(1));

  auto title = render(env, s, "title", kDefaultGithubTitle, "title");
  if (!title) return std::unexpected(title.error());
  auto body = render(env, s, "body", kDefaultGithubBody, "body");
  if (!body) return std::unexpected(body.error());
  bool cut = false;
  p.title = truncate_runes(*title, 256, cut);  // GitHub refuses longer titles
  if (cut) ++p.truncation.fields;
  const std::string markers = "\n\n" + p.group_marker + "\n" + p.notification_marker;
  p.body = truncate_runes(*body, kMaxBody - rune_count(markers), cut) + markers;
  if (cut) ++p.truncation.fields;

  auto req = http_request(env, "GET", p.api, "application/json", "");
  if (!req) return std::unexpected(req.error());
  HttpRequest& h = http(*req);
  h.headers.emplace_back("Accept", "application/vnd.github+json");
  h.headers.emplace_back("X-GitHub-Api-Version", "2022-11-28");
  if (!token->empty()) set_header(h, "Authorization", "Bearer " + *token);
  p.base = std::move(*req);
  return std::make_unique<GithubExchange>(std::move(p));
}

}  // namespace opsready::alerting::notify::internal
