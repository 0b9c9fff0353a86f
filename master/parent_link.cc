#include "master/parent_link.h"

#include <set>

#include "common/log.h"
#include "common/rpc.h"
#include "common/thread_name.h"

namespace fsched::master {

ParentLink::ParentLink(Options options, Controller* controller)
    : options_(std::move(options)), controller_(controller) {
  auto channel = MakeChannel(options_.parent);
  cluster_ = v1::Cluster::NewStub(channel);
  functions_ = v1::Controller::NewStub(channel);
  tokens_ = v1::Tokens::NewStub(channel);
}

void ParentLink::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void ParentLink::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

v1::ZoneDirectory ParentLink::directory() {
  absl::MutexLock lock(&mu_);
  return directory_;
}

uint64_t ParentLink::version() {
  absl::MutexLock lock(&mu_);
  return version_;
}

void ParentLink::Loop() {
  NameThisThread("parent-link");
  absl::Time next_mirror = absl::InfinitePast();
  while (true) {
    Announce();
    MirrorTokens();
    if (absl::Now() >= next_mirror) {
      Mirror();
      next_mirror = absl::Now() + options_.mirror_interval;
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.interval)) return;
  }
}

void ParentLink::Announce() {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.interval));
  v1::ZoneDirectory answer;
  const grpc::Status status = cluster_->AnnounceZone(&ctx, options_.self, &answer);
  if (!status.ok()) {
    if (parent_reachable_) {
      FSCHED_LOG(kWarning, "master %s does not answer the zone announcement: %s", options_.parent,
                 status.error_message());
    }
    parent_reachable_ = false;
    return;
  }
  if (!parent_reachable_) FSCHED_LOG(kInfo, "master %s answers again", options_.parent);
  parent_reachable_ = true;
  absl::MutexLock lock(&mu_);
  if (answer.SerializeAsString() != directory_.SerializeAsString()) {
    directory_ = std::move(answer);
    ++version_;
  }
}

void ParentLink::MirrorTokens() {
  if (options_.tokens == nullptr) return;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.interval));
  v1::TokenDirectory answer;
  // An unreachable parent keeps the last directory: callers known then still are.
  if (tokens_->ExportTokens(&ctx, v1::ExportTokensRequest(), &answer).ok()) {
    options_.tokens->Replace(answer);
  }
}

void ParentLink::Mirror() {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::ListFunctionsResponse parent;
  if (!functions_->ListFunctions(&ctx, v1::ListFunctionsRequest(), &parent).ok()) return;
  std::set<std::string> names;
  for (const v1::Function& f : parent.functions()) {
    names.insert(f.spec().name());
    absl::StatusOr<v1::Function> mine = controller_->GetFunction(f.spec().name());
    if (mine.ok() && mine->spec().SerializeAsString() == f.spec().SerializeAsString()) continue;
    v1::RegisterFunctionRequest request;
    *request.mutable_spec() = f.spec();
    request.set_replace(true);
    if (absl::StatusOr<v1::Function> r = controller_->RegisterFunction(request); !r.ok()) {
      FSCHED_LOG(kWarning, "cannot mirror function %s from the master: %s", f.spec().name(),
                 r.status().message());
    }
  }
  for (const v1::Function& mine : controller_->ListFunctions()) {
    if (!names.count(mine.spec().name())) {
      (void)controller_->DeleteFunction(mine.spec().name());  // NOT_FOUND if raced: fine
    }
  }
}

}  // namespace fsched::master
