#include "coordinator/cli/client_commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/status_macros.h"
#include "common/job/job.h"
#include "common/report/report.h"
#include "common/rpc/convert.h"
#include "common/rpc/token.h"
#include "coordinator/server.h"
#include "grpcpp/grpcpp.h"
#include "phaze/v1/service.grpc.pb.h"
#include "worker/worker_loop.h"

namespace phaze::cli {

using job::JobSpec;
using job::ParseJobYaml;
using report::BestJson;
using report::FrontJson;
using report::JobPageHtml;
using report::ResultsCsv;
using search::SearchState;
namespace {

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

std::shared_ptr<grpc::Channel> Channel(
    const std::string& address,
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials()) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(address, credentials, args);
}

// The bearer token of this process's client calls (set once by each verb before any call).
thread_local std::string g_token;

std::unique_ptr<grpc::ClientContext> Context(double seconds) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!g_token.empty()) ctx->AddMetadata("authorization", "Bearer " + g_token);
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  return ctx;
}

// A stub for the client's coordinator (TLS if asked); sets this thread's bearer token.
absl::StatusOr<std::unique_ptr<v1::Coordinator::Stub>> Connect(const ClientOptions& client) {
  PHAZE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                         ChannelCredentials(client.tls));
  g_token = client.token;
  return v1::Coordinator::NewStub(Channel(client.address, credentials));
}

// Text from the coordinator for a terminal: control characters (which could move the cursor or
// recolour other users' terminals) shown as '?'.
std::string Printable(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text;
}

std::string StatusLine(const v1::JobStatus& s) {
  std::string line = absl::StrFormat(
      "%s %-9s %s: %d/%d candidates (%d pruned by bounds, %d failed), shards %d/%d, %d leases "
      "expired, front %d points",
      Printable(s.job_id()), JobStateName(s.state()), Printable(s.name()), s.candidates_done(),
      s.candidates_total(), s.candidates_pruned(), s.candidates_failed(), s.shards_done(),
      s.shards_total(), s.leases_expired(), s.front_size());
  if (s.has_best()) {
    const v1::DesignPointSummary& b = s.best();
    absl::StrAppendFormat(
        &line,
        "\n  best: %.6g samples/s on %dx%dx%d tc, %dx%d vc, %d MiB glb (%.2f mm^2), "
        "micro-batch %d, HBM %d GiB, recompute %s, (p, t, d) = (%d, %d, %d)",
        b.throughput_samples_per_s(), b.architecture().num_tc(), b.architecture().tc_width(),
        b.architecture().tc_depth(), b.architecture().num_vc(), b.architecture().vc_width(),
        b.architecture().glb_bytes() >> 20, b.area_um2() / 1e6, b.micro_batch_size(),
        b.hbm_bytes() >> 30, place::RecomputeName(RecomputeFromProto(b.recompute())),
        b.strategy().pipeline(), b.strategy().tensor(), b.strategy().data());
  }
  if (!s.error().empty()) absl::StrAppend(&line, "\n  error: ", s.error());
  return line;
}

// Whether a failed watch may be retried: the coordinator went away (restart, network) rather than
// refusing the request.
bool Reconnectable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         status.error_code() == grpc::StatusCode::CANCELLED;
}

