// Slack: an incoming webhook or chat.postMessage (api_url https://slack.com/api/chat.postMessage
// with a bot token in http_config.authorization). Two payload shapes: the brief's text layout
// in Block Kit sections (the default), or Alertmanager's attachment when any of its attachment
// keys (title, text, color, fields, actions, ...) is set.
#include <array>

#include "opsready/alerting/notify/encoding.h"
#include "opsready/alerting/notify/internal.h"

namespace opsready::alerting::notify::internal {
namespace {

using ojson = nlohmann::ordered_json;

// Block Kit (api.slack.com/reference/block-kit/blocks) and chat.postMessage limits; Slack
// refuses messages whose blocks hold much more than 12 000 characters (msg_blocks_too_long)
// although each section may hold 3 000, so the text in blocks is cut there first.
constexpr std::size_t kMaxBlocks = 50;
constexpr std::size_t kMaxSectionText = 3000;
constexpr std::size_t kMaxBlocksText = 12000;
constexpr std::size_t kMaxMessageText = 40000;
constexpr std::size_t kMaxTitle = 1024;  // Alertmanager's title limit (TruncateInRunes)

constexpr std::array<std::string_view, 14> kAttachmentKeys = {
    "title",  "title_link", "pretext", "text",      "fallback",  "callback_id", "color",
    "fields", "actions",    "footer",  "image_url", "thumb_url", "mrkdwn_in",   "short_fields"};

// `text` as section blocks of at most kMaxSectionText code points, split at line ends where a
// line fits, at most kMaxBlocks of them.
ojson sections(const std::string& text, Truncation& truncation) {
  std::vector<std::string> chunks;
  std::string current;
  std::size_t current_runes = 0;
  bool open = false;
  const auto flush = [&] {
    // Slack refuses a section whose text is empty.
    if (open && current.find_first_not_of(" \n") != std::string::npos) {
      chunks.push_back(std::move(current));
    }
    current.clear();
    current_runes = 0;
    open = false;
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    std::size_t runes = rune_count(line);
    while (runes > kMaxSectionText) {  // a line longer than a section: its head fills one
      flush();
      bool cut = false;
      std::string head = truncate_runes(line, kMaxSectionText, cut, "");
      line.erase(0, head.size());
      chunks.push_back(std::move(head));
      runes = rune_count(line);
    }
    const std::size_t sep = open ? 1 : 0;
    if (current_runes + sep + runes > kMaxSectionText) flush();
    current += (open ? "\n" : "") + line;
    current_runes += (open ? 1 : 0) + runes;
    open = true;
    if (nl == text.size()) break;
    start = nl + 1;
  }
  flush();
  if (chunks.size() > kMaxBlocks) {
    chunks.resize(kMaxBlocks);
    bool cut = false;
    chunks.back() =
        truncate_runes(chunks.back() + std::string(kTruncationMarker), kMaxSectionText, cut);
    ++truncation.fields;
  }
  ojson blocks = ojson::array();
  for (std::string& c : chunks) {
    blocks.push_back(
        ojson{{"type", "section"}, {"text", ojson{{"type", "mrkdwn"}, {"text", std::move(c)}}}});
  }
  return blocks;
}

std::string cut(const std::string& s, std::size_t max, Truncation& truncation) {
  bool was_cut = false;
  std::string out = truncate_runes(s, max, was_cut);
  if (was_cut) ++truncation.fields;
  return out;
}

// chat.postMessage answers 200 with {"ok": false, "error": ...} when it refuses a message.
class SlackExchange : public SingleExchange {
 public:
  SlackExchange(Request request, Truncation truncation, bool web_api)
      : SingleExchange(std::move(request), truncation), web_api_(web_api) {}
  [[nodiscard]] Step next(const Response& r, core::TimePoint now) override {
    Step s = SingleExchange::next(r, now);
    if (!web_api_ || !std::holds_alternative<Done>(s)) return s;
    const json body = json::parse(r.body, nullptr, false);
    if (body.is_object() && body.value("ok", false)) return Done{};
    const std::string error =
        body.is_object() ? body.value("error", std::string("no error given")) : "not JSON";
    if (error == "ratelimited") return Retry{.reason = "slack: ratelimited", .after = std::nullopt};
    return Fail{.reason = "slack: " + error};
  }

