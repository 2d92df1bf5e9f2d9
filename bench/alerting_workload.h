#pragma once
// The alerting workload of issue 11's benchmarks: the alerts a Prometheus fleet posts and the
// Alertmanager configuration they meet, shared by bench/engine_bench.cc (in process, through
// engine::Engine) and bench/alerting_load.cc (over HTTP, against `opsready serve` and
// Alertmanager), so that both measure the same label sets against the same route tree and
// inhibit rules.
//
//   for (int n = 0; n < 100'000; ++n) {
//     core::LabelSet labels = workload::alert_labels(n);         // 9-10 labels, distinct per n
//     core::LabelSet annotations = workload::alert_annotations(labels);
//   }
//   std::string yaml = workload::policy_yaml();   // Alertmanager 0.25 file; opsready reads it too
//
// The fleet: 200 alerting rules (alertname), each firing on up to 500 targets. Alert n is rule
// n % 200 on target n / 200; targets come in blocks of 25 that share a service and a cluster,
// so the root route's group_by [alertname, cluster, service] makes groups of 25 alerts (4 000
// groups for 100 000 alerts). A rule is an info rule (one in four) or fires as warning with a
// critical tier on 8 % of its targets, as two-threshold rules with one alertname do. Labels:
// alertname, instance, job, severity, cluster, service, namespace, team, prometheus, and pod on
// every other rule. Annotations: summary, description, runbook_url. Plain functions of n: no
// state, no randomness beyond a fixed hash, the same on every run and in every program.
//
// The policy: 20 routes (the root; a heartbeat, a critical audit route with `continue`, an info
// route and a staging route; one route per team with a pager child for critical alerts and, for
// some, a second child), 20 receivers without integrations (nothing is sent), and 100 inhibit
// rules: severity=critical of alertname X_i mutes severity=warning with the same cluster and
// service.

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "opsready/core/alert.h"

namespace opsready::bench::workload {

inline constexpr int kRules = 200;
inline constexpr int kInhibitRules = 100;
inline constexpr int kBlock = 25;  // targets per (service, cluster): the size of a group

inline constexpr std::array<std::string_view, 40> kBaseNames = {
    "KubePodCrashLooping",
    "KubePodNotReady",
    "KubeDeploymentReplicasMismatch",
    "KubeStatefulSetDown",
    "KubeJobFailed",
    "KubeContainerWaiting",
    "KubeMemoryOvercommit",
    "KubeCPUThrottlingHigh",
    "KubePersistentVolumeFillingUp",
    "KubeHpaMaxedOut",
    "NodeFilesystemSpaceLow",
    "NodeFilesystemFilesLow",
    "NodeMemoryPressure",
    "NodeHighLoad",
    "NodeNetworkReceiveErrs",
    "NodeClockSkewDetected",
    "NodeDiskIOSaturation",
    "NodeExporterDown",
    "TargetDown",
    "HighErrorRate",
    "HighLatencyP99",
    "HighRequestRate",
    "SLOBurnRateFast",
    "SLOBurnRateSlow",
    "PostgresReplicationLag",
    "PostgresConnectionsHigh",
    "PostgresDeadlocks",
    "RedisMemoryHigh",
    "RedisRejectedConnections",
    "KafkaConsumerLag",
    "KafkaUnderReplicated",
    "KafkaOfflinePartitions",
    "QueueBacklogGrowing",
    "CertificateExpiringSoon",
    "ProbeFailed",
    "ProbeSlow",
    "GCPauseLong",
    "ThreadPoolSaturated",
    "CacheHitRateLow",
    "CircuitBreakerOpen",
};
inline constexpr std::array<std::string_view, 5> kVariants = {"", "Api", "Ingest", "Batch", "Edge"};
inline constexpr std::array<std::string_view, 8> kClusters = {
    "prod-eu-1", "prod-eu-2",    "prod-us-1",    "prod-us-2",
    "prod-ap-1", "staging-eu-1", "staging-us-1", "dev-1"};
inline constexpr std::array<std::string_view, 6> kTeams = {"payments", "platform", "trading",
                                                           "data",     "identity", "search"};
inline constexpr std::array<std::string_view, 20> kJobs = {
    "node-exporter",     "kube-state-metrics", "kubelet",         "api-gateway",
    "postgres-exporter", "pgbouncer",          "redis-exporter",  "kafka-exporter",
    "blackbox",          "order-service",      "payment-service", "ledger",
    "risk-engine",       "market-data",        "auth-service",    "session-store",
    "search-indexer",    "search-api",         "etl-runner",      "object-store"};
inline constexpr int kServices = 120;

// 64-bit mix (splitmix64's finalizer): the fixed pseudo-random choices of the fleet.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline std::string alert_name(int rule) {
  return std::string(kBaseNames[static_cast<std::size_t>(rule / 5)]) +
         std::string(kVariants[static_cast<std::size_t>(rule % 5)]);
}

inline bool info_rule(int rule) { return rule % 4 == 3; }

// The rule whose critical alerts are the source of inhibit rule i: the first 100 rules that
// are not info rules.
inline int inhibiting_rule(int i) { return i + i / 3; }

