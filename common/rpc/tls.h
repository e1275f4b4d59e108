// Transport security for the three binaries: server and channel credentials from PEM files named
// by flags. With no files given, both sides are plaintext (loopback, or a mesh that encrypts).
//
//   coordinator: --tls-cert --tls-key [--tls-client-ca]  (client CA: client certificates required)
//   worker, phaze client verbs: --tls-ca [--tls-cert --tls-key]  (cert/key: present a client cert)
#ifndef PHAZE_COMMON_RPC_TLS_H_
#define PHAZE_COMMON_RPC_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class ServerCredentials;
class ChannelCredentials;
}  // namespace grpc
namespace CLI {
class App;
}

namespace phaze {

struct TlsServerFiles {
  std::string cert;       // PEM certificate chain of the server; empty: plaintext
  std::string key;        // PEM private key of `cert`
  std::string client_ca;  // PEM roots that client certificates must chain to; empty: none asked
};

struct TlsClientFiles {
  std::string ca;    // PEM roots the server's certificate must chain to; empty: plaintext
  std::string cert;  // optional client certificate chain (mutual TLS)
  std::string key;   // its private key
};

// Registers the flags above on `app` (a binary or a subcommand).
void AddTlsServerFlags(CLI::App* app, TlsServerFiles* files);
void AddTlsClientFlags(CLI::App* app, TlsClientFiles* files);

// Reads the files; errors name the flag and the file. Inconsistent combinations (a key without a
// certificate, a client CA on a plaintext server, ...) are kInvalidArgument.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsServerFiles& files);
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(
    const TlsClientFiles& files);

}  // namespace phaze

#endif  // PHAZE_COMMON_RPC_TLS_H_
