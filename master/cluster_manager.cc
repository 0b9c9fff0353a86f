#include "master/cluster_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/proto_time.h"

namespace fsched::master {
namespace {

// A joining worker learns this many same-zone peers at most (see link.proto).
constexpr int kMaxWelcomePeers = 64;

// Compares in time independent of where the first difference is.
bool TokensEqual(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::string& longer = a.size() >= b.size() ? a : b;
  for (size_t i = 0; i < longer.size(); ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

absl::Status UnknownWorker(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("worker '", id.substr(0, 80), "' is not known"));
}

}  // namespace

void ClusterManager::Record::ExpireResponses(absl::Time now, absl::Duration window) {
  while (!responses.empty() && responses.front().first < now - window) {
    response_sum -= responses.front().second;
    responses.pop_front();
  }
  if (responses.empty()) response_sum = 0;  // no drift from float round-off
}

ClusterManager::ClusterManager(Options options, Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

absl::StatusOr<ClusterManager::Session> ClusterManager::Register(
    const v1::Register& registration, std::shared_ptr<WorkerStream> stream, v1::Welcome* welcome,
    std::vector<InFlight>* lost, std::vector<InFlight>* unclaimed) {
  if (!options_.join_token.empty() &&
      !TokensEqual(registration.join_token(), options_.join_token)) {
    return absl::UnauthenticatedError(
        absl::StrCat("join token rejected for worker '", registration.worker_id().substr(0, 80),
                     "': it does not match the master's cluster.join_token"));
  }
  if (registration.worker_id().empty() || registration.worker_id().size() > 253) {
    return absl::InvalidArgumentError("register.worker_id must be 1-253 characters");
  }
  if (registration.capacity().slots() == 0) {
    return absl::InvalidArgumentError("register.capacity.slots must be at least 1");
  }
  std::vector<AwaitCallback> ready_callbacks;
  std::shared_ptr<WorkerStream> replaced;
  Session session;
  v1::WorkerInfo info_for_awaiters;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    Record& record = workers_[registration.worker_id()];
    replaced = std::move(record.stream);
    const bool was_draining = record.info.state() == v1::WORKER_STATE_DRAINING;
    const bool was_dead = record.info.state() == v1::WORKER_STATE_DEAD ||
                          record.info.state() == v1::WORKER_STATE_UNSPECIFIED;
    if (was_dead) {
      record.in_flight.clear();  // already re-queued when it was declared dead
      record.paused = 0;
      record.info.set_cache_ways_reserved(0);
      ToProto(now, record.info.mutable_joined());
    }
    // What the master thought this worker ran and it does not hold: the
    // assignment or its result was lost with a link, or with a master that
    // restarted since. Re-queued by the caller.
    absl::flat_hash_map<std::string, uint32_t> held;
    for (const v1::HeldInvocation& h : registration.held()) held[h.invocation_id()] = h.attempt();
    for (auto it = record.in_flight.begin(); it != record.in_flight.end();) {
      const auto h = held.find(it->first);
      if (h != held.end() && h->second == it->second.attempt) {
        welcome->add_awaiting(it->first);
        if (std::exchange(it->second.recovered, false)) ++recovered_flights_.confirmed;
        ++it;
        continue;
      }
      if (it->second.recovered) ++recovered_flights_.not_held;
      if (lost != nullptr) lost->push_back({it->first, it->second.attempt});
      DropFlightLocked(registration.worker_id(), record, it->first, it->second);
      record.in_flight.erase(it++);
    }
    record.orphans.clear();
    for (const std::string& id : registration.running()) {
      if (!record.in_flight.contains(id)) record.orphans.insert(id);
    }
    if (unclaimed != nullptr) {
      for (const v1::HeldInvocation& h : registration.held()) {
        if (!record.in_flight.contains(h.invocation_id())) {
          unclaimed->push_back({h.invocation_id(), h.attempt()});
        }
      }
    }
    record.returning = false;
    v1::WorkerInfo& info = record.info;
    info.set_id(registration.worker_id());
    info.set_address(registration.address());
    info.set_zone(registration.zone());
    *info.mutable_labels() = registration.labels();
    *info.mutable_capacity() = registration.capacity();
    info.set_state(was_draining ? v1::WORKER_STATE_DRAINING : v1::WORKER_STATE_READY);
    record.stream = std::move(stream);
    record.session = next_session_++;
    Reindex(registration.worker_id(), record);
    record.last_heartbeat = now;
    ToProto(now, info.mutable_last_heartbeat());
    session = {registration.worker_id(), record.session};

    welcome->set_worker_id(registration.worker_id());
    ToProto(options_.heartbeat_interval, welcome->mutable_heartbeat_interval());
    for (const auto& [id, other] : workers_) {
      if (welcome->peers_size() >= kMaxWelcomePeers) break;
      if (id == registration.worker_id() || other.stream == nullptr ||
          other.info.zone() != registration.zone()) {
        continue;
      }
      v1::Peer* peer = welcome->add_peers();
      peer->set_worker_id(id);
      peer->set_address(other.info.address());
      peer->set_zone(other.info.zone());
    }
    info_for_awaiters = Snapshot(record);
    auto it = std::partition(awaiters_.begin(), awaiters_.end(), [&](const Awaiter& a) {
      return a.worker_id != registration.worker_id();
    });
    for (auto a = it; a != awaiters_.end(); ++a) ready_callbacks.push_back(std::move(a->done));
    awaiters_.erase(it, awaiters_.end());
  }
  if (replaced)
    replaced->Close(absl::AbortedError("replaced by a newer connection of this worker"));
  for (auto& done : ready_callbacks) done(info_for_awaiters);
  FSCHED_LOG(kInfo, "worker %s joined (session %d, %d slots, address %s)", session.worker_id,
             session.id, registration.capacity().slots(), registration.address());
  return session;
}

absl::Status ClusterManager::Heartbeat(const Session& session, const v1::Heartbeat& heartbeat) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(session.worker_id);
  if (it == workers_.end() || it->second.session != session.id) {
    return absl::NotFoundError("heartbeat from a stale session");
  }
  Record& record = it->second;
  record.last_heartbeat = clock_->Now();
  ToProto(record.last_heartbeat, record.info.mutable_last_heartbeat());
  *record.info.mutable_load() = heartbeat.load();
  return absl::OkStatus();
}

void ClusterManager::Disconnected(const Session& session) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(session.worker_id);
  if (it == workers_.end() || it->second.session != session.id) return;
  Record& record = it->second;
  record.stream.reset();
  if (record.info.state() == v1::WORKER_STATE_READY ||
      record.info.state() == v1::WORKER_STATE_DRAINING) {
    record.info.set_state(v1::WORKER_STATE_DISCONNECTED);
  }
  Reindex(session.worker_id, record);
  FSCHED_LOG(kWarning, "worker %s disconnected with %d invocations in flight", session.worker_id,
             record.in_flight.size());
}

