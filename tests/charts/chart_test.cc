// The Helm chart, checked the way CI can without a cluster: `helm lint
// --strict` and `helm template` with default and non-default values, then the
// rendered objects read back (kinds, mounts, probes, labels), the fsched
// configs they carry parsed by fsched's own config parser, and bad values
// refused by values.schema.json with a message naming the value.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/proto_time.h"
#include "common/transport_security.h"
#include "tests/fixtures/config_rules.h"
#include "tests/integration/process_fixture.h"

namespace fsched {
namespace {

using ::testing::HasSubstr;

const std::string kChart = std::string(FSCHED_SOURCE_DIR) + "/charts/fsched";

struct HelmRun {
  int code = -1;
  std::string output;
};

class ChartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir();
    ASSERT_FALSE(std::string(FSCHED_HELM).empty())
        << "helm was not found when CMake configured: run scripts/setup.sh, then reconfigure";
  }

  HelmRun Helm(std::vector<std::string> args) {
    args.insert(args.begin(), FSCHED_HELM);
    const std::string log = absl::StrCat(dir_, "/helm-", ++runs_, ".log");
    auto process = testing::Process::Start(args, log);
    EXPECT_TRUE(process.ok()) << process.status();
    HelmRun run;
    if (!process.ok()) return run;
    run.code = (*process)->Wait(absl::Seconds(120)).value_or(-1);
    run.output = testing::ReadFile(log);
    return run;
  }

  // kind/name -> object.
  std::map<std::string, YAML::Node> Render(std::vector<std::string> extra) {
    std::vector<std::string> args = {"template", "rel", kChart, "--namespace", "fsched"};
    args.insert(args.end(), extra.begin(), extra.end());
    const HelmRun run = Helm(args);
    EXPECT_EQ(run.code, 0) << run.output;
    std::map<std::string, YAML::Node> objects;
    for (const YAML::Node& doc : YAML::LoadAll(run.output)) {
      if (!doc.IsMap()) continue;
      objects[doc["kind"].as<std::string>() + "/" + doc["metadata"]["name"].as<std::string>()] =
          doc;
    }
    return objects;
  }

  static std::set<std::string> Kinds(const std::map<std::string, YAML::Node>& objects) {
    std::set<std::string> kinds;
    for (const auto& [key, doc] : objects) kinds.insert(key.substr(0, key.find('/')));
    return kinds;
  }

  static std::map<std::string, std::string> Mounts(const YAML::Node& container) {
    std::map<std::string, std::string> mounts;  // path -> volume
    for (const YAML::Node& m : container["volumeMounts"]) {
      mounts[m["mountPath"].as<std::string>()] = m["name"].as<std::string>();
    }
    return mounts;
  }

  static YAML::Node Volume(const YAML::Node& pod, const std::string& name) {
    for (const YAML::Node& v : pod["volumes"]) {
      if (v["name"].as<std::string>() == name) return v;
    }
    return YAML::Node();
  }

  static Config ParsedConfig(const std::map<std::string, YAML::Node>& objects,
                             const std::string& file) {
    const YAML::Node data = objects.at("ConfigMap/rel-fsched-config")["data"];
    // Each file as the process that reads it loads it, with every rule it applies.
    const config::v1::NodeRole role =
        file == "worker.yaml" ? config::v1::NODE_ROLE_WORKER : config::v1::NODE_ROLE_MASTER;
    absl::StatusOr<Config> config = testing::LoadAsProcess(data[file].as<std::string>(), role);
    EXPECT_TRUE(config.ok()) << file << ": " << config.status() << "\n" << data[file];
    return config.ok() ? *config : Config();
  }

  std::string dir_;
  int runs_ = 0;
};

TEST_F(ChartTest, LintsStrictlyWithDefaultAndNonDefaultValues) {
  HelmRun run = Helm({"lint", "--strict", kChart});
  EXPECT_EQ(run.code, 0) << run.output;
  run = Helm({"lint", "--strict", kChart, "-f",
              std::string(FSCHED_SOURCE_DIR) + "/tests/charts/values-nondefault.yaml"});
  EXPECT_EQ(run.code, 0) << run.output;
}

