// gRPC adapter for fsched.v1.Tokens: the master's token registry for admins,
// WhoAmI for any caller, and the live tokens' hashes for zone masters. A zone
// master has no registry: it answers from the directory its parent sends.
#pragma once

#include <string>

#include "common/auth.h"
#include "common/token_directory.h"
#include "fsched/v1/auth.grpc.pb.h"
#include "master/token_registry.h"

namespace fsched::master {

class TokensService final : public v1::Tokens::CallbackService {
 public:
  struct Options {
    const Gate* gate = nullptr;
    TokenRegistry* registry = nullptr;  // null on a zone master
    const TokenDirectory* directory = nullptr;
    std::string parent;  // a zone master's master, named in its refusals
  };
  explicit TokensService(Options options) : options_(std::move(options)) {}

  grpc::ServerUnaryReactor* CreateToken(grpc::CallbackServerContext* ctx,
                                        const v1::CreateTokenRequest* request,
                                        v1::CreatedToken* response) override;
  grpc::ServerUnaryReactor* ListTokens(grpc::CallbackServerContext* ctx,
                                       const v1::ListTokensRequest* request,
                                       v1::ListTokensResponse* response) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* ctx,
                                        const v1::RevokeTokenRequest* request,
                                        v1::TokenInfo* response) override;
  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* ctx,
                                   const v1::WhoAmIRequest* request,
                                   v1::Identity* response) override;
  grpc::ServerUnaryReactor* ExportTokens(grpc::CallbackServerContext* ctx,
                                         const v1::ExportTokensRequest* request,
                                         v1::TokenDirectory* response) override;

 private:
  absl::Status AtTheMaster() const;
  const Options options_;
};

}  // namespace fsched::master