scheduling::WorkerView ClusterManager::View(const Record& record) {
  scheduling::WorkerView view;
  const v1::WorkerInfo& info = record.info;
  view.id = info.id();
  view.zone = info.zone();
  view.slots = info.capacity().slots();
  const uint32_t used = record.used();
  view.free_slots = view.slots > used ? view.slots - used : 0;
  view.cpu_percent = info.load().cpu_percent();
  view.memory_percent = info.load().memory_percent();
  view.load1 = info.load().load1();
  for (int kind : info.capacity().runtimes()) {
    view.runtimes.push_back(static_cast<v1::RuntimeKind>(kind));
  }
  view.warm.assign(info.load().warm().begin(), info.load().warm().end());
  view.response_samples = record.responses.size();
  if (!record.responses.empty()) {
    view.mean_response_seconds = record.response_sum / static_cast<double>(record.responses.size());
  }
  const uint32_t ways = info.capacity().cache_ways();
  view.cache_ways_free = ways > info.cache_ways_reserved() ? ways - info.cache_ways_reserved() : 0;
  return view;
}

bool ClusterManager::Ready(const Record& record) {
  return record.info.state() == v1::WORKER_STATE_READY && record.stream != nullptr;
}

void ClusterManager::Reindex(const std::string& id, const Record& record) {
  if (Ready(record) && record.used() < record.info.capacity().slots()) {
    with_room_.insert(id);
  } else {
    with_room_.erase(id);
  }
}

