// The deployment files (deploy/, docs/replicas.md#deploying-three-replicas), checked as far as
// this machine allows: every replica configuration loads with `opsready check-config`, the
// systemd unit passes `systemd-analyze verify` (with the built binary in ExecStart), and the
// Kubernetes manifests parse, hold the objects the page describes, wire the probes to
// /-/ready and /-/healthy, and embed a configuration that check-config loads.

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "harness.h"

namespace opsready::testing {
namespace {

namespace fs = std::filesystem;
const fs::path kDeploy = fs::path(OPSREADY_SOURCE_DIR) / "deploy";

TEST(Deploy, EveryReplicaConfigurationLoads) {
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(kDeploy / "replicas")) {
    if (!entry.path().filename().string().starts_with("opsready-")) continue;
    const auto r = run_opsready({"check-config", entry.path().string()});
    EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.out << r.err;
    ++checked;
  }
  EXPECT_EQ(checked, 3u);
}

TEST(Deploy, TheSystemdUnitVerifies) {
  if (!fs::exists("/usr/bin/systemd-analyze")) GTEST_SKIP() << "no systemd-analyze here";
  TempDir dir;
  std::string unit = read_file(kDeploy / "systemd" / "opsready.service");
  const std::string installed = "/usr/bin/opsready";
  ASSERT_NE(unit.find(installed), std::string::npos);
  unit.replace(unit.find(installed), installed.size(), OPSREADY_BINARY);
  const fs::path file = dir.path() / "opsready.service";
  write_file(file, unit);
  const auto r = run({"systemd-analyze", "verify", "--man=no", file.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "") << "systemd-analyze found problems";
}

TEST(Deploy, TheKubernetesManifestsHoldThreeProbedReplicasAndALoadableConfiguration) {
  const auto docs = YAML::LoadAllFromFile((kDeploy / "kubernetes" / "opsready.yaml").string());
  std::map<std::string, YAML::Node> by_kind_name;
  for (const auto& d : docs) {
    ASSERT_TRUE(d["apiVersion"] && d["kind"] && d["metadata"]["name"]);
    by_kind_name[d["kind"].as<std::string>() + "/" + d["metadata"]["name"].as<std::string>()] = d;
  }
  std::set<std::string> kinds;
  for (const auto& [k, d] : by_kind_name) kinds.insert(k);
  EXPECT_EQ(kinds, (std::set<std::string>{"ConfigMap/opsready-config",
                                          "PodDisruptionBudget/opsready", "Service/opsready",
                                          "Service/opsready-replicas", "StatefulSet/opsready"}));

  const YAML::Node sts = by_kind_name["StatefulSet/opsready"];
  EXPECT_EQ(sts["spec"]["replicas"].as<int>(), 3);
  EXPECT_EQ(sts["spec"]["serviceName"].as<std::string>(), "opsready-replicas");
  const YAML::Node pod = sts["spec"]["template"];
  EXPECT_EQ(pod["metadata"]["labels"]["app.kubernetes.io/name"].as<std::string>(),
            sts["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>());
  const YAML::Node c = pod["spec"]["containers"][0];
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/-/ready");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/-/healthy");
  // The Service that routes to the leader selects the pods; the headless one lists them all.
  EXPECT_EQ(by_kind_name["Service/opsready"]["spec"]["selector"]["app.kubernetes.io/name"]
                .as<std::string>(),
            "opsready");
  EXPECT_TRUE(
      by_kind_name["Service/opsready-replicas"]["spec"]["publishNotReadyAddresses"].as<bool>());
  // The container reads the configuration from the ConfigMap's mount.
  std::vector<std::string> args;
  for (const auto& a : c["args"]) args.push_back(a.as<std::string>());
  ASSERT_EQ(args.size(), 3u);
  std::string config_mount;
  for (const auto& m : c["volumeMounts"]) {
    if (m["name"].as<std::string>() == "config") config_mount = m["mountPath"].as<std::string>();
  }
  EXPECT_EQ(args[2], config_mount + "/opsready.yml");

  // The embedded configuration loads, with its Alertmanager file beside it.
  TempDir dir;
  const YAML::Node data = by_kind_name["ConfigMap/opsready-config"]["data"];
  for (const auto& kv : data) {
    write_file(dir.path() / kv.first.as<std::string>(), kv.second.as<std::string>());
  }
  const auto r = run_opsready({"check-config", (dir.path() / "opsready.yml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace opsready::testing
