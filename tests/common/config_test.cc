#include "common/config.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/daemon_config.h"
#include "common/proto_time.h"
#include "common/transport_security.h"

namespace fsched {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::Not;

// What a master applies after the loader: role, topology, the daemon sections' rules.
absl::StatusOr<Config> ParseDaemonConfig(const std::string& yaml) {
  absl::StatusOr<Config> config = ParseConfig(yaml);
  if (!config.ok()) return config;
  const DaemonConfigRequest request{config::v1::NODE_ROLE_MASTER, {}, {}, {}};
  if (absl::Status s = FinishDaemonConfig(request, &*config); !s.ok()) return s;
  return config;
}

TEST(ConfigTest, EmptyDocumentYieldsDefaults) {
  auto config = ParseConfig("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->architecture(), v1::ARCHITECTURE_CENTRALIZED);
  EXPECT_EQ(config->node().role(), config::v1::NODE_ROLE_MASTER);
  EXPECT_EQ(config->scheduler().queue_order(), "aging-srtf");
  EXPECT_DOUBLE_EQ(config->scheduler().aging_rate(), 0.01);
  EXPECT_EQ(FromProto(config->scheduler().max_wait()), absl::Minutes(4));
  EXPECT_EQ(FromProto(config->scheduler().min_wait()), absl::Minutes(1));
  EXPECT_DOUBLE_EQ(config->scheduler().fifo_wait_factor(), 4);
  EXPECT_DOUBLE_EQ(config->scheduler().slowdown_bound(), 0);
  EXPECT_EQ(FromProto(config->cluster().heartbeat_interval()), absl::Seconds(1));
}

TEST(ConfigTest, ParsesEveryBlock) {
  auto config = ParseDaemonConfig(R"(
architecture: federated
node: {id: zone-master-1, role: zone-master, zone: zone-a, parent: "10.0.1.100:7000", labels: {rack: r1}}
listen: 0.0.0.0:7000
state_dir: /tmp/state
cluster: {join_token: s3cret, heartbeat_interval: 250ms, heartbeat_timeout: 2s}
scheduler: {queue_order: fifo, placement: round-robin, default_timeout: 30s,
            max_payload_bytes: 64KiB, max_attempts: 5}
worker: {master: "10.0.0.1:7000", slots: 8, output_limit_bytes: 1MiB}
topology:
  - {id: master-1, address: "10.0.1.100:7000", role: master, zone: zone-a}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->architecture(), v1::ARCHITECTURE_FEDERATED);
  EXPECT_EQ(config->node().id(), "zone-master-1");
  EXPECT_EQ(config->node().labels().at("rack"), "r1");
  EXPECT_EQ(config->cluster().join_token(), "s3cret");
  EXPECT_EQ(FromProto(config->cluster().heartbeat_interval()), absl::Milliseconds(250));
  EXPECT_EQ(config->scheduler().max_payload_bytes(), 64u * 1024);
  EXPECT_EQ(config->scheduler().max_attempts(), 5u);
  EXPECT_EQ(config->scheduler().retained_result_bytes(), uint64_t{256} << 20);  // defaults
  EXPECT_EQ(FromProto(config->scheduler().retained_result_age()), absl::Hours(1));
  EXPECT_TRUE(config->scheduler().durable_invocations());
  EXPECT_EQ(FromProto(config->cluster().reconnect_grace()), absl::Seconds(15));
  EXPECT_EQ(config->worker().slots(), 8u);
  ASSERT_EQ(config->topology_size(), 1);
  EXPECT_EQ(config->topology(0).address(), "10.0.1.100:7000");
}

TEST(ConfigTest, UnknownKeyIsNamed) {
  auto config = ParseConfig("scheduler:\n  queue_ordr: fifo\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("scheduler.queue_ordr"));
  EXPECT_THAT(config.status().message(), HasSubstr("allowed: aging_rate, default_estimate"));
}

// Cases the loader refuses from the schema alone (types, enums, declared ranges
// and formats) and the daemons' own rules; the master's, the worker's and
// routing's rules are tested beside them (tests/master, tests/worker, tests/routing).
TEST(ConfigTest, BadValuesAreRejectedWithTheirKey) {
  struct Case {
    const char* yaml;
    const char* expect;
  } cases[] = {
      {"cluster: {heartbeat_interval: soon}", "cluster.heartbeat_interval"},
      {"node: {role: boss}", "node.role"},
      {"architecture: mesh", "architecture"},
      {"worker: {slots: -3}", "worker.slots"},
      {"worker: {slots: 5000}", "worker.slots"},
      {"scheduler: {max_payload_bytes: 12 parsecs}", "scheduler.max_payload_bytes"},
      {"listen: nowhere", "listen"},
      {"scheduler: {max_attempts: 0}", "max_attempts"},
      {"scheduler: {max_queue: 0}", "scheduler.max_queue"},
      {"topology: [{id: a}]", "topology[0]"},
      {"node: [1, 2]", "node"},
      {"tail_scheduler: {min_samples: 1}", "tail_scheduler"},
      {"tail_scheduler: {sample_interval: often}", "tail_scheduler.sample_interval"},
      {"tail_scheduler: {sample_interval: 10ms}", "tail_scheduler.sample_interval"},
      {"tail_scheduler: {soft_threshold: 1.2}", "tail_scheduler"},
      {"tail_scheduler: {hard_f2c_threshold: 0.5}", "tail_scheduler.hard_f2c_threshold"},
      {"tail_scheduler: {offload_load_threshold: 0}", "tail_scheduler.offload_load_threshold"},
      {"scheduler: {aging_rate: -1}", "scheduler.aging_rate"},
      {"scheduler: {aging_rate: quick}", "scheduler.aging_rate"},
      {"scheduler: {fifo_wait_factor: -2}", "scheduler.fifo_wait_factor"},
      {"scheduler: {slowdown_bound: -1}", "scheduler.slowdown_bound"},
      {"scheduler: {min_wait: -1s}", "scheduler.min_wait"},
      {"scheduler: {predictor_history: 1}", "predictor_history"},
      {"scheduler: {preemption: maybe}", "scheduler.preemption"},
      {"scheduler: {preempt_gap: soon}", "scheduler.preempt_gap"},
      {"scheduler: {preempt_gap: 0s}", "scheduler.preempt_gap"},
      {"http: {listen: nowhere}", "http.listen"},
      {"http: {threads: 0}", "http.threads"},
      {"scheduler: {retained_result_bytes: 4096}", "scheduler.retained_result_bytes"},
      {"scheduler: {retained_result_age: 0s}", "scheduler.retained_result_age"},
      {"cluster: {reconnect_grace: 0s}", "cluster.reconnect_grace"},
      {"cluster: {restore_hold: -1s}", "cluster.restore_hold"},
      {"worker: {buffered_result_bytes: 4096}", "worker.buffered_result_bytes"},
      {"worker: {rootfs_cache_bytes: 4096}", "worker.rootfs_cache_bytes"},
      {"http: {threads: 5000}", "http.threads"},
      {"simulator: {workers: 0}", "simulator.workers"},
      {"simulator: {slots: 0}", "simulator.slots"},
      {"simulator: {cold_start: -1s}", "simulator.cold_start"},
      {"simulator: {keep_alive: forever}", "simulator.keep_alive"},
      {"simulator: {cores: 4}", "simulator"},
      {"worker: {runc: maybe}", "worker.runc"},
      {"worker: {containerd: yes}", "worker.containerd"},
      {"worker: {containerd_namespace: 'a b'}", "worker.containerd_namespace"},
      {"worker: {containerd_namespace: ''}", "worker.containerd_namespace"},
      {"worker: {resctrl_root: sys/fs/resctrl}", "worker.resctrl_root"},
      {"worker: {default_group_ways: 65}", "worker.default_group_ways"},
      {"worker: {runtime: docker}", "worker.runtime"},
      {"worker: {keep_alive: forever}", "worker.keep_alive"},
      {"worker: {warm_memory_bytes: lots}", "worker.warm_memory_bytes"},
      {"worker: {cpu_priority: sometimes}", "worker.cpu_priority"},
      {"worker: {cpu_slices: maybe}", "worker.cpu_slices"},
      {"worker: {cpu_slice_alpha: -1}", "worker.cpu_slice_alpha"},
      {"worker: {function_uid: -1}", "worker.function_uid"},
      {"cluster: {max_rootfs_bytes: big}", "cluster.max_rootfs_bytes"},
      {"log_level: loud", "log_level"},
      {"listen: [a, b]", "listen"},
      {"node: {labels: [a]}", "node.labels"},
      {"hello", "config"},
  };
  for (const Case& c : cases) {
    auto config = ParseDaemonConfig(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_THAT(config.status().message(), HasSubstr(c.expect)) << c.yaml;
  }
}

TEST(ConfigTest, EnumErrorsListTheChoices) {
  auto config = ParseConfig("node: {role: boss}");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("node.role: 'boss' is not one of master, zone-master or worker"));
  // Seed 001's names and fsched's former ones are refused with the current one.
  for (const char* former : {"edge", "edge-controller"}) {
    config = ParseConfig(absl::StrCat("node: {role: ", former, "}"));
    ASSERT_FALSE(config.ok());
    EXPECT_THAT(config.status().message(),
                HasSubstr(absl::StrCat("'", former, "' was renamed 'zone-master'")));
  }
  config = ParseConfig("topology: [{id: a, address: \"h:1\", role: cloud-controller}]");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("topology[0].role: 'cloud-controller' was renamed 'master'"));
  config =
      ParseConfig("worker: {runc: ON}");  // names are lower-case, as written in the schema's docs
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("auto, on or off"));
  config = ParseConfig("node: {role: unspecified}");
  ASSERT_FALSE(config.ok());
}

TEST(ConfigTest, SimulatorBlockIsReadAndRendered) {
  auto config = ParseConfig("simulator: {workers: 3, slots: 8, cold_start: 250ms, keep_alive: 2m}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->simulator().workers(), 3u);
  EXPECT_EQ(config->simulator().slots(), 8u);
  EXPECT_EQ(FromProto(config->simulator().cold_start()), absl::Milliseconds(250));
  EXPECT_EQ(FromProto(config->simulator().keep_alive()), absl::Minutes(2));
  auto again = ParseConfig(ConfigToYaml(*config));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(FromProto(again->simulator().cold_start()), absl::Milliseconds(250));
}

TEST(ConfigTest, MalformedYamlIsAnError) {
  auto config = ParseConfig("node: {id: [unclosed");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("YAML"));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  auto config = LoadConfigFile("/nonexistent/fsched.yaml");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigTest, FileErrorsNameTheFile) {
  const std::string path = ::testing::TempDir() + "/bad.yaml";
  std::ofstream(path) << "worker: {slotz: 3}\n";
  auto config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(path));
  EXPECT_THAT(config.status().message(), HasSubstr("worker.slotz"));
}

