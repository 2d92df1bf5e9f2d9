#pragma once
// `opsready alerts test-receiver NAME`: sends one test notification through every integration
// of a receiver of a configuration file, the way the daemon would (the same transports, the same
// Sender, one attempt each, no retry), and prints what each receiver answered. It needs no
// running daemon and writes nothing to the store: it is for checking a receiver before relying
// on it (a webhook URL, an SMTP password, a Slack token, a GitHub repository).
//
//   TestReceiverOptions o{.receiver = "ops", .config = "opsready.yml"};
//   int code = run_test_receiver(o, std::cout, std::cerr);  // 0: every integration accepted it
//
// The test notification is one firing alert, alertname=OpsreadyTestNotification, severity=info,
// category=alerting, with a notification id of its own per run (test-<receiver>-<unix ms>), so
// that a receiver deduplicating by Idempotency-Key or Message-ID does not swallow a second test.
// A GitHub integration really opens (or comments on) an issue: close it afterwards.
//
// Exit codes: 0 every integration accepted it; 1 (kExitMismatch) one or more did not; 64 usage
// (unknown receiver, bad --timeout); 65 the configuration has errors; 66 it cannot be read.
//
// Control plane: blocking, on the calling thread.

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace opsready::app {

struct TestReceiverOptions {
  std::string receiver;
  std::optional<std::filesystem::path> config;  // default: the embedded configuration
  std::string timeout = "10s";                  // of each request (GitHub makes several)
  std::string format = "text";                  // text | json
};

int run_test_receiver(const TestReceiverOptions& options, std::ostream& out, std::ostream& err);

}  // namespace opsready::app
