#include "master/tokens_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace fsched::master {

absl::Status TokensService::AtTheMaster() const {
  return absl::FailedPreconditionError(
      absl::StrCat("this is a zone master: tokens are created, listed and revoked at the master ",
                   options_.parent));
}

grpc::ServerUnaryReactor* TokensService::CreateToken(grpc::CallbackServerContext* ctx,
                                                     const v1::CreateTokenRequest* request,
                                                     v1::CreatedToken* response) {
  if (auto* refused = Refuse(*options_.gate, ctx, "fsched.v1.Tokens.CreateToken")) return refused;
  if (options_.registry == nullptr) return FinishUnary(ctx, AtTheMaster());
  return FinishWith(
      ctx, options_.registry->Create(request->name(), request->role(), request->rate()), response);
}

grpc::ServerUnaryReactor* TokensService::ListTokens(grpc::CallbackServerContext* ctx,
                                                    const v1::ListTokensRequest*,
                                                    v1::ListTokensResponse* response) {
  if (auto* refused = Refuse(*options_.gate, ctx, "fsched.v1.Tokens.ListTokens")) return refused;
  if (options_.registry == nullptr) return FinishUnary(ctx, AtTheMaster());
  for (v1::TokenInfo& t : options_.registry->List()) *response->add_tokens() = std::move(t);
  return FinishUnary(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* TokensService::RevokeToken(grpc::CallbackServerContext* ctx,
                                                     const v1::RevokeTokenRequest* request,
                                                     v1::TokenInfo* response) {
  if (auto* refused = Refuse(*options_.gate, ctx, "fsched.v1.Tokens.RevokeToken")) return refused;
  if (options_.registry == nullptr) return FinishUnary(ctx, AtTheMaster());
  return FinishWith(ctx, options_.registry->Revoke(request->name()), response);
}

grpc::ServerUnaryReactor* TokensService::WhoAmI(grpc::CallbackServerContext* ctx,
                                                const v1::WhoAmIRequest*, v1::Identity* response) {
  return FinishWith(ctx, options_.gate->Admit(*ctx, "fsched.v1.Tokens.WhoAmI"), response);
}

grpc::ServerUnaryReactor* TokensService::ExportTokens(grpc::CallbackServerContext* ctx,
                                                      const v1::ExportTokensRequest*,
                                                      v1::TokenDirectory* response) {
  if (auto* refused = Refuse(*options_.gate, ctx, "fsched.v1.Tokens.ExportTokens")) return refused;
  *response = options_.directory->Snapshot();
  return FinishUnary(ctx, absl::OkStatus());
}

}  // namespace fsched::master
