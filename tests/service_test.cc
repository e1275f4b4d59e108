// Multi-process tests on loopback with ephemeral ports: a real phaze-coordinator and real
// phaze-worker processes. A small job must end with the same front as the in-process search,
// also when a worker is killed with SIGKILL mid-job and when the coordinator is killed and
// restarted on its database.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/job/job.h"
#include "common/search/search.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "phaze/v1/service.grpc.pb.h"

extern char** environ;

namespace phaze {

using eval::Evaluator;
using job::JobSpec;
using job::ParseJobYaml;
using search::DesignPoint;
using search::RunLocal;
using search::SearchState;
namespace {

constexpr char kJob[] = R"(
name: service-test
model:
  base: megatrongpt2-54
  name: gpt-tiny
  layers: 4
  seq_len: 256
training:
  accelerators: 16
  global_batch: 32
  micro_batch_sizes: [1, 2]
  recompute: [false, true]
  max_tensor_width: 2
architecture:
  space:
    num_tc: [1, 4, 16]
    num_vc: [2, 4]
    tc_width: [32, 128]
    tc_depth: [64, 128]
    glb_mib: [32]
    max_area_preset: tpuv4
  hbm_gib: [2, 8]
search: {strategy: exhaustive}
# MILPs only: the faults below strike mid-job (mid-shard), and the exact order search would
# finish this job before they could. (To a zero gap the MILPs took over 120 s under Debug + ASan;
# 50 nodes per MILP keep the job short since layers whose HBM binds carry the resource flow.)
solver: {order_search_nodes: 0, max_nodes: 50}
)";

class Process {
 public:
  // Starts `argv`, with stdout to `log`.
  Process(std::vector<std::string> argv, const std::string& log) : log_(log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Process() { Kill(SIGKILL); }
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // Waits for a line starting with `prefix` in the log; returns it.
  std::string WaitForLine(const std::string& prefix) {
    for (int i = 0; i < 200; ++i) {
      std::ifstream in(log_);
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) return line;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "";
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

constexpr char kToken[] = "test-token-7f3a";
constexpr char kWorkerToken[] = "test-worker-token-c41e";

// Every process started here inherits PHAZE_TOKEN (users) and PHAZE_WORKER_TOKEN (workers); every
// call below carries the users' token.
const bool kTokenSet = [] {
  return setenv("PHAZE_TOKEN", kToken, 1) == 0 &&
         setenv("PHAZE_WORKER_TOKEN", kWorkerToken, 1) == 0;
}();

void Auth(grpc::ClientContext& ctx) {
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kToken));
}

std::string Dir() {
  static const std::string dir = [] {
    const std::string d = absl::StrCat(testing::TempDir(), "/phaze_service_test_", getpid());
    const std::string cmd = absl::StrCat("mkdir -p ", d);
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return d;
  }();
  return dir;
}

std::unique_ptr<Process> StartCoordinator(const std::string& db, std::string* address,
                                          const std::string& extra_lease = "30") {
  auto p = std::make_unique<Process>(
      std::vector<std::string>{PHAZE_COORDINATOR_BIN, "--listen", "127.0.0.1:0", "--database", db,
                               "--shard-size", "3", "--shard-seconds", "0", "--lease-seconds",
                               extra_lease},
      absl::StrCat(Dir(), "/coordinator.log"));
  const std::string line = p->WaitForLine("listening on ");
  EXPECT_FALSE(line.empty()) << "coordinator did not start";
  *address = line.substr(13);  // after "listening on "
  return p;
}

std::unique_ptr<Process> StartWorker(const std::string& address, int n) {
  return std::make_unique<Process>(
      std::vector<std::string>{PHAZE_WORKER_BIN, "--coordinator", address, "--threads", "1", "--id",
                               absl::StrCat("w", n)},
      absl::StrCat(Dir(), "/worker", n, ".log"));
}

std::unique_ptr<v1::Coordinator::Stub> Stub(const std::string& address) {
  return v1::Coordinator::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

v1::JobStatus Get(v1::Coordinator::Stub& stub, const std::string& id) {
  grpc::ClientContext ctx;
  Auth(ctx);
  v1::GetJobRequest req;
  req.set_job_id(id);
  v1::JobStatus s;
  stub.GetJob(&ctx, req, &s);
  return s;
}

v1::JobStatus WaitUntil(v1::Coordinator::Stub& stub, const std::string& id,
                        const std::function<bool(const v1::JobStatus&)>& done) {
  // Ten minutes: a whole job takes seconds in Release and a few minutes under Debug + ASan; ctest's
  // own timeout (900 s in CI) still ends a hung test.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  v1::JobStatus s;
  while (std::chrono::steady_clock::now() < deadline) {
    s = Get(stub, id);
    if (!s.job_id().empty() && done(s)) break;  // an empty status: the call failed; retry
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return s;
}

std::vector<int64_t> RemoteFront(v1::Coordinator::Stub& stub, const std::string& id) {
  grpc::ClientContext ctx;
  Auth(ctx);
  v1::ListResultsRequest req;
  req.set_job_id(id);
  req.set_front_only(true);
  v1::ListResultsResponse r;
  EXPECT_TRUE(stub.ListResults(&ctx, req, &r).ok());
  std::vector<int64_t> keys;
  for (const auto& p : r.front()) {
    keys.push_back(p.candidate() * 10000 + (p.hbm_bytes() >> 30) * 10 +
                   (p.recompute() == phaze::v1::RECOMPUTE_FULL ? 1 : 0));
  }
  return keys;
}

std::vector<int64_t> LocalFront() {
  const JobSpec job = *ParseJobYaml(kJob);
  auto evaluator = *Evaluator::Create(job);
  const SearchState state = RunLocal(*evaluator, job.search, 2, nullptr);
  std::vector<int64_t> keys;
  for (const DesignPoint& p : state.front().Points()) {
    keys.push_back(p.candidate_index * 10000 + (job.hbm_bytes[p.hbm_index] >> 30) * 10 +
                   p.recompute_index);
  }
  return keys;
}

std::string Submit(v1::Coordinator::Stub& stub) {
  grpc::ClientContext ctx;
  Auth(ctx);
  v1::SubmitJobRequest req;
  req.mutable_spec()->set_yaml(kJob);
  v1::JobStatus s;
  EXPECT_TRUE(stub.SubmitJob(&ctx, req, &s).ok());
  return s.job_id();
}

TEST(ServiceTest, CoordinatorAndTwoWorkersMatchTheLocalSearch) {
  std::string address;
  auto coordinator = StartCoordinator(absl::StrCat(Dir(), "/a.db"), &address);
  auto w1 = StartWorker(address, 1);
  auto w2 = StartWorker(address, 2);
  auto stub = Stub(address);
  // A call without the token is refused and creates nothing.
  {
    grpc::ClientContext ctx;
    v1::SubmitJobRequest req;
    req.mutable_spec()->set_yaml(kJob);
    v1::JobStatus s;
    EXPECT_EQ(stub->SubmitJob(&ctx, req, &s).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    grpc::ClientContext wrong;
    wrong.AddMetadata("authorization", "Bearer nope");
    EXPECT_EQ(stub->SubmitJob(&wrong, req, &s).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    grpc::ClientContext list_ctx;
    Auth(list_ctx);
    v1::ListJobsResponse jobs;
    ASSERT_TRUE(stub->ListJobs(&list_ctx, v1::ListJobsRequest(), &jobs).ok());
    EXPECT_EQ(jobs.jobs_size(), 0);
  }
  // A bad job is refused whole, naming the field.
  {
    grpc::ClientContext ctx;
    Auth(ctx);
    v1::SubmitJobRequest req;
    req.mutable_spec()->set_yaml("name: x\nmodel: gpt9\narchitecture: {preset: tpuv4}\n");
    v1::JobStatus s;
    const grpc::Status st = stub->SubmitJob(&ctx, req, &s);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(st.error_message().find("model"), std::string::npos);
  }
  const std::string id = Submit(*stub);
  const v1::JobStatus s = WaitUntil(*stub, id, [](const v1::JobStatus& status) {
    return status.state() != v1::JOB_STATE_RUNNING;
  });
  ASSERT_EQ(s.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(s.candidates_done(), s.candidates_total());
  EXPECT_EQ(RemoteFront(*stub, id), LocalFront());
}

TEST(ServiceTest, KilledWorkerStillEndsWithIdenticalResults) {
  std::string address;
  auto coordinator = StartCoordinator(absl::StrCat(Dir(), "/b.db"), &address, "3");
  auto w1 = StartWorker(address, 3);
  auto stub = Stub(address);
  const std::string id = Submit(*stub);
  WaitUntil(*stub, id, [](const v1::JobStatus& status) { return status.candidates_done() >= 4; });
  w1->Kill(SIGKILL);  // mid-job, holding a lease
  auto w2 = StartWorker(address, 4);
  const v1::JobStatus s = WaitUntil(*stub, id, [](const v1::JobStatus& status) {
    return status.state() != v1::JOB_STATE_RUNNING;
  });
  ASSERT_EQ(s.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(s.candidates_done(), s.candidates_total());
  EXPECT_EQ(RemoteFront(*stub, id), LocalFront());
}

TEST(ServiceTest, RestartedCoordinatorResumesAndEndsWithIdenticalResults) {
  const std::string db = absl::StrCat(Dir(), "/c.db");
  std::string address;
  auto coordinator = StartCoordinator(db, &address, "3");
  auto w1 = StartWorker(address, 5);
  auto stub = Stub(address);
  const std::string id = Submit(*stub);
  const v1::JobStatus before = WaitUntil(
      *stub, id, [](const v1::JobStatus& status) { return status.candidates_done() >= 6; });
  coordinator->Kill(SIGKILL);
  w1->Kill(SIGKILL);
  auto restarted = StartCoordinator(db, &address, "3");
  auto stub2 = Stub(address);
  const v1::JobStatus resumed = Get(*stub2, id);
  EXPECT_EQ(resumed.state(), v1::JOB_STATE_RUNNING);
  EXPECT_GE(resumed.candidates_done(), before.candidates_done());  // nothing lost
  auto w2 = StartWorker(address, 6);
  const v1::JobStatus s = WaitUntil(*stub2, id, [](const v1::JobStatus& status) {
    return status.state() != v1::JOB_STATE_RUNNING;
  });
  ASSERT_EQ(s.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(s.candidates_done(), s.candidates_total());  // nothing doubled
  EXPECT_EQ(RemoteFront(*stub2, id), LocalFront());
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Ten random worker SIGKILLs, three coordinator SIGKILL + restarts on its database and port, and
// a worker frozen with SIGSTOP, all during one job: it must end with exactly one result per
// candidate and the fault-free front.
TEST(ServiceTest, FaultRunLosesAndDuplicatesNothing) {
  const std::string db = absl::StrCat(Dir(), "/fault.db");
  const std::string address = absl::StrCat("127.0.0.1:", FreePort());
  auto start_coordinator = [&] {
    auto p = std::make_unique<Process>(
        std::vector<std::string>{PHAZE_COORDINATOR_BIN, "--listen", address, "--database", db,
                                 "--shard-size", "2", "--shard-seconds", "0", "--lease-seconds",
                                 "2"},
        absl::StrCat(Dir(), "/fault_coordinator.log"));
    EXPECT_FALSE(p->WaitForLine("listening on ").empty());
    return p;
  };
  auto coordinator = start_coordinator();
  std::vector<std::unique_ptr<Process>> workers;
  int next_worker = 100;
  for (int i = 0; i < 2; ++i) workers.push_back(StartWorker(address, next_worker++));
  auto stub = Stub(address);
  const std::string id = Submit(*stub);
  std::mt19937 rng(17);
  int kills = 0, restarts = 0;
  for (int step = 0; step < 200 && (kills < 10 || restarts < 3); ++step) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    if (kills < 10) {
      const size_t victim = rng() % workers.size();
      workers[victim]->Kill(SIGKILL);
      workers[victim] = StartWorker(address, next_worker++);
      ++kills;
    }
    if (kills >= 3 * (restarts + 1) && restarts < 3) {
      coordinator->Kill(SIGKILL);
      coordinator = start_coordinator();
      ++restarts;
    }
  }
  EXPECT_EQ(kills, 10);
  EXPECT_EQ(restarts, 3);
  auto fresh = Stub(address);
  const v1::JobStatus s = WaitUntil(*fresh, id, [](const v1::JobStatus& status) {
    return status.state() != v1::JOB_STATE_RUNNING;
  });
  ASSERT_EQ(s.state(), v1::JOB_STATE_SUCCEEDED);
  // One stored row per candidate: nothing lost, nothing doubled.
  grpc::ClientContext ctx;
  Auth(ctx);
  v1::ListResultsRequest req;
  req.set_job_id(id);
  req.set_page_size(1000);
  v1::ListResultsResponse page;
  ASSERT_TRUE(fresh->ListResults(&ctx, req, &page).ok());
  std::set<int64_t> seen;
  int64_t duplicated = 0;
  for (const v1::CandidateResult& r : page.results()) {
    duplicated += seen.insert(r.candidate().index()).second ? 0 : 1;
  }
  const int64_t lost = s.candidates_total() - static_cast<int64_t>(seen.size());
  std::printf(
      "fault run: %d worker kills, %d coordinator restarts; candidates lost %lld, "
      "duplicated %lld\n",
      kills, restarts, static_cast<long long>(lost), static_cast<long long>(duplicated));
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(RemoteFront(*fresh, id), LocalFront());
}

TEST(ServiceTest, FrozenWorkersLeaseExpiresAndTheShardMoves) {
  std::string address;
  auto coordinator = StartCoordinator(absl::StrCat(Dir(), "/frozen.db"), &address, "2");
  auto frozen = StartWorker(address, 200);
  auto stub = Stub(address);
  const std::string id = Submit(*stub);
  WaitUntil(*stub, id, [](const v1::JobStatus& status) { return status.candidates_done() >= 1; });
  frozen->Signal(SIGSTOP);  // mid-shard: it holds a lease it will not finish
  auto healthy = StartWorker(address, 201);
  const v1::JobStatus s = WaitUntil(*stub, id, [](const v1::JobStatus& status) {
    return status.state() != v1::JOB_STATE_RUNNING;
  });
  ASSERT_EQ(s.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_GE(s.leases_expired(), 1);
  EXPECT_EQ(s.candidates_done(), s.candidates_total());
  EXPECT_EQ(RemoteFront(*stub, id), LocalFront());
  frozen->Signal(SIGCONT);
}

// GET /metrics from 127.0.0.1:port; returns the body.
std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0)
    response.append(buffer, static_cast<size_t>(n));
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The value of the first sample line starting with `series` ("name" or "name{labels}").
double Sample(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.substr(0, series.size()) != series || line.size() <= series.size()) continue;
    if (line[series.size()] != ' ') continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
  }
  return -1;
}

TEST(ServiceTest, MetricsFollowTheNamingRulesAndRiseWithWork) {
  std::string address;
  auto coordinator = std::make_unique<Process>(
      std::vector<std::string>{PHAZE_COORDINATOR_BIN, "--listen", "127.0.0.1:0", "--database",
                               ":memory:", "--metrics-listen", "127.0.0.1:0"},
      absl::StrCat(Dir(), "/coordinator_metrics.log"));
  const std::string metrics_line = coordinator->WaitForLine("metrics on ");
  const std::string line = coordinator->WaitForLine("listening on ");
  ASSERT_FALSE(metrics_line.empty());
  address = line.substr(13);
  int coordinator_port = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(metrics_line.substr(metrics_line.rfind(':') + 1), &coordinator_port));
  auto worker = std::make_unique<Process>(
      std::vector<std::string>{PHAZE_WORKER_BIN, "--coordinator", address, "--threads", "1",
                               "--metrics-listen", "127.0.0.1:0"},
      absl::StrCat(Dir(), "/worker_metrics.log"));
  const std::string worker_line = worker->WaitForLine("metrics on port ");
  ASSERT_FALSE(worker_line.empty());
  int worker_port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(worker_line.substr(16), &worker_port));

  auto stub = Stub(address);
  const std::string id = Submit(*stub);
  const v1::JobStatus s = WaitUntil(*stub, id, [](const v1::JobStatus& status) {
    return status.state() != v1::JOB_STATE_RUNNING;
  });
  ASSERT_EQ(s.state(), v1::JOB_STATE_SUCCEEDED);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // one refresh of the gauges

  const std::string c = Scrape(coordinator_port);
  const std::string w = Scrape(worker_port);
  EXPECT_DOUBLE_EQ(Sample(c, "phaze_coordinator_candidates_total{outcome=\"feasible\"}") +
                       Sample(c, "phaze_coordinator_candidates_total{outcome=\"infeasible\"}"),
                   static_cast<double>(s.candidates_done()));
  EXPECT_EQ(Sample(c, "phaze_coordinator_results_persisted_total"), s.candidates_done());
  EXPECT_GE(Sample(c, "phaze_coordinator_shards_leased_total"), s.shards_total());
  EXPECT_EQ(Sample(c, "phaze_coordinator_jobs{state=\"succeeded\"}"), 1);
  EXPECT_EQ(Sample(c, "phaze_coordinator_pending_candidates"), 0);
  EXPECT_EQ(Sample(c, "phaze_coordinator_connected_workers"), 1);
  EXPECT_EQ(Sample(w, "phaze_worker_evaluation_seconds_count"), s.candidates_done());
  EXPECT_GT(Sample(w, "phaze_worker_candidates_total{outcome=\"feasible\"}"), 0);
  // Naming rules: phaze_<component>_..., counters end in _total, every family has HELP and TYPE.
  for (const std::string& text : {c, w}) {
    for (absl::string_view l : absl::StrSplit(text, '\n')) {
      if (!absl::StartsWith(l, "# TYPE phaze_")) continue;
      const std::vector<std::string> parts = absl::StrSplit(l, ' ');
      ASSERT_EQ(parts.size(), 4u);
      EXPECT_TRUE(absl::StartsWith(parts[2], "phaze_coordinator_") ||
                  absl::StartsWith(parts[2], "phaze_worker_"))
          << parts[2];
      if (parts[3] == "counter") {
        EXPECT_TRUE(absl::EndsWith(parts[2], "_total")) << parts[2];
      }
      EXPECT_NE(text.find(absl::StrCat("# HELP ", parts[2], " ")), std::string::npos) << parts[2];
    }
  }
}

}  // namespace
}  // namespace phaze
