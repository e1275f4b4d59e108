// The bearer token of a process: from --token-file if given, else from PHAZE_TOKEN, else empty.
// Shared by the three binaries.
#ifndef PHAZE_COORDINATOR_TOKEN_H_
#define PHAZE_COORDINATOR_TOKEN_H_

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace phaze {

inline absl::StatusOr<std::string> LoadBearerToken(const std::string& token_file) {
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return absl::NotFoundError(absl::StrCat("--token-file: cannot open ", token_file));
    std::stringstream text;
    text << in.rdbuf();
    const std::string token(absl::StripAsciiWhitespace(text.str()));
    if (token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--token-file: ", token_file, " is empty"));
    }
    return token;
  }
  const char* env = std::getenv("PHAZE_TOKEN");
  return std::string(env == nullptr ? "" : env);
}

}  // namespace phaze

#endif  // PHAZE_COORDINATOR_TOKEN_H_
