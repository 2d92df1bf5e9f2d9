#include "opsready/app/test_receiver.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <ostream>
#include <stop_token>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/alerting/notify/data.h"
#include "opsready/alerting/notify/outbox.h"
#include "opsready/alerting/notify/sender.h"
#include "opsready/alerting/notify/transports.h"
#include "opsready/app/alerting_cli.h"
#include "opsready/app/commands.h"
#include "opsready/app/config.h"
#include "opsready/app/version.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/time.h"

namespace opsready::app {
namespace {

namespace notify = alerting::notify;
using nlohmann::json;

constexpr std::size_t kAnswerShown = 300;  // characters of a receiver's answer printed

struct Result {
  std::string integration;
  std::string outcome;  // sent | failed | not_sent
  long status = 0;
  std::string error;
  std::string answer;
  double seconds = 0;
};

notify::Data test_data(const std::string& receiver, const std::string& id,
                       const std::string& external_url, core::TimePoint now) {
  core::Alert a{
      .labels = {{"alertname", "OpsreadyTestNotification"},
                 {"category", "alerting"},
                 {"receiver", receiver},
                 {"severity", "info"}},
      .annotations = {{"summary", "Test notification from opsready to receiver " + receiver +
                                      ": nothing is wrong"},
                      {"description", "Sent by `opsready alerts test-receiver " + receiver + "`."}},
      .starts_at = now,
      .ends_at = core::TimePoint::max(),
      .generator_url = external_url};
  core::assign_fingerprint(a);
  return notify::make_data(receiver, {{"alertname", "OpsreadyTestNotification"}}, {a}, {},
                           "{}:{alertname=\"OpsreadyTestNotification\"}", id, "first", id,
                           external_url, now);
}

std::string shown(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() > kAnswerShown)
    s = s.substr(0, kAnswerShown) + "… (" + std::to_string(s.size()) + " bytes)";
  return s;
}

}  // namespace

int run_test_receiver(const TestReceiverOptions& o, std::ostream& out, std::ostream& err) {
  const auto fail = [&err](int code, const std::string& message) {
    err << "opsready: alerts test-receiver: " << message << "\n";
    return code;
  };
  if (o.format != "text" && o.format != "json") {
    return fail(kExitUsage, "--format must be text or json");
  }
  auto timeout = core::parse_duration(o.timeout);
  if (!timeout || *timeout <= core::Duration::zero()) {
    return fail(kExitUsage, "--timeout: '" + o.timeout + "' is not a positive duration (e.g. 10s)");
  }
  Config cfg;
  if (o.config) {
    if (!std::filesystem::exists(*o.config)) {
      return fail(kExitNoInput, "cannot read " + o.config->string());
    }
    auto loaded = load_config_file(*o.config);
    if (!loaded) {
      for (const auto& e : loaded.error()) err << e.describe() << "\n";
      return fail(kExitDataErr, std::to_string(loaded.error().size()) + " error(s) in " +
                                    o.config->string() + " (opsready check-config shows them)");
    }
    cfg = std::move(*loaded);
  }
  const alerting::Receiver* receiver = nullptr;
  std::string names;
  for (const auto& r : cfg.alerting.receivers) {
    if (r.name == o.receiver) receiver = &r;
    names += (names.empty() ? "" : ", ") + r.name;
  }
  if (receiver == nullptr) {
    return fail(kExitUsage, "no receiver '" + o.receiver + "' in " +
                                (o.config ? o.config->string() : "the embedded configuration") +
                                " (receivers: " + names + ")");
  }

  const core::Clock& clock = core::SystemClock::instance();
  const core::TimePoint now = clock.now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::string id = "test-" + o.receiver + "-" + std::to_string(ms.count());
  const std::string external_url =
      cfg.delivery.external_url.empty()
          ? "http://" + cfg.listen.host + ":" + std::to_string(cfg.listen.port)
          : cfg.delivery.external_url;
  const notify::Data data = test_data(o.receiver, id, external_url, now);
  const auto per_request = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);

  const std::vector<std::string> integrations = notify::integration_names(*receiver);
  std::map<std::string, Result> results;
  std::stop_source stop;
  std::size_t pending = 0;
  // One attempt: a retry is reported as the answer it was (give_up_after 0 ends it).
  notify::Sender sender({.give_up_after = core::Duration::zero()}, clock,
                        [&](const notify::Outcome& x) {
                          Result& r = results[x.integration];
                          r.outcome = x.kind == notify::Outcome::Kind::kSent ? "sent" : "failed";
                          r.status = x.status;
                          r.error = x.error;
                          r.answer = x.answer;
                          r.seconds = std::chrono::duration<double>(x.latency).count();
                          if (--pending == 0) stop.request_stop();
                        });
  for (std::size_t i = 0; i < integrations.size(); ++i) {
    const std::string& name = integrations[i];
    Result& r = results[name];
    r.integration = name;
    auto exchange = notify::make_exchange(
        receiver->integrations[i], data,
        {.global = cfg.alerting.global,
         .user_agent = "opsready/" + std::string(kVersion),
         .connect_timeout = std::min(
             per_request,
             std::chrono::duration_cast<std::chrono::milliseconds>(cfg.delivery.connect_timeout)),
         .timeout = per_request});
    if (!exchange) {
      r.outcome = "not_sent";
      r.error = exchange.error().describe();
      continue;
    }
    ++pending;
    sender.submit(
        {.id = id, .receiver = o.receiver, .integration = name, .exchange = std::move(*exchange)});
  }
  if (pending > 0) sender.run(stop.get_token());

  bool all_sent = !integrations.empty();
  json doc = {{"receiver", o.receiver}, {"notification_id", id}, {"integrations", json::array()}};
  if (o.format == "text") {
    out << "receiver " << o.receiver << ": " << integrations.size() << " integration(s), "
        << "notification id " << id << "\n";
  }
  for (const std::string& name : integrations) {
    const Result& r = results[name];
    all_sent = all_sent && r.outcome == "sent";
    if (o.format == "json") {
      doc["integrations"].push_back({{"integration", name},
                                     {"outcome", r.outcome},
                                     {"status", r.status},
                                     {"error", r.error},
                                     {"answer", r.answer},
                                     {"seconds", r.seconds}});
      continue;
    }
    out << "  " << name << ": " << r.outcome;
    if (r.outcome == "sent") {
      out << " in " << static_cast<long long>(r.seconds * 1000) << " ms";
    }
    if (r.status != 0) out << ", answer " << r.status;
    if (!r.answer.empty()) out << ": " << shown(r.answer);
    if (!r.error.empty()) out << " — " << r.error;
    out << "\n";
  }
  if (integrations.empty() && o.format == "text") {
    out << "  (no integrations: this receiver only records its notifications)\n";
  }
  if (o.format == "json") out << doc.dump(2) << "\n";
  return all_sent ? kExitOk : kExitMismatch;
}

}  // namespace opsready::app