std::vector<scheduling::WorkerView> ClusterManager::ReadyWorkers() const {
  absl::MutexLock lock(&mu_);
  std::vector<scheduling::WorkerView> out;
  out.reserve(workers_.size());
  for (const auto& [id, record] : workers_) {
    if (Ready(record)) out.push_back(View(record));
  }
  return out;
}

std::vector<scheduling::WorkerView> ClusterManager::WorkersWithRoom() const {
  absl::MutexLock lock(&mu_);
  std::vector<scheduling::WorkerView> out;
  out.reserve(with_room_.size());
  for (const std::string& id : with_room_) out.push_back(View(workers_.at(id)));
  return out;
}

bool ClusterManager::AnyReadySupports(v1::RuntimeKind runtime) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, record] : workers_) {
    if (Ready(record) && scheduling::SupportsRuntime(View(record), runtime)) return true;
  }
  return false;
}

absl::Status ClusterManager::Assign(const std::string& worker_id, v1::Assignment assignment) {
  std::shared_ptr<WorkerStream> stream;
  {
    absl::MutexLock lock(&mu_);
    auto it = workers_.find(worker_id);
    if (it == workers_.end()) return UnknownWorker(worker_id);
    Record& record = it->second;
    if (record.info.state() != v1::WORKER_STATE_READY || !record.stream) {
      return absl::FailedPreconditionError(absl::StrCat("worker '", worker_id, "' is not ready"));
    }
    Record::Flight* victim = nullptr;
    if (!assignment.preempts().empty()) {
      auto v = record.in_flight.find(assignment.preempts());
      if (!record.info.capacity().freeze_supported() || v == record.in_flight.end() ||
          v->second.paused || !v->second.preempts.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "invocation ", assignment.preempts(), " cannot be frozen on worker '", worker_id, "'"));
      }
      victim = &v->second;
    }
    if (record.used() - (victim != nullptr ? 1 : 0) >= record.info.capacity().slots()) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker '", worker_id, "' has no free slot"));
    }
    const absl::Time now = clock_->Now();
    if (victim != nullptr) {
      victim->paused = true;
      ++record.paused;
      preemptible_.erase({victim->predicted_end, worker_id, assignment.preempts()});
    }
    Record::Flight& flight = record.in_flight[assignment.invocation_id()];
    flight = {assignment.attempt(),
              now,
              now + absl::Seconds(std::max(assignment.predicted_seconds(), 0.0)),
              assignment.preempts(),
              false,
              assignment.cache_ways()};
    record.info.set_cache_ways_reserved(record.info.cache_ways_reserved() +
                                        assignment.cache_ways());
    // Frozen once at most, and a preemptor is never frozen: no cascades.
    if (record.info.capacity().freeze_supported() && victim == nullptr &&
        assignment.predicted_seconds() > 0) {
      preemptible_.insert({flight.predicted_end, worker_id, assignment.invocation_id()});
    }
    Reindex(worker_id, record);
    stream = record.stream;
  }
  v1::MasterMessage message;
  *message.mutable_assignment() = std::move(assignment);  // the spec inside is large: no copy
  stream->Send(message);
  return absl::OkStatus();
}

void ClusterManager::Recovered(const std::string& worker_id, const InFlight& flight,
                               absl::Time dispatched) {
  absl::MutexLock lock(&mu_);
  Record& record = workers_[worker_id];
  if (record.info.id().empty()) {
    record.info.set_id(worker_id);
    record.info.set_state(v1::WORKER_STATE_DISCONNECTED);
    record.last_heartbeat = clock_->Now();
    record.grace_until = record.last_heartbeat + options_.reconnect_grace;
    record.returning = true;
    ToProto(record.last_heartbeat, record.info.mutable_last_heartbeat());
  }
  Record::Flight& f = record.in_flight[flight.invocation_id];
  f.attempt = flight.attempt;
  f.dispatched = dispatched;
  f.predicted_end = dispatched;
  f.recovered = true;
}