inline core::LabelSet alert_labels(int n) {
  const int rule = n % kRules;
  const int target = n / kRules;
  const int block = target / kBlock;
  const int service = (rule * 37 + block) % kServices;
  const int cluster = (rule + block) % static_cast<int>(kClusters.size());
  const std::uint64_t h = mix(static_cast<std::uint64_t>(n));
  char buf[96];
  core::LabelSet l;
  l.emplace("alertname", alert_name(rule));
  std::snprintf(buf, sizeof buf, "10.%d.%d.%d:9100", cluster, service, 10 + target % kBlock);
  l.emplace("instance", buf);
  l.emplace("job", kJobs[static_cast<std::size_t>(service % static_cast<int>(kJobs.size()))]);
  l.emplace("severity", info_rule(rule) ? "info" : h % 100 < 8 ? "critical" : "warning");
  l.emplace("cluster", kClusters[static_cast<std::size_t>(cluster)]);
  std::snprintf(buf, sizeof buf, "svc-%03d", service);
  l.emplace("service", buf);
  std::snprintf(buf, sizeof buf, "%s-%02d",
                kTeams[static_cast<std::size_t>(service % static_cast<int>(kTeams.size()))].data(),
                service % 30);
  l.emplace("namespace", buf);
  l.emplace("team", kTeams[static_cast<std::size_t>(service % static_cast<int>(kTeams.size()))]);
  std::snprintf(buf, sizeof buf, "monitoring/prometheus-k8s-%d", cluster % 2);
  l.emplace("prometheus", buf);
  if (rule % 2 == 0) {
    std::snprintf(buf, sizeof buf, "svc-%03d-%09llx-%05llx", service,
                  static_cast<unsigned long long>((h >> 20) & 0xfffffffffull),
                  static_cast<unsigned long long>(h & 0xfffffull));
    l.emplace("pod", buf);
  }
  return l;
}

inline core::LabelSet alert_annotations(const core::LabelSet& labels) {
  const std::string& name = labels.at("alertname");
  const std::string& instance = labels.at("instance");
  std::string runbook = "https://runbooks.example.com/alerts/";
  for (const char c : name) runbook += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return {{"summary", name + " on " + instance},
          {"description", name + " has been firing for more than 5 minutes on " + instance + " (" +
                              labels.at("service") + " in " + labels.at("cluster") + ")."},
          {"runbook_url", std::move(runbook)}};
}

inline std::string policy_yaml() {
  std::string y =
      R"(# bench/alerting_workload.h: issue 11's benchmark policy (20 routes, 100 inhibit rules)
global:
  resolve_timeout: 5m
route:
  receiver: default
  group_by: [alertname, cluster, service]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - receiver: heartbeat
      matchers: ['alertname="Watchdog"']
      group_interval: 1m
      repeat_interval: 1m
    - receiver: audit
      matchers: ['severity="critical"']
      group_by: [cluster]
      continue: true
    - receiver: info
      matchers: ['severity="info"']
      group_by: [alertname]
      group_interval: 30m
    - receiver: staging
      matchers: ['cluster=~"staging-.*|dev-.*"']
      group_interval: 1h
    - receiver: payments
      matchers: ['team="payments"']
      routes:
        - receiver: payments-pager
          matchers: ['severity="critical"']
          group_wait: 10s
        - receiver: payments-db
          matchers: ['job=~"postgres-exporter|pgbouncer"']
    - receiver: platform
      matchers: ['team="platform"']
      routes:
        - receiver: platform-pager
          matchers: ['severity="critical"']
        - receiver: platform-nodes
          matchers: ['job="node-exporter"', 'cluster=~"prod-.*"']
    - receiver: trading
      matchers: ['team="trading"']
      routes:
        - receiver: trading-pager
          matchers: ['severity="critical"']
          group_wait: 10s
    - receiver: data
      matchers: ['team="data"']
      routes:
        - receiver: data-pager
          matchers: ['severity="critical"']
    - receiver: identity
      matchers: ['team="identity"']
      routes:
        - receiver: identity-pager
          matchers: ['severity="critical"']
    - receiver: search
      matchers: ['team="search"']
      routes:
        - receiver: search-pager
          matchers: ['severity="critical"']
        - receiver: search-canary
          matchers: ['service=~"svc-00.*"']
receivers:
)";
  for (const char* r :
       {"default",        "heartbeat",      "audit",         "info",         "staging",
        "payments",       "payments-pager", "payments-db",   "platform",     "platform-pager",
        "platform-nodes", "trading",        "trading-pager", "data",         "data-pager",
        "identity",       "identity-pager", "search",        "search-pager", "search-canary"}) {
    y += "  - name: ";
    y += r;
    y += "\n";
  }
  y += "inhibit_rules:\n";
  for (int i = 0; i < kInhibitRules; ++i) {
    y += "  - source_matchers: ['severity=\"critical\"', 'alertname=\"" +
         alert_name(inhibiting_rule(i)) +
         "\"']\n    target_matchers: ['severity=\"warning\"']\n    equal: [cluster, service]\n";
  }
  return y;
}

}  // namespace opsready::bench::workload