TEST(ConfigTest, YamlRoundTripRedactsTheToken) {
  Config config = DefaultConfig<Config>();
  config.mutable_cluster()->set_join_token("do-not-print");
  config.mutable_node()->set_id("m1");
  const std::string yaml = ConfigToYaml(config);
  EXPECT_THAT(yaml, Not(HasSubstr("do-not-print")));
  EXPECT_THAT(yaml, HasSubstr("<redacted>"));
  auto parsed = ParseConfig(yaml);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << yaml;
  EXPECT_EQ(parsed->node().id(), "m1");
  EXPECT_EQ(FromProto(parsed->scheduler().queue_timeout()),
            FromProto(config.scheduler().queue_timeout()));
}

// Printing is generic over the schema: every key, with every type, reads back
// to the same message (the secret aside).
TEST(ConfigTest, EveryKeyPrintsAndReadsBack) {
  auto config = ParseConfig(R"(
architecture: dynamic
node: {id: n1, role: zone-master, zone: z, parent: "c:1", labels: {b: "2", a: "1"}}
log_level: debug
scheduler: {aging_rate: 0.123456789, max_wait: 1m30s, max_payload_bytes: 3MiB, preemption: false}
worker: {runtime: runc, runc: on, resctrl: off, slots: 7, reconnect_min: 150ms}
tail_scheduler: {soft_d2f_threshold: 1.25, offload_load_threshold: 0.5}
network_emulation: {master: 60ms, nodes: {x: 5ms, y: 1.5}}
metrics: {listen: ''}
tls: {cert: a, key: b, server_name: s}
topology: [{id: a, address: "h:1", role: zone-master, zone: z}]
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const std::string yaml = ConfigToYaml(*config);
  auto again = ParseConfig(yaml);
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << yaml;
  EXPECT_TRUE(MessageDifferencer::Equivalent(*config, *again)) << yaml;
  EXPECT_THAT(yaml, HasSubstr("runtime: runc"));
  EXPECT_THAT(yaml, HasSubstr("role: zone-master"));
  EXPECT_THAT(yaml, HasSubstr("max_wait: 1m30s"));
  EXPECT_EQ(FromProto(again->network_emulation().nodes().at("y")), absl::Milliseconds(1500));
  // Defaults alone round-trip too.
  const Config defaults = DefaultConfig<Config>();
  auto defaults_again = ParseConfig(ConfigToYaml(defaults));
  ASSERT_TRUE(defaults_again.ok()) << defaults_again.status();
  EXPECT_TRUE(MessageDifferencer::Equivalent(defaults, *defaults_again));
}

// Flags reach the config as overrides: applied over the file, and checked the same way.
TEST(ConfigTest, OverridesWinAndAreCheckedLikeTheFile) {
  auto config = ParseConfig("listen: 0.0.0.0:1\ncluster: {join_token: a}\n",
                            {{"listen", "127.0.0.1:0"}, {"worker.slots", "3"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen(), "127.0.0.1:0");
  EXPECT_EQ(config->worker().slots(), 3u);
  EXPECT_EQ(config->cluster().join_token(), "a");  // the file's, where no override says
  config = ParseConfig("", {{"node.role", "boss"}});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("node.role"));
  config = ParseConfig("", {{"metrics.listen", ""}});  // off
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metrics().listen(), "");
  config = ParseConfig("node: 5", {{"node.id", "x"}});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("node"));
}

