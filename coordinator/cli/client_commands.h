// The `phaze` verbs that talk to a coordinator (submit, status, watch, results, cancel, jobs),
// and the embedded `phaze run`: a coordinator and workers started in this process, driven through
// the same gRPC API as a remote cluster.
#ifndef PHAZE_COORDINATOR_CLI_CLIENT_COMMANDS_H_
#define PHAZE_COORDINATOR_CLI_CLIENT_COMMANDS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/rpc/tls.h"
#include "coordinator/cli/cli_commands.h"

namespace phaze::cli {

struct ClientOptions {
  std::string address;  // HOST:PORT of the coordinator
  std::string token;    // bearer token; empty sends none
  TlsClientFiles tls;   // trust roots (and client certificate): TLS; empty: plaintext
};

// The token from `token_file` if given, else from the PHAZE_TOKEN environment variable, else
// empty. kNotFound if the file cannot be read.
absl::StatusOr<std::string> LoadToken(const std::string& token_file);

absl::Status Submit(const ClientOptions& client, const std::string& job_path, bool watch,
                    std::ostream& out);
absl::Status Status(const ClientOptions& client, const std::string& job_id, std::ostream& out);
absl::Status Watch(const ClientOptions& client, const std::string& job_id, std::ostream& out);
absl::Status Cancel(const ClientOptions& client, const std::string& job_id, std::ostream& out);
absl::Status Jobs(const ClientOptions& client, std::ostream& out);
// format: "json" (best and front) or "csv" (every result row).
absl::Status Results(const ClientOptions& client, const std::string& job_id,
                     const std::string& format, std::ostream& out);

// Writes the job's HTML page (the one the coordinator serves at /jobs/ID) to `out_path`.
absl::Status WriteReport(const ClientOptions& client, const std::string& job_id,
                         const std::string& out_path, std::ostream& out);

// `phaze run` through an embedded coordinator (database in the output folder) and local workers.
absl::Status RunEmbedded(const RunArgs& args, std::ostream& out);

}  // namespace phaze::cli

#endif  // PHAZE_COORDINATOR_CLI_CLIENT_COMMANDS_H_
