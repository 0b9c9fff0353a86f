// Seed 001's topology on loopback: a master, two zones each with a zone
// master and two workers. Each architecture routes as specified, asserted from
// where requests ran (worker, zone, route) and their hop counts; a killed zone
// master loses no accepted request.
#include "fsched/v1/worker.grpc.pb.h"
#include "tests/integration/cluster_fixture.h"

namespace fsched {
namespace {

using ::testing::ElementsAre;
using ::testing::Lt;

class ArchitecturesTest : public ClusterTest {
 protected:
  // Starts the master, zone masters zone-master-a and zone-master-b, and workers
  // a1, a2 (zone a) and b1, b2 (zone b), each with `slots` slots, and waits
  // until the zone masters have their workers and the master's functions.
  void StartFederation(int slots, const std::string& master_extra = "") {
    StartMaster(master_extra);  // node id test-master
    for (const std::string zone : {"a", "b"}) StartZoneMaster(zone);
    for (const std::string zone : {"a", "b"}) {
      worker_flags_ = {"--zone", zone};
      for (const std::string n : {"1", "2"}) StartWorker(zone + n, slots);
    }
    WaitForReady({"a1", "a2", "b1", "b2"});
    ASSERT_TRUE(Register("echo", {"cat"}).ok());
    ASSERT_TRUE(Register("sleep", {"sh", "-c", "sleep ${1:-1}; echo slept", "sleep"}).ok());
    for (const std::string zone : {"a", "b"}) WaitForZone(zone, {zone + "1", zone + "2"});
  }

  void StartZoneMaster(const std::string& zone) {
    const std::string id = "zone-master-" + zone;
    const std::string config = dir_ + "/" + id + ".yaml";
    testing::WriteFile(
        config,
        absl::StrCat("node: {id: ", id, ", role: zone-master, zone: ", zone, ", parent: \"",
                     master_address_, "\"}\nlisten: 127.0.0.1:0\nstate_dir: ", dir_, "/", id,
                     "-state\ncluster: {join_token_file: ", TokenFile("cluster", kToken),
                     ", heartbeat_interval: 100ms, heartbeat_timeout: 800ms}\n"));
    const std::string port_file = dir_ + "/" + id + ".port";
    auto process = Process::Start({FSCHED_MASTER_BIN, "--config", config, "--port_file", port_file},
                                  dir_ + "/" + id + ".log");
    ASSERT_TRUE(process.ok()) << process.status();
    auto port = testing::WaitForPortFile(port_file, process->get());
    ASSERT_TRUE(port.ok()) << port.status();
    zone_masters_[zone] = std::move(*process);
    zone_addresses_[zone] = absl::StrCat("127.0.0.1:", *port);
  }

  // Until the zone master lists `workers` ready (they followed the membership
  // push to it) and has mirrored the master's functions.
  void WaitForZone(const std::string& zone, const std::vector<std::string>& workers) {
    auto channel = MakeChannel(zone_addresses_[zone]);
    auto cluster = v1::Cluster::NewStub(channel);
    auto controller = v1::Controller::NewStub(channel);
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      grpc::ClientContext ctx;
      v1::ListWorkersResponse listed;
      size_t ready = 0;
      if (cluster->ListWorkers(&ctx, v1::ListWorkersRequest(), &listed).ok()) {
        for (const auto& w : listed.workers()) {
          ready += w.state() == v1::WORKER_STATE_READY &&
                   std::find(workers.begin(), workers.end(), w.id()) != workers.end();
        }
      }
      grpc::ClientContext fctx;
      v1::ListFunctionsResponse functions;
      const bool mirrored =
          controller->ListFunctions(&fctx, v1::ListFunctionsRequest(), &functions).ok() &&
          functions.functions_size() == 2;
      if (ready == workers.size() && mirrored) return;
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "zone " << zone << " did not get its workers and functions; log:\n"
           << testing::ReadFile(dir_ + "/zone-master-" + zone + ".log");
  }

  std::string WorkerAddress(const std::string& id) {
    return absl::StrCat("127.0.0.1:", worker_ports_[id]);
  }

  static v1::InvokeRequest Request(const std::string& function, v1::Architecture a,
                                   const std::string& arg = "") {
    v1::InvokeRequest req;
    req.set_function(function);
    req.set_payload("hello");
    req.set_architecture(a);
    if (!arg.empty()) req.add_args(arg);
    return req;
  }