TEST(ConfigTest, FieldRulesApplyToMessagesBuiltInCode) {
  TailSchedulerConfig t = DefaultConfig<TailSchedulerConfig>();
  EXPECT_TRUE(CheckFieldRules(t).ok());
  t.set_min_samples(1);
  const absl::Status s = CheckFieldRules(t, "tail_scheduler");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("tail_scheduler.min_samples: must be at least 2"));
}

TEST(ConfigTest, DurationsAndSizes) {
  EXPECT_EQ(*ParseDurationText("1.5"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseDurationText("1m30s"), absl::Seconds(90));
  EXPECT_FALSE(ParseDurationText("fast").ok());
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("2MiB"), 2u << 20);
  EXPECT_EQ(*ParseByteSize("3 KB"), 3000u);
  EXPECT_FALSE(ParseByteSize("MiB").ok());
  EXPECT_FALSE(ParseByteSize("5 furlongs").ok());
}

// Seed 001's tail_scheduler block, which the seed itself never read.
TEST(ConfigTest, ReadsTheSeedsTailSchedulerBlock) {
  absl::StatusOr<Config> config = ParseConfig(R"(
tail_scheduler:
  soft_d2f_threshold: 1.2
  hard_d2f_threshold: 2.0
  soft_f2c_threshold: 1.7
  hard_f2c_threshold: 2.7
  min_samples: 20
  sample_interval: 5
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const TailSchedulerConfig& t = config->tail_scheduler();
  EXPECT_EQ(t.soft_d2f_threshold(), 1.2);
  EXPECT_EQ(t.hard_d2f_threshold(), 2.0);
  EXPECT_EQ(t.min_samples(), 20u);
  EXPECT_EQ(FromProto(t.sample_interval()), absl::Seconds(5));
  EXPECT_EQ(t.offload_load_threshold(), 0.8);  // left out: default
  absl::StatusOr<Config> again = ParseConfig(ConfigToYaml(*config));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->tail_scheduler().min_samples(), 20u);
}

