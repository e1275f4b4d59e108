// The coordinator's read-only web pages (civetweb): GET / lists the jobs, GET /jobs/ID is the job
// page of common/report/report.h (progress, best design, Pareto-front plot), the same bytes `phaze
// report ID` writes. When the coordinator has a token, a request must carry it either as
// "Authorization: Bearer TOKEN" or as HTTP basic authentication with the token as the password
// (any user name), so that a browser can prompt for it.
#ifndef PHAZE_COORDINATOR_WEB_H_
#define PHAZE_COORDINATOR_WEB_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/job_manager.h"

class CivetServer;

namespace phaze {

class WebServer {
 public:
  // `listen` is HOST:PORT (port 0: any free port).
  static absl::StatusOr<std::unique_ptr<WebServer>> Start(const std::string& listen,
                                                          JobManager* manager, std::string token);
  ~WebServer();
  int port() const { return port_; }

  class Handler;

 private:
  WebServer() = default;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;
  int port_ = 0;
};

}  // namespace phaze

#endif  // PHAZE_COORDINATOR_WEB_H_