// Follows a job until it ends and returns the final status. On a terminal: a progress bar on
// stderr. Otherwise (a pipe, a log file): a line on `out` per update (at most one a second while
// it runs, and at every change of state), flushed, so a log follows the job as it runs. Through a
// coordinator restart or a network cut the watch reconnects with backoff (0.1 s doubling to 5 s)
// and resumes; it gives up after `reconnect_timeout_s` without contact.
absl::StatusOr<v1::JobStatus> Follow(v1::Coordinator::Stub& stub, const std::string& job_id,
                                     bool progress, std::ostream& out,
                                     double reconnect_timeout_s = 300) {
  ProgressBar bar(progress);
  const bool lines = progress && isatty(STDERR_FILENO) != 1;
  v1::JobStatus last;
  std::string last_line;
  v1::JobState last_state = v1::JOB_STATE_UNSPECIFIED;
  constexpr auto kLineEvery = std::chrono::seconds(1);
  auto last_print = std::chrono::steady_clock::now() - kLineEvery;
  double backoff_s = 0.1;
  auto contact = std::chrono::steady_clock::now();
  while (true) {
    grpc::ClientContext ctx;
    if (!g_token.empty()) ctx.AddMetadata("authorization", "Bearer " + g_token);
    v1::WatchJobRequest req;
    req.set_job_id(job_id);
    auto reader = stub.WatchJob(&ctx, req);
    v1::JobStatus s;
    while (reader->Read(&s)) {
      last = s;
      contact = std::chrono::steady_clock::now();
      backoff_s = 0.1;
      std::string best = "none feasible yet";
      if (s.has_best()) {
        best = absl::StrFormat("best %.4g samples/s at %.1f mm^2",
                               s.best().throughput_samples_per_s(), s.best().area_um2() / 1e6);
      }
      bar.Update(s.candidates_done(), s.candidates_total(), best);
      if (lines) {
        const std::string line = absl::StrFormat("%s %s %d/%d candidates, %s",
                                                 Printable(s.job_id()), JobStateName(s.state()),
                                                 s.candidates_done(), s.candidates_total(), best);
        // At most one line a second while running (a result can arrive every millisecond),
        // and every change of state.
        const auto now = std::chrono::steady_clock::now();
        if (line != last_line && (s.state() != last_state || now - last_print >= kLineEvery)) {
          out << line << std::endl;
          last_line = line;
          last_print = now;
        }
        last_state = s.state();
      }
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok()) {
      const double silent_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - contact).count();
      if (!Reconnectable(status) || silent_s > reconnect_timeout_s) {
        bar.Finish();
        return FromGrpc(status, "watch");
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff_s));
      backoff_s = std::min(5.0, 2 * backoff_s);
      continue;
    }
    if (last.state() != v1::JOB_STATE_RUNNING && !last.job_id().empty()) break;
  }
  bar.Finish();
  return last;
}

// The job and its search state as the coordinator's results describe them (no evaluator is
// built), so that reports are rendered by the same code whether the search ran here or on a
// cluster.
struct Fetched {
  JobSpec spec;
  std::unique_ptr<SearchState> state;
  v1::JobStatus status;
};

absl::StatusOr<Fetched> Fetch(v1::Coordinator::Stub& stub, const std::string& job_id) {
  v1::GetJobRequest get;
  get.set_job_id(job_id);
  v1::JobStatus status;
  PHAZE_RETURN_IF_ERROR(FromGrpc(stub.GetJob(Context(30).get(), get, &status), "get job"));
  PHAZE_ASSIGN_OR_RETURN(JobSpec spec, FromProto(status.spec().job()));
  Fetched f;
  f.status = status;
  f.spec = spec;
  f.state = std::make_unique<SearchState>(spec);
  std::string token;
  do {
    v1::ListResultsRequest req;
    req.set_job_id(job_id);
    req.set_page_size(1000);
    req.set_page_token(token);
    v1::ListResultsResponse page;
    PHAZE_RETURN_IF_ERROR(
        FromGrpc(stub.ListResults(Context(60).get(), req, &page), "list results"));
    for (const v1::CandidateResult& r : page.results()) {
      if (r.outcome() == v1::OUTCOME_ERROR) {
        f.state->AddError(r.candidate().index(), r.error());
      } else {
        f.state->Add(FromProto(r));
      }
    }
    token = page.next_page_token();
  } while (!token.empty());
  for (int64_t k = 0; k < status.candidates_pruned(); ++k) f.state->AddPruned(-1 - k);
  f.state->UseTotals(FromProto(status.ilp()), FromProto(status.phases()));
  return f;
}

}  // namespace

absl::StatusOr<std::string> LoadToken(const std::string& token_file) {
  return LoadBearerToken(token_file);
}

absl::Status Submit(const ClientOptions& client, const std::string& job_path, bool watch,
                    std::ostream& out) {
  std::string text;
  PHAZE_RETURN_IF_ERROR(ReadFile(job_path, &text));
  PHAZE_ASSIGN_OR_RETURN(auto stub, Connect(client));
  v1::SubmitJobRequest req;
  req.mutable_spec()->set_yaml(text);
  v1::JobStatus status;
  PHAZE_RETURN_IF_ERROR(FromGrpc(stub->SubmitJob(Context(60).get(), req, &status), "submit"));
  out << status.job_id() << "\n";
  if (!watch) return absl::OkStatus();
  PHAZE_ASSIGN_OR_RETURN(v1::JobStatus last, Follow(*stub, status.job_id(), true, out));
  out << StatusLine(last) << "\n";
  return absl::OkStatus();
}

