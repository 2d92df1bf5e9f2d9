#pragma once
// Transports: the requests that deliver one notification through one integration of a
// receiver, as an Exchange (exchange.h) the Sender runs. One function per direction:
// make_exchange() at send time, check_integration() at `opsready check-config`, which builds the
// same requests from sample data without reading secret files, so a template error or a
// missing key shows up there and not at 3 a.m.
//
//   DeliveryOptions o{.global = policy.global, .user_agent = "opsready/" + version};
//   core::Result<std::unique_ptr<Exchange>> x = make_exchange(integration, data, o);
//   if (!x) fail_notification(x.error());          // final: retrying changes nothing
//
// Every HTTP request carries Content-Type, User-Agent, Idempotency-Key and
// X-Opsready-Notification-Id (both the notification id). Payloads, keys, defaults and limits:
// docs/receivers.md. Secrets (passwords, tokens, *_file contents, webhook URLs) never appear
// in an error; errors name the key (`field`, relative to the integration's settings).
//
// Pure functions but for reading *_file secrets in make_exchange(); thread-safe.

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "opsready/alerting/notify/data.h"
#include "opsready/alerting/notify/exchange.h"
#include "opsready/alerting/policy.h"
#include "opsready/core/error.h"

namespace opsready::alerting::notify {

struct DeliveryOptions {
  nlohmann::json global = nlohmann::json::object();  // Policy::global, normalized
  std::string user_agent = "opsready";               // "opsready/<version>"
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};
};

// The exchange of `integration` for `data`. Errors (all final): no_endpoint (nothing to send
// to: policy.h lint()'s integration_records_only; delivery makes no outbox row for such an
// integration, app/delivery.h), secret_file (a *_file that cannot
// be read; the path is named, the content never), go_template, template_syntax, invalid_value.
[[nodiscard]] core::Result<std::unique_ptr<Exchange>> make_exchange(const Integration& integration,
                                                                    const Data& data,
                                                                    const DeliveryOptions& options);

// make_exchange()'s checks on sample data, *_file secrets not read: every template compiles and
// renders, required keys are present, values are usable. An integration with no endpoint is
// fine here (lint() reports it). Errors as make_exchange()'s, field relative to the settings.
[[nodiscard]] core::Result<void> check_integration(
    const Integration& integration, const nlohmann::json& global = nlohmann::json::object());

// The sample data check_integration() renders templates with: one firing alert.
[[nodiscard]] Data sample_data();

}  // namespace opsready::alerting::notify