  // Worker.Invoke at a worker (direct entry).
  // `as_node`: with the cluster's credential, as a forwarding fsched node
  // calls (only nodes may set hops and route).
  grpc::Status AtWorker(const std::string& id, const v1::InvokeRequest& req,
                        v1::InvocationResult* result, bool as_node = false) {
    auto stub = v1::Worker::NewStub(MakeChannel(WorkerAddress(id)));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    if (as_node) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kToken));
    return stub->Invoke(&ctx, req, result);
  }

  // Controller.Invoke at a master: "master" or a zone name.
  grpc::Status AtMaster(const std::string& which, const v1::InvokeRequest& req,
                        v1::InvocationResult* result) {
    const std::string address = which == "master" ? master_address_ : zone_addresses_[which];
    auto stub = v1::Controller::NewStub(MakeChannel(address));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    return stub->Invoke(&ctx, req, result);
  }

  static std::vector<std::string> Route(const v1::InvocationResult& r) {
    return {r.route().begin(), r.route().end()};
  }

  // Occupies `worker`'s only slot with a direct call running `seconds`.
  std::thread Occupy(const std::string& worker, int seconds) {
    return std::thread([this, worker, seconds] {
      v1::InvocationResult r;
      auto req = Request("sleep", v1::ARCHITECTURE_DECENTRALIZED, std::to_string(seconds));
      req.set_hops(2);  // served where it enters, whatever the load
      EXPECT_TRUE(AtWorker(worker, req, &r, /*as_node=*/true).ok());
    });
  }

  void WaitBusy(const std::string& worker) {
    auto stub = v1::Worker::NewStub(MakeChannel(WorkerAddress(worker)));
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      grpc::ClientContext ctx;
      v1::WorkerStatus status;
      if (stub->GetStatus(&ctx, v1::GetStatusRequest(), &status).ok() &&
          status.running_size() > 0) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    FAIL() << worker << " never started its call";
  }

  std::map<std::string, std::unique_ptr<Process>> zone_masters_;
  std::map<std::string, std::string> zone_addresses_;
};