size_t ClusterManager::returning_workers() const {
  absl::MutexLock lock(&mu_);
  return static_cast<size_t>(std::count_if(workers_.begin(), workers_.end(),
                                           [](const auto& w) { return w.second.returning; }));
}

void ClusterManager::Adopt(const std::string& worker_id, const InFlight& flight) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  Record& record = it->second;
  const absl::Time now = clock_->Now();
  Record::Flight& f = record.in_flight[flight.invocation_id];
  f.attempt = flight.attempt;
  f.dispatched = now;
  f.predicted_end = now;
  record.orphans.erase(flight.invocation_id);
  Reindex(worker_id, record);
  ++recovered_flights_.adopted;
}

ClusterManager::RecoveredFlights ClusterManager::recovered_flights() const {
  absl::MutexLock lock(&mu_);
  return recovered_flights_;
}

void ClusterManager::DropFlightLocked(const std::string& worker_id, Record& record,
                                      const std::string& id, const Record::Flight& flight) {
  preemptible_.erase({flight.predicted_end, worker_id, id});
  if (flight.paused) --record.paused;
  if (!flight.preempts.empty()) {
    auto victim = record.in_flight.find(flight.preempts);
    if (victim != record.in_flight.end() && victim->second.paused) {
      victim->second.paused = false;
      --record.paused;
    }
  }
  const uint32_t reserved = record.info.cache_ways_reserved();
  record.info.set_cache_ways_reserved(reserved - std::min(reserved, flight.cache_ways));
}

bool ClusterManager::Release(const std::string& worker_id, const std::string& invocation_id,
                             uint32_t attempt) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return false;
  Record& record = it->second;
  if (record.orphans.erase(invocation_id) > 0) {
    Reindex(worker_id, record);
    return false;
  }
  auto flight = record.in_flight.find(invocation_id);
  if (flight == record.in_flight.end() || flight->second.attempt != attempt) return false;
  const absl::Time now = clock_->Now();
  const double response = absl::ToDoubleSeconds(now - flight->second.dispatched);
  // An invocation that ended while frozen (cancelled) held no slot; the one
  // this one froze is resumed by the worker and holds its slot again.
  DropFlightLocked(worker_id, record, invocation_id, flight->second);
  record.in_flight.erase(flight);
  Reindex(worker_id, record);
  record.responses.emplace_back(now, response);
  record.response_sum += response;
  record.ExpireResponses(now, options_.response_window);
  record.info.set_completed(record.info.completed() + 1);
  return true;
}

std::optional<PreemptionCandidate> ClusterManager::LongestPreemptible(absl::Time now) {
  absl::MutexLock lock(&mu_);
  while (!preemptible_.empty()) {
    auto last = std::prev(preemptible_.end());
    auto worker = workers_.find(last->worker_id);
    const Record::Flight* flight = nullptr;
    if (worker != workers_.end() && Ready(worker->second)) {
      auto f = worker->second.in_flight.find(last->invocation_id);
      if (f != worker->second.in_flight.end() && !f->second.paused &&
          f->second.predicted_end == last->predicted_end) {
        flight = &f->second;
      }
    }
    if (flight == nullptr) {  // stale: the worker died, left or is draining
      preemptible_.erase(last);
      continue;
    }
    return PreemptionCandidate{View(worker->second), last->invocation_id,
                               last->predicted_end - now};
  }
  return std::nullopt;
}

void ClusterManager::SendCancel(const std::string& worker_id, const std::string& invocation_id) {
  v1::MasterMessage message;
  message.mutable_cancel()->set_invocation_id(invocation_id);
  SendTo(worker_id, message);
}

void ClusterManager::SendTo(const std::string& worker_id, const v1::MasterMessage& message) {
  std::shared_ptr<WorkerStream> stream;
  {
    absl::MutexLock lock(&mu_);
    auto it = workers_.find(worker_id);
    if (it == workers_.end() || !it->second.stream) return;
    stream = it->second.stream;
  }
  stream->Send(message);
}

std::vector<v1::Peer> ClusterManager::ReadyPeers() const {
  std::vector<v1::Peer> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, record] : workers_) {
    if (!Ready(record) || record.info.address().empty()) continue;
    v1::Peer& peer = out.emplace_back();
    peer.set_worker_id(id);
    peer.set_address(record.info.address());
    peer.set_zone(record.info.zone());
    peer.set_role("worker");
  }
  return out;
}

