#include "common/rpc/tls.h"

#include <fstream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace phaze {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, ": cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " holds no PEM block"));
  }
  return text.str();
}

}  // namespace

void AddTlsServerFlags(CLI::App* app, TlsServerFiles* files) {
  app->add_option("--tls-cert", files->cert, "PEM certificate chain: serve TLS (else plaintext)");
  app->add_option("--tls-key", files->key, "PEM private key of --tls-cert");
  app->add_option("--tls-client-ca", files->client_ca,
                  "PEM roots: require client certificates that chain to them (mutual TLS)");
}

void AddTlsClientFlags(CLI::App* app, TlsClientFiles* files) {
  app->add_option("--tls-ca", files->ca,
                  "PEM roots to verify the coordinator's certificate: connect with TLS");
  app->add_option("--tls-cert", files->cert, "PEM client certificate chain (mutual TLS)");
  app->add_option("--tls-key", files->key, "PEM private key of --tls-cert");
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsServerFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  if (files.cert.empty()) {
    if (!files.client_ca.empty()) {
      return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  PHAZE_ASSIGN_OR_RETURN(pair.cert_chain, ReadPem("--tls-cert", files.cert));
  PHAZE_ASSIGN_OR_RETURN(pair.private_key, ReadPem("--tls-key", files.key));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!files.client_ca.empty()) {
    PHAZE_ASSIGN_OR_RETURN(options.pem_root_certs, ReadPem("--tls-client-ca", files.client_ca));
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(
    const TlsClientFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  if (files.ca.empty()) {
    if (!files.cert.empty()) {
      return absl::InvalidArgumentError("--tls-cert needs --tls-ca (the coordinator's roots)");
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions options;
  PHAZE_ASSIGN_OR_RETURN(options.pem_root_certs, ReadPem("--tls-ca", files.ca));
  if (!files.cert.empty()) {
    PHAZE_ASSIGN_OR_RETURN(options.pem_cert_chain, ReadPem("--tls-cert", files.cert));
    PHAZE_ASSIGN_OR_RETURN(options.pem_private_key, ReadPem("--tls-key", files.key));
  }
  return grpc::SslCredentials(options);
}

}  // namespace phaze
