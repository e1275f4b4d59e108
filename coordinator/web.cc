#include "coordinator/web.h"

#include <cstring>
#include <string>
#include <vector>

#include "CivetServer.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/status_macros.h"
#include "common/report/plot.h"
#include "common/rpc/convert.h"
#include "common/rpc/token.h"

namespace phaze {

using report::EscapeXml;
namespace {

void Send(mg_connection* conn, int code, const std::string& type, const std::string& body,
          const std::string& extra_headers = "") {
  const char* reason = code == 200 ? "OK" : code == 401 ? "Unauthorized" : "Not Found";
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
            "script-src 'unsafe-inline'; img-src data:\r\n%sConnection: close\r\n\r\n",
            code, reason, type.c_str(), body.size(), extra_headers.c_str());
  mg_write(conn, body.data(), body.size());
}

}  // namespace

class WebServer::Handler : public CivetHandler {
 public:
  Handler(JobManager* manager, std::string token) : manager_(manager), token_(std::move(token)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    const mg_request_info* request = mg_get_request_info(conn);
    if (!Authorized(conn)) {
      Send(conn, 401, "text/plain; charset=utf-8", "a token is required\n",
           "WWW-Authenticate: Basic realm=\"phaze\", charset=\"UTF-8\"\r\n");
      return true;
    }
    const std::string uri = request->local_uri == nullptr ? "/" : request->local_uri;
    if (uri == "/") {
      // Paged like ListJobs: ?from=JOB-ID starts a page at that job.
      char from[128] = "";
      if (request->query_string != nullptr) {
        mg_get_var(request->query_string, std::strlen(request->query_string), "from", from,
                   sizeof(from));
      }
      absl::StatusOr<std::string> list = JobList(from);
      if (list.ok()) {
        Send(conn, 200, "text/html; charset=utf-8", *list);
      } else {
        Send(conn, 400, "text/plain; charset=utf-8", absl::StrCat(list.status().message(), "\n"));
      }
      return true;
    }
    constexpr absl::string_view kJobs = "/jobs/";
    if (absl::StartsWith(uri, kJobs)) {
      absl::StatusOr<std::string> page = manager_->JobPage(uri.substr(kJobs.size()));
      if (page.ok()) {
        Send(conn, 200, "text/html; charset=utf-8", *page);
      } else {
        Send(conn, 404, "text/plain; charset=utf-8", absl::StrCat(page.status().message(), "\n"));
      }
      return true;
    }
    Send(conn, 404, "text/plain; charset=utf-8", "not found\n");
    return true;
  }

 private:
  bool Authorized(mg_connection* conn) const {
    if (token_.empty()) return true;
    const char* header = mg_get_header(conn, "Authorization");
    if (header == nullptr) return false;
    const std::string value = header;
    if (absl::StartsWith(value, "Bearer ")) {
      return CredentialMatches(value.substr(7), token_);
    }
    if (absl::StartsWith(value, "Basic ")) {
      std::string decoded;
      if (!absl::Base64Unescape(value.substr(6), &decoded)) return false;
      const size_t colon = decoded.find(':');
      return colon != std::string::npos && CredentialMatches(decoded.substr(colon + 1), token_);
    }
    return false;
  }

  absl::StatusOr<std::string> JobList(const std::string& from) const {
    v1::ListJobsRequest request;
    request.set_page_size(kJobsPerPage);
    request.set_page_token(from);
    PHAZE_ASSIGN_OR_RETURN(const v1::ListJobsResponse page, manager_->ListPage(request));
    std::string html =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>phaze jobs"
        "</title><meta http-equiv=\"refresh\" content=\"5\"><style>body{font-family:sans-serif;"
        "margin:2em}td,th{padding:2px 10px;text-align:left}</style></head><body>\n"
        "<h1>phaze jobs</h1>\n<table><tr><th>job</th><th>name</th><th>state</th>"
        "<th>candidates</th><th>best (samples/s)</th></tr>\n";
    for (const v1::JobStatus& s : page.jobs()) {
      absl::StrAppendFormat(
          &html,
          "<tr><td><a href=\"/jobs/%s\">%s</a></td><td>%s</td><td>%s</td><td>%d / %d</td>"
          "<td>%s</td></tr>\n",
          EscapeXml(s.job_id()), EscapeXml(s.job_id()), EscapeXml(s.name()),
          JobStateName(s.state()), s.candidates_done(), s.candidates_total(),
          s.has_best() ? absl::StrFormat("%.5g", s.best().throughput_samples_per_s()) : "");
    }
    html += "</table>\n";
    if (!page.next_page_token().empty()) {
      absl::StrAppendFormat(&html, "<p><a href=\"/?from=%s\">next %d jobs</a></p>\n",
                            EscapeXml(page.next_page_token()), kJobsPerPage);
    }
    html += "</body></html>\n";
    return html;
  }

  static constexpr int kJobsPerPage = 200;

  JobManager* manager_;
  std::string token_;
};

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::Start(const std::string& listen,
                                                            JobManager* manager,
                                                            std::string token) {
  std::unique_ptr<WebServer> web(new WebServer());
  web->handler_ = std::make_unique<Handler>(manager, std::move(token));
  // civetweb wants "HOST:PORT" as listening_ports; port 0 picks a free port.
  const std::vector<std::string> options = {"listening_ports",    listen, "num_threads", "4",
                                            "request_timeout_ms", "10000"};
  try {
    web->server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve web pages on ", listen, ": ", e.what()));
  }
  web->server_->addHandler("/", web->handler_.get());
  const std::vector<int> ports = web->server_->getListeningPorts();
  web->port_ = ports.empty() ? 0 : ports.front();
  return web;
}

WebServer::~WebServer() {
  if (server_) server_->close();
}

}  // namespace phaze