namespace {

// What one worker is told: its zone's other ready workers (bounded) and the masters.
v1::MasterMessage MembershipFor(const v1::Peer& self, const std::vector<v1::Peer>& peers,
                                const std::vector<v1::Peer>& masters) {
  v1::MasterMessage message;
  v1::Membership* m = message.mutable_membership();
  for (const v1::Peer& p : peers) {
    if (m->peers_size() >= kMaxWelcomePeers) break;
    if (p.worker_id() != self.worker_id() && p.zone() == self.zone()) *m->add_peers() = p;
  }
  for (const v1::Peer& p : masters) *m->add_masters() = p;
  return message;
}

}  // namespace

bool ClusterManager::PushMembership(const std::vector<v1::Peer>& masters, bool force) {
  std::vector<v1::Peer> peers = ReadyPeers();
  std::sort(peers.begin(), peers.end(),
            [](const v1::Peer& a, const v1::Peer& b) { return a.worker_id() < b.worker_id(); });
  std::string described;
  for (const v1::Peer& p : peers) described += p.SerializeAsString() + "|";
  described += "#";
  for (const v1::Peer& p : masters) described += p.SerializeAsString() + "|";
  std::vector<std::pair<std::shared_ptr<WorkerStream>, v1::MasterMessage>> sends;
  {
    absl::MutexLock lock(&mu_);
    if (!force && described == pushed_membership_) return false;
    pushed_membership_ = std::move(described);
    for (const v1::Peer& self : peers) {
      auto it = workers_.find(self.worker_id());
      if (it == workers_.end() || !it->second.stream) continue;
      sends.emplace_back(it->second.stream, MembershipFor(self, peers, masters));
    }
  }
  for (auto& [stream, message] : sends) stream->Send(message);
  return true;
}

void ClusterManager::SendMembership(const std::string& worker_id,
                                    const std::vector<v1::Peer>& masters) {
  const std::vector<v1::Peer> peers = ReadyPeers();
  for (const v1::Peer& self : peers) {
    if (self.worker_id() == worker_id) SendTo(worker_id, MembershipFor(self, peers, masters));
  }
}

void ClusterManager::Broadcast(const v1::MasterMessage& message, v1::RuntimeKind runtime) {
  std::vector<std::shared_ptr<WorkerStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, record] : workers_) {
      if (Ready(record) && scheduling::SupportsRuntime(View(record), runtime))
        streams.push_back(record.stream);
    }
  }
  for (const auto& stream : streams) stream->Send(message);
}

std::vector<InFlight> ClusterManager::Tick() {
  std::vector<InFlight> lost;
  std::vector<std::shared_ptr<WorkerStream>> to_close;
  std::vector<Awaiter> expired;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (auto& [id, record] : workers_) {
      record.ExpireResponses(now, options_.response_window);
      if (record.info.state() == v1::WORKER_STATE_DEAD) continue;
      if (now - record.last_heartbeat <= options_.heartbeat_timeout) continue;
      if (now < record.grace_until) continue;
      FSCHED_LOG(kWarning, "worker %s missed heartbeats for %s: dead, re-queueing %d invocations",
                 id, absl::FormatDuration(now - record.last_heartbeat), record.in_flight.size());
      record.info.set_state(v1::WORKER_STATE_DEAD);
      record.returning = false;
      for (const auto& [inv, flight] : record.in_flight) {
        lost.push_back({inv, flight.attempt});
        if (flight.recovered) ++recovered_flights_.worker_gone;
      }
      record.in_flight.clear();
      record.info.set_cache_ways_reserved(0);
      record.paused = 0;
      record.orphans.clear();
      if (record.stream) to_close.push_back(std::move(record.stream));
      record.stream.reset();
      Reindex(id, record);
    }
    auto it = std::partition(awaiters_.begin(), awaiters_.end(),
                             [&](const Awaiter& a) { return a.deadline > now; });
    std::move(it, awaiters_.end(), std::back_inserter(expired));
    awaiters_.erase(it, awaiters_.end());
  }
  for (auto& stream : to_close) stream->Close(absl::UnavailableError("missed heartbeats"));
  for (Awaiter& a : expired) {
    a.done(absl::DeadlineExceededError(
        absl::StrCat("worker '", a.worker_id,
                     "' accepted the join request but did not connect in time; "
                     "check that it can reach the master's advertise address")));
  }
  return lost;
}

