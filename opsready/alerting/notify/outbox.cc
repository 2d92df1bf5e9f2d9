#include "opsready/alerting/notify/outbox.h"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <map>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "opsready/core/text.h"

namespace opsready::alerting::notify {
namespace {

using nlohmann::json;

std::string hex16(std::uint64_t v) {
  std::array<char, 17> buf{};
  std::snprintf(buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf.data(), 16);
}

std::int64_t ns(core::TimePoint t) { return t.time_since_epoch().count(); }
core::TimePoint from_ns(std::int64_t v) { return core::TimePoint(core::Duration(v)); }

core::Result<core::LabelSet> labels_of(const json& j, const char* what) {
  if (!j.is_object()) return core::fail("outbox_payload", std::string(what) + " is not an object");
  core::LabelSet out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) {
      return core::fail("outbox_payload", std::string(what) + "." + k + " is not a string");
    }
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

// The payload is written as text rather than built as an nlohmann DOM and dumped: for a group
// of a thousand alerts the DOM (a map node and two strings per label) cost more on the
// evaluation strand than everything else a notification does. The document is the same;
// data_of() reads it with nlohmann.
void append_string(std::string& out, std::string_view s) {
  if (!core::is_valid_utf8(s)) {  // rare: written as nlohmann writes it, U+FFFD for bad bytes
    out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
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
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
          out += kHex[static_cast<unsigned char>(c) & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_labels(std::string& out, const core::LabelSet& l) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out += ',';
    first = false;
    append_string(out, k);
    out += ':';
    append_string(out, v);
  }
  out += '}';
}

void append_alert(std::string& out, const core::Alert& a) {
  out += R"({"fingerprint":)";
  append_string(out, a.fingerprint);
  out += R"(,"labels":)";
  append_labels(out, a.labels);
  out += R"(,"annotations":)";
  append_labels(out, a.annotations);
  out += R"(,"starts_at_ns":)";
  out += std::to_string(ns(a.starts_at));
  out += R"(,"ends_at_ns":)";
  out += std::to_string(ns(a.ends_at));
  out += R"(,"generator_url":)";
  append_string(out, a.generator_url);
  out += '}';
}

std::string alerts_text(const std::vector<core::Alert>& alerts) {
  std::string out = "[";
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (i > 0) out += ',';
    append_alert(out, alerts[i]);
  }
  out += ']';
  return out;
}

core::Result<core::Alert> alert_of(const json& j) {
  if (!j.is_object()) return core::fail("outbox_payload", "an alert is not an object");
  core::Alert a;
  try {
    a.fingerprint = j.at("fingerprint").get<std::string>();
    auto labels = labels_of(j.at("labels"), "labels");
    if (!labels) return std::unexpected(labels.error());
    a.labels = std::move(*labels);
    auto annotations = labels_of(j.at("annotations"), "annotations");
    if (!annotations) return std::unexpected(annotations.error());
    a.annotations = std::move(*annotations);
    a.starts_at = from_ns(j.at("starts_at_ns").get<std::int64_t>());
    a.ends_at = from_ns(j.at("ends_at_ns").get<std::int64_t>());
    a.generator_url = j.at("generator_url").get<std::string>();
  } catch (const json::exception& e) {
    return core::fail("outbox_payload", std::string("an alert: ") + e.what());
  }
  return a;
}

}  // namespace

std::string notification_id(const std::string& receiver, const std::string& integration,
                            const std::string& group_key, std::uint64_t hash,
                            const std::string& reason, core::TimePoint at, std::size_t step) {
  // Unit separators keep the parts apart: no part can end where another begins.
  std::string text;
  for (const std::string& part : {receiver, integration, group_key, hex16(hash), reason,
                                  std::to_string(ns(at)), std::to_string(step)}) {
    text += part;
    text += '\x1f';
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (std::size_t i = 0; i < 16; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::vector<std::string> integration_names(const Receiver& r) {
  std::map<std::string, int> seen;
  std::vector<std::string> out;
  out.reserve(r.integrations.size());
  for (const Integration& i : r.integrations) {
    out.push_back(i.type + "/" + std::to_string(seen[i.type]++));
  }
  return out;
}

const Integration* find_integration(const Receiver& receiver, const std::string& integration) {
  const auto names = integration_names(receiver);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == integration) return &receiver.integrations[i];
  }
  return nullptr;
}

std::vector<store::OutboxRow> outbox_rows(const Receiver& receiver, const Decided& d,
                                          const std::string& external_url) {
  const Notification& n = *d.notification;
  const std::string group_key = n.group.to_string();
  const auto names = integration_names(receiver);
  std::vector<store::OutboxRow> rows;
  // What every integration's payload shares, written once.
  std::string head = R"({"receiver":)";
  append_string(head, n.receiver);
  head += R"(,"group_key":)";
  append_string(head, group_key);
  head += R"(,"group_id":)";
  append_string(head, d.group_id);
  head += R"(,"group_labels":)";
  append_labels(head, n.group.labels);
  head += R"(,"reason":)";
  append_string(head, d.reason);
  head += R"(,"at_ns":)";
  head += std::to_string(ns(n.at));
  head += R"(,"external_url":)";
  append_string(head, external_url);
  head += R"(,"firing":)";
  std::string firing;  // written when an integration needs it
  std::string resolved;
  for (std::size_t i = 0; i < receiver.integrations.size(); ++i) {
    const Integration& integration = receiver.integrations[i];
    // Alertmanager: an integration without send_resolved hears nothing of a group whose
    // alerts all resolved, and sees only the firing alerts otherwise.
    if (n.firing.empty() && !integration.send_resolved) continue;
    if (firing.empty()) firing = alerts_text(n.firing);
    if (integration.send_resolved && resolved.empty()) resolved = alerts_text(n.resolved);
    std::string payload;
    payload.reserve(head.size() + firing.size() + resolved.size() + 16);
    payload += head;
    payload += firing;
    payload += R"(,"resolved":)";
    payload += integration.send_resolved ? std::string_view(resolved) : std::string_view("[]");
    payload += '}';
    store::OutboxRow row{
        .id = notification_id(n.receiver, names[i], group_key, n.hash, d.reason, n.at, d.step),
        .receiver = n.receiver,
        .integration = names[i],
        .group_key = group_key,
        .group_id = d.group_id,
        .alerts_hash = hex16(n.hash),
        .reason = d.reason,
        .decided_at = n.at,
        .payload = std::move(payload),
        .next_attempt_at = n.at};
    rows.push_back(std::move(row));
  }
  return rows;
}

core::Result<Data> data_of(const store::OutboxRow& row) {
  json j = json::parse(row.payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::fail("outbox_payload", "outbox row " + row.id + ": the payload is not JSON");
  }
  try {
    std::vector<core::Alert> firing;
    for (const auto& a : j.at("firing")) {
      auto alert = alert_of(a);
      if (!alert) return std::unexpected(alert.error());
      firing.push_back(std::move(*alert));
    }
    std::vector<core::Alert> resolved;
    for (const auto& a : j.at("resolved")) {
      auto alert = alert_of(a);
      if (!alert) return std::unexpected(alert.error());
      resolved.push_back(std::move(*alert));
    }
    auto group_labels = labels_of(j.at("group_labels"), "group_labels");
    if (!group_labels) return std::unexpected(group_labels.error());
    return make_data(j.at("receiver").get<std::string>(), std::move(*group_labels),
                     std::move(firing), std::move(resolved), j.at("group_key").get<std::string>(),
                     j.at("group_id").get<std::string>(), j.at("reason").get<std::string>(), row.id,
                     j.at("external_url").get<std::string>(),
                     from_ns(j.at("at_ns").get<std::int64_t>()));
  } catch (const json::exception& e) {
    return core::fail("outbox_payload", "outbox row " + row.id + ": " + e.what());
  }
}

}  // namespace opsready::alerting::notify