TEST(ConfigTest, ZoneMastersNeedAParentAndOnlyThey) {
  auto config = ParseDaemonConfig("node: {role: zone-master, zone: a}");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("node.parent"));
  config = ParseDaemonConfig("node: {role: master, parent: \"master:1\"}");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("only a zone master"));
  config = ParseDaemonConfig("node: {role: zone-master, zone: a, parent: master}");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("not host:port"));
  config = ParseDaemonConfig("node: {role: zone-master, zone: a, parent: \"master:7000\"}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->node().parent(), "master:7000");
}

TEST(ConfigTest, NetworkEmulationDelaysAreReadAndRendered) {
  auto config = ParseConfig(R"(
network_emulation: {same_zone: 10ms, cross_zone: 20ms, master: 60ms, nodes: {zone-master-b: 35ms}}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const NetworkEmulationConfig& net = config->network_emulation();
  EXPECT_EQ(FromProto(net.same_zone()), absl::Milliseconds(10));
  EXPECT_EQ(FromProto(net.master()), absl::Milliseconds(60));
  EXPECT_EQ(FromProto(net.nodes().at("zone-master-b")), absl::Milliseconds(35));
  auto again = ParseConfig(ConfigToYaml(*config));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(FromProto(again->network_emulation().cross_zone()), absl::Milliseconds(20));
  EXPECT_EQ(FromProto(again->network_emulation().nodes().at("zone-master-b")),
            absl::Milliseconds(35));
  config = ParseConfig("network_emulation: {master: -5ms}");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("network_emulation.master"));
  // The key's former name is refused with its new one.
  config = ParseConfig("network_emulation: {cloud: 60ms}");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("network_emulation.cloud: renamed: write network_emulation.master"));
  config = ParseConfig("network_emulation: {nodes: {w1: soon}}");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("network_emulation.nodes.w1"));
  config = ParseConfig("network_emulation: {nodes: {w1: -1ms}}");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("network_emulation.nodes.w1"));
}