absl::StatusOr<v1::WorkerInfo> ClusterManager::Drain(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return UnknownWorker(worker_id);
  Record& record = it->second;
  if (record.info.state() == v1::WORKER_STATE_DEAD) {
    return absl::FailedPreconditionError(absl::StrCat("worker '", worker_id, "' is dead"));
  }
  if (record.info.state() == v1::WORKER_STATE_READY) {
    record.info.set_state(v1::WORKER_STATE_DRAINING);
    Reindex(worker_id, record);
  }
  return Snapshot(record);
}

absl::StatusOr<std::vector<InFlight>> ClusterManager::Remove(const std::string& worker_id,
                                                             bool force) {
  std::shared_ptr<WorkerStream> stream;
  std::vector<InFlight> requeue;
  {
    absl::MutexLock lock(&mu_);
    auto it = workers_.find(worker_id);
    if (it == workers_.end()) return UnknownWorker(worker_id);
    Record& record = it->second;
    if (!record.in_flight.empty() && !force) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker '", worker_id, "' still runs ", record.in_flight.size(),
                       " invocations: drain it and wait, or remove with force to re-queue them"));
    }
    for (const auto& [inv, flight] : record.in_flight) {
      requeue.push_back({inv, flight.attempt});
      if (flight.recovered) ++recovered_flights_.worker_gone;
    }
    stream = std::move(record.stream);
    workers_.erase(it);
    with_room_.erase(worker_id);
  }
  if (stream) {
    stream->Close(absl::PermissionDeniedError(
        "removed from the cluster by an operator; add it again with AddWorker"));
  }
  return requeue;
}

v1::WorkerInfo ClusterManager::Snapshot(const Record& record) const {
  v1::WorkerInfo info = record.info;
  info.set_slots_used(record.used());
  return info;
}

ClusterManager::CacheTotals ClusterManager::GetCacheTotals() const {
  absl::MutexLock lock(&mu_);
  CacheTotals totals;
  for (const auto& [id, record] : workers_) {
    if (!Ready(record)) continue;
    const uint32_t ways = record.info.capacity().cache_ways();
    const uint32_t reserved = record.info.cache_ways_reserved();
    totals.free_ways += ways > reserved ? ways - reserved : 0;
    totals.max_ways = std::max(totals.max_ways, ways);
  }
  return totals;
}

std::vector<v1::WorkerInfo> ClusterManager::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::WorkerInfo> out;
  for (const auto& [id, record] : workers_) out.push_back(Snapshot(record));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id() < b.id(); });
  return out;
}

absl::StatusOr<v1::WorkerInfo> ClusterManager::Get(const std::string& worker_id) const {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return UnknownWorker(worker_id);
  return Snapshot(it->second);
}

void ClusterManager::AwaitWorker(const std::string& worker_id, absl::Time deadline,
                                 AwaitCallback done) {
  v1::WorkerInfo ready;
  {
    absl::MutexLock lock(&mu_);
    auto it = workers_.find(worker_id);
    if (it == workers_.end() || it->second.info.state() != v1::WORKER_STATE_READY ||
        !it->second.stream) {
      awaiters_.push_back({worker_id, deadline, std::move(done)});
      return;
    }
    ready = Snapshot(it->second);
  }
  done(ready);
}

ClusterManager::Totals ClusterManager::GetTotals() const {
  absl::MutexLock lock(&mu_);
  Totals totals;
  for (const auto& [id, record] : workers_) {
    if (record.info.state() != v1::WORKER_STATE_READY) continue;
    ++totals.ready;
    totals.slots += record.info.capacity().slots();
    totals.slots_used += record.used();
    totals.busy += std::max(record.used(), record.info.load().running());
  }
  return totals;
}

}  // namespace fsched::master