absl::Status Status(const ClientOptions& client, const std::string& job_id, std::ostream& out) {
  PHAZE_ASSIGN_OR_RETURN(auto stub, Connect(client));
  v1::GetJobRequest req;
  req.set_job_id(job_id);
  v1::JobStatus status;
  PHAZE_RETURN_IF_ERROR(FromGrpc(stub->GetJob(Context(30).get(), req, &status), "status"));
  out << StatusLine(status) << "\n";
  return absl::OkStatus();
}

absl::Status Watch(const ClientOptions& client, const std::string& job_id, std::ostream& out) {
  PHAZE_ASSIGN_OR_RETURN(auto stub, Connect(client));
  PHAZE_ASSIGN_OR_RETURN(v1::JobStatus last, Follow(*stub, job_id, true, out));
  out << StatusLine(last) << "\n";
  return absl::OkStatus();
}

absl::Status Cancel(const ClientOptions& client, const std::string& job_id, std::ostream& out) {
  PHAZE_ASSIGN_OR_RETURN(auto stub, Connect(client));
  v1::CancelJobRequest req;
  req.set_job_id(job_id);
  v1::JobStatus status;
  PHAZE_RETURN_IF_ERROR(FromGrpc(stub->CancelJob(Context(30).get(), req, &status), "cancel"));
  out << StatusLine(status) << "\n";
  return absl::OkStatus();
}

absl::Status Jobs(const ClientOptions& client, std::ostream& out) {
  PHAZE_ASSIGN_OR_RETURN(auto stub, Connect(client));
  int64_t listed = 0;
  v1::ListJobsRequest req;
  do {
    v1::ListJobsResponse page;
    PHAZE_RETURN_IF_ERROR(FromGrpc(stub->ListJobs(Context(30).get(), req, &page), "list jobs"));
    for (const v1::JobStatus& s : page.jobs()) out << StatusLine(s) << "\n";
    listed += page.jobs_size();
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty());
  if (listed == 0) out << "no jobs\n";
  return absl::OkStatus();
}

absl::Status Results(const ClientOptions& client, const std::string& job_id,
                     const std::string& format, std::ostream& out) {
  if (format != "json" && format != "csv") {
    return absl::InvalidArgumentError(absl::StrCat("--format: '", format, "' is not json or csv"));
  }
  PHAZE_ASSIGN_OR_RETURN(auto stub, Connect(client));
  PHAZE_ASSIGN_OR_RETURN(Fetched f, Fetch(*stub, job_id));
  if (format == "csv") {
    out << ResultsCsv(*f.state);
  } else {
    nlohmann::json j = BestJson(f.spec, *f.state);
    j["front"] = FrontJson(f.spec, *f.state)["points"];
    out << j.dump(2) << "\n";
  }
  return absl::OkStatus();
}

absl::Status WriteReport(const ClientOptions& client, const std::string& job_id,
                         const std::string& out_path, std::ostream& out) {
  PHAZE_ASSIGN_OR_RETURN(auto stub, Connect(client));
  PHAZE_ASSIGN_OR_RETURN(Fetched f, Fetch(*stub, job_id));
  const std::string page = JobPageHtml(f.spec, *f.state, ToPageInfo(f.status));
  std::ofstream file(out_path, std::ios::binary);
  if (!file) return absl::InvalidArgumentError(absl::StrCat("--out: cannot write ", out_path));
  file << page;
  file.close();
  if (!file) return absl::DataLossError(absl::StrCat("--out: writing ", out_path, " failed"));
  out << "wrote " << out_path << " (" << page.size() << " bytes; front "
      << f.state->front().Points().size() << " points)\n";
  return absl::OkStatus();
}