 private:
  bool web_api_;
};

}  // namespace

core::Result<std::unique_ptr<Exchange>> make_slack(Env& env) {
  const json& s = env.settings();
  const json& g = env.options.global;
  core::Result<std::string> url =
      has(s, "api_url") || has(s, "api_url_file")
          ? secret(env, s, "api_url", "api_url_file", "")
          : secret(env, g, "slack_api_url", "slack_api_url_file", "global.");
  if (!url) return std::unexpected(url.error());
  if (env.check && has(s, "api_url_file")) *url = "https://hooks.slack.com/services/checked";
  url = endpoint(env, *url, "api_url (here or global.slack_api_url)");
  if (!url) return std::unexpected(url.error());
  const std::string path = url->substr(0, url->find('?'));
  const bool web_api = path.ends_with("/chat.postMessage");

  Truncation truncation;
  ojson payload = ojson::object();
  for (const char* key : {"channel", "username", "icon_emoji", "icon_url"}) {
    auto v =
        render(env, s, key, std::string_view(key) == "username" ? kDefaultSlackUsername : "", key);
    if (!v) return std::unexpected(v.error());
    if (!v->empty()) payload[key] = *v;
  }
  if (web_api && !payload.contains("channel")) {
    return core::fail("missing_key", "chat.postMessage needs a channel", "channel");
  }
  if (s.value("link_names", false)) payload["link_names"] = true;

  const bool attachment = std::any_of(kAttachmentKeys.begin(), kAttachmentKeys.end(),
                                      [&s](std::string_view k) { return has(s, k); });
  if (!attachment) {
    auto text = render(env, s, "text", kDefaultSlackText, "text");
    if (!text) return std::unexpected(text.error());
    payload["text"] = cut(*text, kMaxMessageText, truncation);
    payload["blocks"] = sections(cut(*text, kMaxBlocksText, truncation), truncation);
    // One visible cut is one truncation, though the fallback text and the blocks both show it.
    if (truncation.fields > 1) truncation.fields = 1;
  } else {
    ojson a = ojson::object();
    const auto field = [&](const char* key, std::string_view fallback, bool omit_empty,
                           std::size_t max) -> core::Result<void> {
      auto v = render(env, s, key, fallback, key);
      if (!v) return std::unexpected(v.error());
      if (omit_empty && v->empty()) return {};
      a[key] = cut(*v, max, truncation);
      return {};
    };
    for (const auto& [key, fallback, omit, max] :
         std::array<std::tuple<const char*, std::string_view, bool, std::size_t>, 6>{{
             {"title", kDefaultSubject, true, kMaxTitle},
             {"title_link", "", true, kMaxMessageText},
             {"pretext", "", true, kMaxMessageText},
             {"text", kDefaultSlackText, false, kMaxMessageText},
             {"fallback", kDefaultSubject, false, kMaxMessageText},
             {"callback_id", "", false, kMaxMessageText},
         }}) {
      if (auto ok = field(key, fallback, omit, max); !ok) return std::unexpected(ok.error());
    }
    if (has(s, "fields")) {
      ojson fields = ojson::array();
      const json& list = s.at("fields");
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string at = "fields[" + std::to_string(i) + "].";
        auto title = render(env, list[i], "title", "", at + "title");
        if (!title) return std::unexpected(title.error());
        auto value = render(env, list[i], "value", "", at + "value");
        if (!value) return std::unexpected(value.error());
        fields.push_back(ojson{{"title", *title},
                               {"value", *value},
                               {"short", list[i].value("short", s.value("short_fields", false))}});
      }
      a["fields"] = fields;
    }
    if (has(s, "actions")) {
      ojson actions = ojson::array();
      const json& list = s.at("actions");
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string at = "actions[" + std::to_string(i) + "].";
        ojson action = ojson::object();
        for (const char* key : {"type", "text", "url", "style", "name", "value"}) {
          auto v = render(env, list[i], key, "", at + key);
          if (!v) return std::unexpected(v.error());
          if (!v->empty()) action[key] = *v;
        }
        if (has(list[i], "confirm")) {
          ojson confirm = ojson::object();
          for (const char* key : {"title", "text", "ok_text", "dismiss_text"}) {
            auto v = render(env, list[i].at("confirm"), key, "", at + "confirm." + key);
            if (!v) return std::unexpected(v.error());
            if (!v->empty()) confirm[key] = *v;
          }
          action["confirm"] = confirm;
        }
        actions.push_back(action);
      }
      a["actions"] = actions;
    }
    for (const char* key : {"image_url", "thumb_url"}) {
      if (auto ok = field(key, "", true, kMaxMessageText); !ok) return std::unexpected(ok.error());
    }
    if (auto ok = field("footer", "", false, kMaxMessageText); !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok = field("color", kDefaultSlackColor, true, kMaxMessageText); !ok) {
      return std::unexpected(ok.error());
    }
    a["mrkdwn_in"] = has(s, "mrkdwn_in") ? ojson(s.at("mrkdwn_in"))
                                         : ojson::array({"fallback", "pretext", "text"});
    payload["attachments"] = ojson::array({a});
  }

  auto req = http_request(env, "POST", *url, "application/json; charset=utf-8", payload.dump());
  if (!req) return std::unexpected(req.error());
  return std::make_unique<SlackExchange>(std::move(*req), truncation, web_api);
}

}  // namespace opsready::alerting::notify::internal