TEST(ConfigTest, MetricsEndpointIsOnByDefaultAndConfigurable) {
  auto config = ParseConfig("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metrics().listen(), "127.0.0.1:0");
  config =
      ParseConfig("metrics: {listen: '0.0.0.0:9464', port_file: m.port, max_function_labels: 5}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metrics().listen(), "0.0.0.0:9464");
  EXPECT_EQ(config->metrics().port_file(), "m.port");
  EXPECT_EQ(config->metrics().max_function_labels(), 5u);
  auto again = ParseConfig(ConfigToYaml(*config));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->metrics().listen(), "0.0.0.0:9464");
  EXPECT_EQ(again->metrics().max_function_labels(), 5u);
  EXPECT_TRUE(ParseConfig("metrics: {listen: ''}").ok());  // off
  for (const char* bad : {"metrics: {listen: nowhere}", "metrics: {max_function_labels: 0}",
                          "metrics: {lisen: ':1'}"}) {
    config = ParseConfig(bad);
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr("metrics.")) << bad;
  }
}

TEST(ConfigTest, TlsNeedsCertAndKeyTogetherAndACaForClientCertificates) {
  auto config =
      ParseDaemonConfig("tls: {cert: a.crt, key: a.key, ca: ca.crt, require_client_cert: true}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(TlsConfigured(config->tls()));
  EXPECT_TRUE(config->tls().require_client_cert());
  auto again = ParseConfig(ConfigToYaml(*config));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->tls().ca(), "ca.crt");
  EXPECT_TRUE(again->tls().require_client_cert());
  EXPECT_FALSE(TlsConfigured(ParseConfig("").value().tls()));
  for (const char* bad :
       {"tls: {cert: a.crt}", "tls: {ca: ca.crt}",
        "tls: {cert: a.crt, key: a.key, require_client_cert: true}", "tls: {certificate: a.crt}"}) {
    config = ParseDaemonConfig(bad);
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr("tls")) << bad;
  }
}