TEST_F(ArchitecturesTest, CentralizedGoesToTheMasterFromEveryEntry) {
  StartFederation(2);
  v1::InvocationResult r;
  ASSERT_TRUE(AtWorker("a1", Request("echo", v1::ARCHITECTURE_CENTRALIZED), &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_EQ(r.stdout(), "hello");
  EXPECT_THAT(Route(r), ElementsAre("a1", "test-master"));
  EXPECT_EQ(r.hops(), 1u);
  EXPECT_EQ(r.architecture(), v1::ARCHITECTURE_CENTRALIZED);
  EXPECT_EQ(r.entry_node(), "a1");
  EXPECT_FALSE(r.worker_id().empty());

  ASSERT_TRUE(AtMaster("b", Request("echo", v1::ARCHITECTURE_CENTRALIZED), &r).ok());
  EXPECT_THAT(Route(r), ElementsAre("zone-master-b", "test-master"));
  EXPECT_EQ(r.hops(), 1u);

  ASSERT_TRUE(AtMaster("master", Request("echo", v1::ARCHITECTURE_CENTRALIZED), &r).ok());
  EXPECT_THAT(Route(r), ElementsAre("test-master"));
  EXPECT_EQ(r.hops(), 0u);
  EXPECT_EQ(r.entry_node(), "test-master");
}

TEST_F(ArchitecturesTest, FederatedStaysInTheZoneUntilItIsBusyThenOffloads) {
  StartFederation(1);
  v1::InvocationResult r;
  ASSERT_TRUE(AtWorker("a2", Request("echo", v1::ARCHITECTURE_FEDERATED), &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_THAT(Route(r), ElementsAre("a2", "zone-master-a"));
  EXPECT_EQ(r.hops(), 1u);
  EXPECT_EQ(r.zone(), "a");
  EXPECT_EQ(r.architecture(), v1::ARCHITECTURE_FEDERATED);

  // The master hands federated requests to a zone master.
  ASSERT_TRUE(AtMaster("master", Request("echo", v1::ARCHITECTURE_FEDERATED), &r).ok());
  ASSERT_EQ(r.route_size(), 2);
  EXPECT_EQ(r.zone(), r.route(1) == "zone-master-a" ? "a" : "b");

  // Zone a's two slots taken: zone-master-a is over the threshold and offloads to zone b.
  std::thread busy1 = Occupy("a1", 3), busy2 = Occupy("a2", 3);
  WaitBusy("a1");
  WaitBusy("a2");
  absl::SleepFor(absl::Milliseconds(300));  // heartbeats carry the load to zone-master-a
  ASSERT_TRUE(AtMaster("a", Request("echo", v1::ARCHITECTURE_FEDERATED), &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_THAT(Route(r), ElementsAre("zone-master-a", "zone-master-b"));
  EXPECT_EQ(r.hops(), 1u);
  EXPECT_EQ(r.zone(), "b");
  busy1.join();
  busy2.join();
}

TEST_F(ArchitecturesTest, DecentralizedRunsLocallyThenOnAPeerAndNeverLoops) {
  StartFederation(1);
  v1::InvocationResult r;
  ASSERT_TRUE(AtWorker("b1", Request("echo", v1::ARCHITECTURE_DECENTRALIZED), &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_THAT(Route(r), ElementsAre("b1"));
  EXPECT_EQ(r.hops(), 0u);
  EXPECT_EQ(r.worker_id(), "b1");
  EXPECT_EQ(r.architecture(), v1::ARCHITECTURE_DECENTRALIZED);

  std::thread busy = Occupy("b1", 5);
  WaitBusy("b1");
  ASSERT_TRUE(AtWorker("b1", Request("echo", v1::ARCHITECTURE_DECENTRALIZED), &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_THAT(Route(r), ElementsAre("b1", "b2"));  // its zone peer
  EXPECT_EQ(r.hops(), 1u);
  EXPECT_EQ(r.worker_id(), "b2");

  // Both busy: b2 must not send it back to b1 (already on the route); it waits at b2.
  std::thread busy2 = Occupy("b2", 2);
  WaitBusy("b2");
  ASSERT_TRUE(AtWorker("b1", Request("echo", v1::ARCHITECTURE_DECENTRALIZED), &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_THAT(Route(r), ElementsAre("b1", "b2"));
  EXPECT_THAT(r.hops(), Lt(3u));
  // b2 said, answering, that it had no room when that request came: while its
  // word is fresh, b1 (still busy) keeps the next one, queued where it entered,
  // rather than hand it to a peer that would only queue it too.
  ASSERT_TRUE(AtWorker("b1", Request("echo", v1::ARCHITECTURE_DECENTRALIZED), &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_THAT(Route(r), ElementsAre("b1"));
  EXPECT_EQ(r.worker_id(), "b1");
  busy.join();
  busy2.join();

  // From a zone master, decentralized goes to one of its workers.
  ASSERT_TRUE(AtMaster("a", Request("echo", v1::ARCHITECTURE_DECENTRALIZED), &r).ok());
  ASSERT_EQ(r.route_size(), 2);
  EXPECT_EQ(r.route(0), "zone-master-a");
  EXPECT_EQ(r.worker_id(), r.route(1));
  EXPECT_EQ(r.zone(), "a");
}

TEST_F(ArchitecturesTest, DynamicResolvesToAConcreteArchitectureAndIsMeasured) {
  StartFederation(2);
  v1::InvocationResult r;
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(AtWorker("a1", Request("echo", v1::ARCHITECTURE_DYNAMIC), &r).ok());
    // The selector starts all decentralized (seed 001) and an idle worker runs it itself.
    EXPECT_EQ(r.architecture(), v1::ARCHITECTURE_DECENTRALIZED);
    EXPECT_EQ(r.worker_id(), "a1");
  }
  // The entry node keeps the windows (its Admin service, like a master's);
  // the master saw none of these calls.
  auto samples_at = [&](v1::Admin::Stub* admin, v1::Architecture a) {
    grpc::ClientContext ctx;
    v1::GetArchMetricsRequest req;
    req.set_function("echo");
    v1::GetArchMetricsResponse metrics;
    EXPECT_TRUE(admin->GetArchMetrics(&ctx, req, &metrics).ok());
    uint64_t samples = 0;
    for (const auto& f : metrics.functions()) {
      for (const auto& w : f.windows()) samples += w.architecture() == a ? w.samples() : 0;
    }
    return samples;
  };
  auto worker_admin = v1::Admin::NewStub(MakeChannel(WorkerAddress("a1")));
  EXPECT_EQ(samples_at(worker_admin.get(), v1::ARCHITECTURE_DECENTRALIZED), 12u);
  EXPECT_EQ(samples_at(admin_.get(), v1::ARCHITECTURE_DECENTRALIZED), 0u);
  // Its architecture is set there too; a bad name is refused.
  grpc::ClientContext sctx;
  v1::SetArchitectureRequest set;
  set.set_architecture("federated");
  v1::SetArchitectureResponse answer;
  ASSERT_TRUE(worker_admin->SetArchitecture(&sctx, set, &answer).ok());
  ASSERT_TRUE(AtWorker("a1", Request("echo", v1::ARCHITECTURE_UNSPECIFIED), &r).ok());
  EXPECT_THAT(Route(r), ElementsAre("a1", "zone-master-a"));
  grpc::ClientContext bctx;
  set.set_architecture("mesh");
  EXPECT_EQ(worker_admin->SetArchitecture(&bctx, set, &answer).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // What masters keep is refused with the master to ask.
  grpc::ClientContext dctx;
  v1::GetDurationsResponse durations;
  grpc::Status kept = worker_admin->GetDurations(&dctx, v1::GetDurationsRequest(), &durations);
  EXPECT_EQ(kept.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(kept.error_message(), HasSubstr(master_address_));
  grpc::ClientContext rctx;
  v1::Recovery recovery;
  kept = worker_admin->GetRecovery(&rctx, v1::GetRecoveryRequest(), &recovery);
  EXPECT_EQ(kept.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(kept.error_message(), HasSubstr(master_address_));
}

// Seed 001's selector, live at an entry worker in dynamic mode: while the
// decentralized tail ratio P95/P50 stays under its soft threshold, traffic
// stays decentralized; once a slow call in four lifts it past the hard one,
// traffic moves to federated, as the calls' own architecture and the ratios
// GetArchMetrics reports both say.
TEST_F(ArchitecturesTest, TheDynamicSelectorSwitchesWhenTheTailRatioCrossesItsThresholds) {
  StartFederation(2);
  auto admin = v1::Admin::NewStub(MakeChannel(WorkerAddress("a1")));
  {
    // The seed's thresholds (1.5 and 2.5); ratios updated every 200 ms.
    grpc::ClientContext ctx;
    v1::UpdateThresholdsRequest req;
    req.mutable_thresholds()->set_soft_d2f(1.5);
    req.mutable_thresholds()->set_hard_d2f(2.5);
    req.mutable_thresholds()->set_min_samples(10);
    req.mutable_thresholds()->set_sample_interval_seconds(0.2);
    v1::Thresholds now;
    ASSERT_TRUE(admin->UpdateThresholds(&ctx, req, &now).ok());
  }
  const auto ratios = [&] {
    grpc::ClientContext ctx;
    v1::GetArchMetricsRequest req;
    req.set_function("sleep");
    v1::GetArchMetricsResponse metrics;
    EXPECT_TRUE(admin->GetArchMetrics(&ctx, req, &metrics).ok());
    return metrics.functions_size() > 0 ? metrics.functions(0).ratios() : v1::ArchRatios();
  };
  const auto call = [&](const std::string& seconds) {
    v1::InvocationResult r;
    EXPECT_TRUE(AtWorker("a1", Request("sleep", v1::ARCHITECTURE_DYNAMIC, seconds), &r).ok());
    EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
    return r.architecture();
  };
  // Calls of one length: P95/P50 near 1, under the soft threshold.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(call("0.2"), v1::ARCHITECTURE_DECENTRALIZED) << i;
  EXPECT_EQ(ratios().federated(), 0);
  EXPECT_EQ(ratios().decentralized(), 1);
  // One call in four takes 1 s: P95/P50 near 5, past the hard threshold.
  int federated = 0, calls = 0;
  for (; calls < 100 && federated < 5; ++calls) {
    federated += call(calls % 4 == 3 ? "1" : "0.2") == v1::ARCHITECTURE_FEDERATED;
  }
  EXPECT_GE(federated, 5) << "still decentralized after " << calls << " calls";
  EXPECT_GT(ratios().federated(), 0.5);
}

TEST_F(ArchitecturesTest, KillingAZoneMasterMidRunLosesNoAcceptedRequest) {
  StartFederation(2);
  std::atomic<int> ok{0}, failed{0}, via_b_after_kill{0};
  std::atomic<bool> killed{false};
  std::vector<std::thread> clients;
  for (const std::string entry : {"a1", "a2", "b1"}) {
    clients.emplace_back([&, entry] {
      for (int i = 0; i < 25; ++i) {
        v1::InvocationResult r;
        const bool was_killed = killed.load();
        grpc::Status s = AtWorker(entry, Request("sleep", v1::ARCHITECTURE_FEDERATED, "0.2"), &r);
        if (s.ok() && r.outcome() == v1::OUTCOME_OK) {
          ++ok;
          if (was_killed && entry[0] == 'a' && r.zone() == "b") ++via_b_after_kill;
        } else {
          ++failed;
          ADD_FAILURE() << entry << ": " << s.error_message() << " " << r.message();
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));
  zone_masters_["a"]->Signal(SIGKILL);
  killed = true;
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(ok.load(), 75);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(via_b_after_kill.load(), 0);  // zone a's entries were served by zone b
}

TEST_F(ArchitecturesTest, ARestartedWorkerIsToldItsZoneMasterAgain) {
  StartFederation(1);
  workers_["b2"]->Signal(SIGKILL);
  workers_["b2"]->Wait(absl::Seconds(5));
  workers_.erase("b2");
  worker_flags_ = {"--zone", "b"};
  StartWorker("b2", 1);
  // Nothing else changed in the federation: only the push on joining tells it.
  WaitForZone("b", {"b1", "b2"});
  v1::InvocationResult r;
  grpc::Status s = AtWorker("b2", Request("echo", v1::ARCHITECTURE_FEDERATED), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(Route(r), ElementsAre("b2", "zone-master-b"));
}

TEST_F(ArchitecturesTest, BadRequestsAndMisplacedCallsGetClearErrors) {
  StartFederation(1);
  v1::InvocationResult r;
  auto bad = Request("echo", static_cast<v1::Architecture>(42));
  grpc::Status s = AtWorker("a1", bad, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("architecture 42 is unknown"));
  s = AtWorker("a1", Request("nope", v1::ARCHITECTURE_DECENTRALIZED), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  s = AtMaster("a", Request("nope", v1::ARCHITECTURE_FEDERATED), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();

  // Functions are registered at the master only.
  auto zone = v1::Controller::NewStub(MakeChannel(zone_addresses_["b"]));
  grpc::ClientContext ctx;
  v1::RegisterFunctionRequest reg;
  reg.mutable_spec()->set_name("local");
  reg.mutable_spec()->add_command("cat");
  v1::Function f;
  s = zone->RegisterFunction(&ctx, reg, &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr(master_address_));

  // A zone master announces with the cluster's credential: without a token it
  // is refused, and a user's token (an admin's) is not the cluster's.
  v1::AnnounceZoneRequest announce;
  announce.set_node_id("zone-master-x");
  announce.set_zone("x");
  announce.set_address("127.0.0.1:1");
  announce.set_join_token("wrong");
  v1::ZoneDirectory dir;
  for (const auto& [bearer, code] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"", grpc::StatusCode::UNAUTHENTICATED},
           {"not-the-cluster-token", grpc::StatusCode::UNAUTHENTICATED},
           {testing::kAdminToken, grpc::StatusCode::PERMISSION_DENIED}}) {
    grpc::ClientContext actx;
    actx.AddMetadata("authorization", bearer.empty() ? "" : absl::StrCat("Bearer ", bearer));
    s = cluster_->AnnounceZone(&actx, announce, &dir);
    EXPECT_EQ(s.error_code(), code) << bearer;
  }
  // The directory lists the master and both zones.
  grpc::ClientContext lctx;
  ASSERT_TRUE(cluster_->ListMasters(&lctx, v1::ListMastersRequest(), &dir).ok());
  ASSERT_EQ(dir.masters_size(), 3);
  EXPECT_EQ(dir.masters(0).role(), "master");
}

TEST_F(ArchitecturesTest, LinkDelaysAreAddedToForwardedRequests) {
  StartFederation(2, "network_emulation: {master: 400ms}\n");
  v1::InvocationResult r;
  ASSERT_TRUE(AtMaster("master", Request("echo", v1::ARCHITECTURE_CENTRALIZED), &r).ok());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(AtMaster("master", Request("echo", v1::ARCHITECTURE_DECENTRALIZED), &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_EQ(r.route_size(), 2);  // master -> a worker
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(400));
}

// The master's own dispatch crosses the emulated link too: an assignment
// waits half the delay on its way to the worker, the result half on its way
// back, so centralized is not flattered against the architectures that forward.
TEST_F(ArchitecturesTest, TheMastersDispatchLinkIsEmulatedToo) {
  StartFederation(2, "network_emulation: {master: 400ms}\n");
  v1::InvocationResult r;
  ASSERT_TRUE(AtMaster("master", Request("echo", v1::ARCHITECTURE_CENTRALIZED), &r).ok());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(AtMaster("master", Request("echo", v1::ARCHITECTURE_CENTRALIZED), &r).ok());
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.message();
  EXPECT_THAT(Route(r), ElementsAre("test-master")) << "dispatched, not forwarded";
  EXPECT_GE(took, absl::Milliseconds(400));
  EXPECT_LT(took, absl::Milliseconds(1200)) << "once each way, not per message in flight";
  // The workers stay in the cluster with their heartbeats late by the same delay.
  absl::SleepFor(absl::Seconds(1));
  for (const v1::WorkerInfo& w : ListWorkers()) {
    EXPECT_EQ(w.state(), v1::WORKER_STATE_READY) << w.id();
  }
}

}  // namespace
}  // namespace fsched