// The running binary's fingerprint (its size and a hash of its bytes). A job stored in an output
// folder resumes only under the build that began it: another build may compute other numbers, and
// a resumed job would mix them with the stored ones.
std::string EngineFingerprint() {
  std::string bytes;
  if (!ReadFile("/proc/self/exe", &bytes).ok()) return "unknown";
  return absl::StrFormat("%d-%016x", bytes.size(), std::hash<std::string>{}(bytes));
}

absl::Status RunEmbedded(const RunArgs& args, std::ostream& out) {
  std::string text;
  PHAZE_RETURN_IF_ERROR(ReadFile(args.job_path, &text));
  PHAZE_ASSIGN_OR_RETURN(JobSpec spec, ParseJobYaml(text));  // errors before anything starts
  std::error_code ec;
  std::filesystem::create_directories(args.out_dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--out: cannot create ", args.out_dir));

  // The same coordinator as on a cluster, with its database in the output folder: an interrupted
  // run of the same job file resumes where it stopped.
  ServerOptions options;
  options.database = (std::filesystem::path(args.out_dir) / "phaze.db").string();
  // Its own random tokens, one for the user and one for the workers: even the embedded
  // coordinator accepts no unauthenticated call.
  std::random_device random;
  options.token = absl::StrFormat("%08x%08x%08x%08x", random(), random(), random(), random());
  options.worker_token =
      absl::StrFormat("%08x%08x%08x%08x", random(), random(), random(), random());
  g_token = options.token;
  PHAZE_ASSIGN_OR_RETURN(std::unique_ptr<CoordinatorServer> server,
                         CoordinatorServer::Start(options));
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  // Resume the same job if this build began it; otherwise compute afresh beside it (the old job
  // stays in the database).
  const std::string engine_path = (std::filesystem::path(args.out_dir) / "engine").string();
  const std::string engine = EngineFingerprint();
  std::string stored_engine;
  const bool same_engine = ReadFile(engine_path, &stored_engine).ok() && stored_engine == engine;
  std::string job_id = server->manager().FindByText(text);
  if (!job_id.empty() && !same_engine) {
    // Its workers would otherwise go on with it: an unfinished old job is cancelled (its results
    // stay stored).
    (void)server->manager().Cancel(job_id);
    out << "phaze run: " << args.out_dir << " holds " << job_id
        << " from another phaze build; computing afresh (the old job stays in " << options.database
        << ")\n";
    job_id.clear();
  } else if (!job_id.empty()) {
    out << "phaze run: resuming " << job_id << " from " << options.database << "\n";
  }
  PHAZE_RETURN_IF_ERROR(WriteFile(engine_path, engine));
  const int threads = args.threads > 0
                          ? args.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  WorkerOptions worker_options;
  worker_options.worker_id = "local";
  worker_options.threads = threads;
  worker_options.idle_poll_s = 0.05;
  worker_options.token = options.worker_token;
  Worker worker(Channel(address), worker_options);
  std::atomic<bool> stop{false};
  std::thread workers([&] { worker.Run(stop); });

  auto stub = v1::Coordinator::NewStub(Channel(address));
  absl::Status result = absl::OkStatus();
  const auto start = std::chrono::steady_clock::now();
  if (job_id.empty()) {
    v1::SubmitJobRequest req;
    req.mutable_spec()->set_yaml(text);
    v1::JobStatus status;
    result = FromGrpc(stub->SubmitJob(Context(60).get(), req, &status), "submit");
    job_id = status.job_id();
  }
  if (result.ok()) {
    out << "phaze run: job '" << spec.name << "' as " << job_id << " on an embedded coordinator ("
        << address << ", " << options.database << ") with " << threads << " local workers\n";
    absl::StatusOr<v1::JobStatus> last = Follow(*stub, job_id, args.progress, out);
    result = last.status();
  }
  stop = true;
  workers.join();
  PHAZE_RETURN_IF_ERROR(result);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PHAZE_ASSIGN_OR_RETURN(Fetched f, Fetch(*stub, job_id));
  server->Shutdown();
  PHAZE_RETURN_IF_ERROR(WriteOutputs(f.spec, *f.state, ToPageInfo(f.status), args.out_dir));
  PrintSummary(*f.state, elapsed, args.out_dir, out);
  return absl::OkStatus();
}

}  // namespace phaze::cli