TEST(ConfigTest, CertificateRolesNeedMutualTlsAndAUserRoleEach) {
  const std::string tls = "tls: {cert: a.crt, key: a.key, ca: ca.crt, require_client_cert: true}\n";
  auto config = ParseDaemonConfig(
      tls + "auth: {certificates: [{name: alice, role: developer}, {name: bob, role: invoker}]}");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->auth().certificates_size(), 2);
  EXPECT_EQ(config->auth().certificates(0).role(), v1::ROLE_DEVELOPER);
  const std::pair<std::string, std::string> bad[] = {
      {"auth: {certificates: [{name: alice, role: admin}]}", "tls.require_client_cert"},
      {tls + "auth: {certificates: [{name: alice, role: cluster}]}", "certificates[0].role"},
      {tls + "auth: {certificates: [{role: admin}]}", "certificates[0].name"},
      {tls + "auth: {certificates: [{name: a, role: admin}, {name: a, role: invoker}]}",
       "listed twice"},
  };
  for (const auto& [yaml, expect] : bad) {
    config = ParseDaemonConfig(yaml);
    ASSERT_FALSE(config.ok()) << yaml;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(expect)) << yaml;
  }
}

TEST(ConfigTest, TheSharedTopologyGivesEachNodeItsZoneRoleAndMasters) {
  const std::string topology = R"(
topology:
  - {id: master-1, address: "10.0.1.100:50051", role: master, zone: us-west-1}
  - {id: zone-master-1, address: "10.0.2.100:50051", role: zone-master, zone: us-west-1}
  - {id: node-1, address: "10.0.2.101:50052", role: worker, zone: us-west-1}
)";
  auto zone_master = ParseDaemonConfig("node: {id: zone-master-1}\n" + topology);
  ASSERT_TRUE(zone_master.ok()) << zone_master.status();
  EXPECT_EQ(zone_master->node().role(), config::v1::NODE_ROLE_ZONE_MASTER);
  EXPECT_EQ(zone_master->node().zone(), "us-west-1");
  EXPECT_EQ(zone_master->node().parent(), "10.0.1.100:50051");
  // A worker (its role set by fsched-worker) finds its master there too.
  auto worker = ParseConfig("node: {id: node-1}\n" + topology);
  ASSERT_TRUE(worker.ok()) << worker.status();
  worker->mutable_node()->set_role(config::v1::NODE_ROLE_WORKER);
  ApplyTopology(&*worker);
  EXPECT_EQ(worker->worker().master(), "10.0.1.100:50051");
  // What the node's own config says wins.
  auto pinned = ParseConfig("node: {id: node-1, zone: z9}\nworker: {master: \"m:1\"}\n" + topology);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  pinned->mutable_node()->set_role(config::v1::NODE_ROLE_WORKER);
  ApplyTopology(&*pinned);
  EXPECT_EQ(pinned->node().zone(), "z9");
  EXPECT_EQ(pinned->worker().master(), "m:1");
  auto bad = ParseConfig("topology: [{id: x, address: \"h:1\", role: boss}]");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("topology[0].role"));
}

}  // namespace
}  // namespace fsched