TEST_F(ChartTest, DefaultsRenderAMasterWithStateAndAPrivilegedWorkerDaemonSet) {
  const auto objects = Render({});
  EXPECT_EQ(Kinds(objects), (std::set<std::string>{"ConfigMap", "Deployment", "DaemonSet",
                                                   "PersistentVolumeClaim", "Secret", "Service"}));
  for (const auto& [key, doc] : objects) {
    EXPECT_EQ(doc["metadata"]["labels"]["app.kubernetes.io/name"].as<std::string>(), "fsched")
        << key;
    EXPECT_EQ(doc["metadata"]["labels"]["app.kubernetes.io/instance"].as<std::string>(), "rel")
        << key;
  }

  // Master: one replica, Recreate, state on the PVC, gRPC health probes, token from the Secret.
  const YAML::Node master = objects.at("Deployment/rel-fsched-master");
  EXPECT_EQ(master["spec"]["replicas"].as<int>(), 1);
  EXPECT_EQ(master["spec"]["strategy"]["type"].as<std::string>(), "Recreate");
  const YAML::Node master_pod = master["spec"]["template"]["spec"];
  const YAML::Node m = master_pod["containers"][0];
  EXPECT_EQ(m["readinessProbe"]["grpc"]["port"].as<int>(), 50051);
  EXPECT_TRUE(master_pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_EQ(master_pod["securityContext"]["fsGroup"].as<int>(), 65532);
  EXPECT_EQ(m["livenessProbe"]["grpc"]["port"].as<int>(), 50051);
  EXPECT_EQ(Mounts(m).at("/var/lib/fsched"), "state");
  EXPECT_EQ(Volume(master_pod, "state")["persistentVolumeClaim"]["claimName"].as<std::string>(),
            "rel-fsched-master-state");
  ASSERT_TRUE(objects.count("PersistentVolumeClaim/rel-fsched-master-state"));
  // Secrets are files (0400), never flags or environment: a command line is
  // readable by every process on the node.
  EXPECT_EQ(Mounts(m).at("/etc/fsched/join-token"), "join-token");
  EXPECT_EQ(Volume(master_pod, "join-token")["secret"]["secretName"].as<std::string>(),
            "rel-fsched-join-token");
  EXPECT_EQ(Volume(master_pod, "admin-token")["secret"]["secretName"].as<std::string>(),
            "rel-fsched-admin-token");
  EXPECT_EQ(Volume(master_pod, "admin-token")["secret"]["defaultMode"].as<int>(), 0400);
  EXPECT_FALSE(m["env"]);
  ASSERT_TRUE(objects.count("Secret/rel-fsched-admin-token"));
  EXPECT_EQ(
      objects
          .at("Secret/rel-fsched-admin-token")["metadata"]["annotations"]["helm.sh/resource-policy"]
          .as<std::string>(),
      "keep");
  EXPECT_EQ(master["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
                .as<std::string>(),
            "master");

  // The Service selects the master pods and exposes gRPC, metrics and the HTTP entry.
  const YAML::Node service = objects.at("Service/rel-fsched-master");
  EXPECT_EQ(service["spec"]["selector"]["app.kubernetes.io/component"].as<std::string>(), "master");
  std::set<std::string> ports;
  for (const YAML::Node& p : service["spec"]["ports"]) ports.insert(p["name"].as<std::string>());
  EXPECT_EQ(ports, (std::set<std::string>{"grpc", "metrics", "http"}));

  // Worker: privileged, with cgroups, resctrl, containerd's socket and a state dir from the node.
  const YAML::Node worker_pod =
      objects.at("DaemonSet/rel-fsched-worker")["spec"]["template"]["spec"];
  const YAML::Node w = worker_pod["containers"][0];
  EXPECT_TRUE(w["securityContext"]["privileged"].as<bool>());
  const auto mounts = Mounts(w);
  EXPECT_EQ(mounts.count("/sys/fs/cgroup"), 1u);
  EXPECT_EQ(mounts.count("/sys/fs/resctrl"), 1u);
  EXPECT_EQ(mounts.count("/run/k3s/containerd/containerd.sock"), 1u);
  EXPECT_EQ(Volume(worker_pod, "resctrl")["hostPath"]["path"].as<std::string>(), "/sys/fs/resctrl");
  EXPECT_EQ(Volume(worker_pod, "containerd-socket")["hostPath"]["type"].as<std::string>(),
            "Socket");
  EXPECT_EQ(w["readinessProbe"]["grpc"]["port"].as<int>(), 50052);
  std::string args;
  for (const YAML::Node& a : w["args"]) args += a.as<std::string>() + " ";
  EXPECT_THAT(args, HasSubstr("--node_id=$(NODE_NAME)"));
  EXPECT_THAT(args, HasSubstr("--advertise_address=$(POD_IP):50052"));
  EXPECT_THAT(args, ::testing::Not(HasSubstr("token")));
  EXPECT_EQ(Mounts(w).at("/etc/fsched/join-token"), "join-token");

  // The configs the pods read are valid fsched configs saying what the chart means.
  const Config master_config = ParsedConfig(objects, "master.yaml");
  EXPECT_EQ(master_config.state_dir(), "/var/lib/fsched");
  EXPECT_EQ(master_config.metrics().listen(), "0.0.0.0:9464");
  EXPECT_EQ(master_config.http().listen(), "0.0.0.0:8080");
  EXPECT_EQ(master_config.advertise_address(), "rel-fsched-master.fsched.svc:50051");
  EXPECT_FALSE(TlsConfigured(master_config.tls()));
  EXPECT_EQ(master_config.cluster().join_token_file(), "/etc/fsched/join-token/join-token");
  EXPECT_EQ(master_config.auth().admin_token_file(), "/etc/fsched/admin-token/admin-token");
  EXPECT_EQ(master_config.auth().mode(), config::v1::AUTH_MODE_TOKENS);
  const Config worker_config = ParsedConfig(objects, "worker.yaml");
  EXPECT_EQ(worker_config.worker().master(), "rel-fsched-master.fsched.svc:50051");
  EXPECT_EQ(worker_config.worker().resctrl(), config::v1::SWITCH_AUTO);
  EXPECT_EQ(worker_config.worker().default_group_ways(), 2u);
  EXPECT_EQ(worker_config.worker().containerd_address(), "/run/k3s/containerd/containerd.sock");
  EXPECT_EQ(worker_config.cluster().join_token_file(), "/etc/fsched/join-token/join-token");

  // The dashboard ConfigMap is labelled for Grafana's sidecar and holds the dashboard file.
  const YAML::Node dashboards = objects.at("ConfigMap/rel-fsched-dashboards");
  EXPECT_EQ(dashboards["metadata"]["labels"]["grafana_dashboard"].as<std::string>(), "1");
  const std::string json = dashboards["data"]["fsched-overview.json"].as<std::string>();
  EXPECT_EQ(json + "\n", testing::ReadFile(kChart + "/dashboards/fsched-overview.json"));
  const YAML::Node parsed = YAML::Load(json);  // JSON is YAML: it must parse
  EXPECT_EQ(parsed["uid"].as<std::string>(), "fsched-overview");
  EXPECT_GE(parsed["panels"].size(), 20u);
}

TEST_F(ChartTest, NonDefaultValuesTurnCatOffTlsOnAndAServiceMonitorOn) {
  const auto objects =
      Render({"-f", std::string(FSCHED_SOURCE_DIR) + "/tests/charts/values-nondefault.yaml"});
  EXPECT_EQ(Kinds(objects), (std::set<std::string>{"ConfigMap", "Deployment", "DaemonSet", "Secret",
                                                   "Service", "ServiceMonitor"}));
  EXPECT_FALSE(objects.count("Secret/rel-fsched-tls"));  // the existing Secret is used

  const YAML::Node monitor = objects.at("ServiceMonitor/rel-fsched");
  EXPECT_EQ(monitor["metadata"]["labels"]["release"].as<std::string>(), "kube-prometheus-stack");
  EXPECT_EQ(monitor["spec"]["endpoints"][0]["port"].as<std::string>(), "metrics");
  EXPECT_EQ(
      monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"].as<std::string>(),
      "rel");

  const YAML::Node worker_pod =
      objects.at("DaemonSet/rel-fsched-worker")["spec"]["template"]["spec"];
  const YAML::Node w = worker_pod["containers"][0];
  const auto mounts = Mounts(w);
  EXPECT_EQ(mounts.count("/sys/fs/resctrl"), 0u);  // CAT off: no resctrl mount
  EXPECT_EQ(mounts.count("/run/k3s/containerd/containerd.sock"), 0u);
  EXPECT_EQ(mounts.at("/etc/fsched/tls"), "tls");
  EXPECT_EQ(Volume(worker_pod, "tls")["secret"]["secretName"].as<std::string>(), "fsched-certs");
  EXPECT_EQ(worker_pod["nodeSelector"]["fsched.io/worker"].as<std::string>(), "true");
  // With TLS the kubelet cannot speak gRPC health, so the probes are TCP.
  EXPECT_FALSE(w["readinessProbe"]["grpc"]);
  EXPECT_EQ(w["readinessProbe"]["tcpSocket"]["port"].as<int>(), 50052);

  const YAML::Node master_pod =
      objects.at("Deployment/rel-fsched-master")["spec"]["template"]["spec"];
  EXPECT_EQ(Mounts(master_pod["containers"][0]).at("/etc/fsched/tls"), "tls");
  EXPECT_TRUE(Volume(master_pod, "state")["emptyDir"]);  // persistence off

  EXPECT_EQ(objects.at("Secret/rel-fsched-join-token")["data"]["join-token"].as<std::string>(),
            "Y2hhcnQtdGVzdC10b2tlbg==");  // base64 of the token given

  const Config master_config = ParsedConfig(objects, "master.yaml");
  EXPECT_EQ(master_config.architecture(), v1::ARCHITECTURE_DYNAMIC);
  EXPECT_EQ(master_config.scheduler().placement(), "cache-fit");
  EXPECT_EQ(master_config.scheduler().queue_order(), "fifo");  // master.config over config
  EXPECT_EQ(FromProto(master_config.cluster().heartbeat_interval()), absl::Seconds(2));
  EXPECT_EQ(master_config.tls().cert(), "/etc/fsched/tls/tls.crt");
  EXPECT_TRUE(master_config.tls().require_client_cert());
  EXPECT_EQ(master_config.tls().server_name(), "fsched.example");
  const Config worker_config = ParsedConfig(objects, "worker.yaml");
  EXPECT_EQ(worker_config.worker().resctrl(), config::v1::SWITCH_OFF);
  EXPECT_EQ(worker_config.worker().containerd(), config::v1::SWITCH_OFF);
  EXPECT_EQ(worker_config.worker().slots(), 8u);
  EXPECT_EQ(worker_config.node().zone(), "rack-a");
  EXPECT_EQ(worker_config.scheduler().queue_order(), "aging-srtf");  // master-only override
  EXPECT_EQ(worker_config.tls().ca(), "/etc/fsched/tls/ca.crt");
  // The HTTP entry serves HTTPS beside TLS (docs/http.md): in the config and on the Service.
  EXPECT_EQ(ParsedConfig(objects, "master.yaml").http().listen(), "0.0.0.0:8080");
  std::set<std::string> ports;
  for (const YAML::Node& port : objects.at("Service/rel-fsched-master")["spec"]["ports"]) {
    ports.insert(port["name"].as<std::string>());
  }
  EXPECT_EQ(ports.count("http"), 1u);
}

TEST_F(ChartTest, TlsFromPemValuesBecomesTheChartsOwnSecret) {
  const int made = testing::Process::Start(
                       {"/bin/bash", std::string(FSCHED_SOURCE_DIR) + "/scripts/gen-certs.sh",
                        dir_ + "/pki", "node", "fsched"},
                       dir_ + "/gen.log")
                       .value()
                       ->Wait(absl::Seconds(60))
                       .value_or(-1);
  ASSERT_EQ(made, 0) << testing::ReadFile(dir_ + "/gen.log");
  const auto objects =
      Render({"--set", "tls.enabled=true", "--set-file", "tls.cert=" + dir_ + "/pki/node.crt",
              "--set-file", "tls.key=" + dir_ + "/pki/node.key", "--set-file",
              "tls.ca=" + dir_ + "/pki/ca.crt"});
  const YAML::Node secret = objects.at("Secret/rel-fsched-tls");
  for (const char* key : {"tls.crt", "tls.key", "ca.crt"}) {
    EXPECT_FALSE(secret["data"][key].as<std::string>().empty()) << key;
  }
  const YAML::Node pod = objects.at("DaemonSet/rel-fsched-worker")["spec"]["template"]["spec"];
  EXPECT_EQ(Volume(pod, "tls")["secret"]["secretName"].as<std::string>(), "rel-fsched-tls");
}

// Workers serve their own HTTP entry only when asked (worker.httpPort), HTTPS
// beside TLS like the master.
TEST_F(ChartTest, WorkersServeAnHttpEntryWhenAsked) {
  const auto port_names = [](const YAML::Node& ports) {
    std::set<std::string> names;
    for (const YAML::Node& p : ports) names.insert(p["name"].as<std::string>());
    return names;
  };
  auto objects = Render({});
  EXPECT_TRUE(ParsedConfig(objects, "worker.yaml").http().listen().empty());
  EXPECT_EQ(port_names(objects.at("Service/rel-fsched-worker")["spec"]["ports"]),
            (std::set<std::string>{"grpc", "metrics"}));

  objects = Render({"--set", "worker.httpPort=8081"});
  EXPECT_EQ(ParsedConfig(objects, "worker.yaml").http().listen(), "0.0.0.0:8081");
  EXPECT_EQ(ParsedConfig(objects, "master.yaml").http().listen(), "0.0.0.0:8080");
  EXPECT_EQ(port_names(objects.at("Service/rel-fsched-worker")["spec"]["ports"]),
            (std::set<std::string>{"grpc", "metrics", "http"}));
  const YAML::Node container =
      objects.at("DaemonSet/rel-fsched-worker")["spec"]["template"]["spec"]["containers"][0];
  bool declared = false;
  for (const YAML::Node& p : container["ports"]) {
    if (p["name"].as<std::string>() == "http") declared = p["containerPort"].as<int>() == 8081;
  }
  EXPECT_TRUE(declared);

  objects = Render({"--set", "worker.httpPort=8081", "--set", "tls.enabled=true", "--set",
                    "tls.existingSecret=fsched-tls"});
  const Config worker = ParsedConfig(objects, "worker.yaml");
  EXPECT_EQ(worker.http().listen(), "0.0.0.0:8081");
  EXPECT_FALSE(worker.tls().cert().empty());  // so the worker serves it as HTTPS
}

TEST_F(ChartTest, NotesGiveFschedctlAndGrpcurlCommandsForTheInstall) {
  // A client-side dry run renders NOTES.txt without a cluster.
  HelmRun run = Helm({"install", "--dry-run=client", "rel", kChart, "--namespace", "fsched"});
  ASSERT_EQ(run.code, 0) << run.output;
  const std::string notes = run.output.substr(run.output.find("NOTES:"));
  EXPECT_THAT(notes, HasSubstr("kubectl -n fsched port-forward svc/rel-fsched-master 50051:50051"));
  EXPECT_THAT(
      notes, HasSubstr("fschedctl --master 127.0.0.1:50051 $TLS --token_file admin.token workers"));
  EXPECT_THAT(notes, HasSubstr("grpcurl -plaintext -H \"authorization: Bearer $(cat admin.token)\" "
                               "127.0.0.1:50051 fsched.v1.Cluster/ListWorkers"));
  EXPECT_THAT(notes, HasSubstr("Secret rel-fsched-join-token"));
  EXPECT_THAT(notes,
              HasSubstr("get secret rel-fsched-admin-token -o jsonpath='{.data.admin-token}' "
                        "| base64 -d > admin.token"));
  EXPECT_THAT(notes, HasSubstr("--token_file admin.token invoke hello"));
  EXPECT_THAT(notes, HasSubstr("curl -H \"Authorization: Bearer $(cat admin.token)\" "
                               "127.0.0.1:8080/v1/fsched.v1.Cluster/ListWorkers -d '{}'"));

  run = Helm({"install", "--dry-run=client", "rel", kChart, "--namespace", "fsched", "--set",
              "tls.enabled=true", "--set", "tls.existingSecret=certs"});
  ASSERT_EQ(run.code, 0) << run.output;
  const std::string tls_notes = run.output.substr(run.output.find("NOTES:"));
  EXPECT_THAT(tls_notes, HasSubstr("--tls_ca ca.crt --tls_cert client.crt --tls_key client.key"));
  EXPECT_THAT(tls_notes,
              HasSubstr("curl --cacert ca.crt --cert client.crt --key client.key --connect-to "
                        "fsched:8080:127.0.0.1:8080 -H \"Authorization: Bearer $(cat "
                        "admin.token)\" https://fsched:8080/v1/fsched.v1.Cluster/ListWorkers"));
  EXPECT_THAT(tls_notes, HasSubstr("grpcurl -cacert ca.crt -cert client.crt -key client.key "
                                   "-servername fsched -H \"authorization: Bearer $(cat "
                                   "admin.token)\" 127.0.0.1:50051 list"));
}

TEST_F(ChartTest, BadValuesAreRefusedNamingTheValue) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--set", "architecture=fastest"}, "architecture"},
      {{"--set", "worker.cat.enabled=maybe"}, "cat"},
      {{"--set", "worker.runc=sometimes"}, "runc"},
      {{"--set", "master.grpcPort=70000"}, "grpcPort"},
      {{"--set", "worker.httpPort=-1"}, "httpPort"},
      {{"--set", "wroker.slots=2"}, "wroker"},
      {{"--set", "tls.enabled=true"}, "tls.existingSecret or tls.cert"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"template", "rel", kChart};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const HelmRun run = Helm(args);
    EXPECT_NE(run.code, 0) << c.args[1];
    EXPECT_THAT(run.output, HasSubstr(c.message)) << c.args[1];
  }
}

TEST_F(ChartTest, ThePrometheusScrapeExampleIsValid) {
  const std::string log = dir_ + "/promtool.log";
  auto promtool = testing::Process::Start(
      {"/usr/bin/promtool", "check", "config", kChart + "/examples/prometheus-scrape.yaml"}, log);
  ASSERT_TRUE(promtool.ok()) << promtool.status();
  EXPECT_EQ((*promtool)->Wait(absl::Seconds(60)), 0) << testing::ReadFile(log);
}

}  // namespace
}  // namespace fsched
