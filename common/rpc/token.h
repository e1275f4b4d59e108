// The bearer tokens of a process: from a file if given, else from an environment variable, else
// empty. Shared by the three binaries. Users hold the user token (PHAZE_TOKEN: submit, watch,
// cancel, results); workers hold the worker token (PHAZE_WORKER_TOKEN: lease shards and report
// results). The coordinator checks each service against its own token, so neither role can make
// the other's calls.
#ifndef PHAZE_COMMON_RPC_TOKEN_H_
#define PHAZE_COMMON_RPC_TOKEN_H_

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace phaze {

inline constexpr char kUserTokenEnv[] = "PHAZE_TOKEN";
inline constexpr char kWorkerTokenEnv[] = "PHAZE_WORKER_TOKEN";

// `flag` names the file's flag in messages ("--token-file").
inline absl::StatusOr<std::string> LoadBearerToken(const std::string& token_file,
                                                   const char* env_name = kUserTokenEnv,
                                                   const char* flag = "--token-file") {
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return absl::NotFoundError(absl::StrCat(flag, ": cannot open ", token_file));
    std::stringstream text;
    text << in.rdbuf();
    const std::string token(absl::StripAsciiWhitespace(text.str()));
    if (token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": ", token_file, " is empty"));
    }
    return token;
  }
  const char* env = std::getenv(env_name);
  return std::string(env == nullptr ? "" : env);
}

// Compares a presented credential with the expected one in time independent of where they differ.
inline bool CredentialMatches(const std::string& given, const std::string& expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size() && i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  }
  return diff == 0;
}

}  // namespace phaze

#endif  // PHAZE_COMMON_RPC_TOKEN_H_
