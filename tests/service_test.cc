// Multi-process tests on loopback with ephemeral ports: a real phaze-coordinator and real
// phaze-worker processes. A small job must end with the same front as the in-process search,
// also when a worker is killed with SIGKILL mid-job and when the coordinator is killed and
// restarted on its database.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/job.h"
#include "common/search.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "phaze/v1/service.grpc.pb.h"

extern char** environ;

namespace phaze {
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
                               "--shard-size", "3", "--lease-seconds", extra_lease},
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
  v1::GetJobRequest req;
  req.set_job_id(id);
  v1::JobStatus s;
  stub.GetJob(&ctx, req, &s);
  return s;
}

v1::JobStatus WaitUntil(v1::Coordinator::Stub& stub, const std::string& id,
                        const std::function<bool(const v1::JobStatus&)>& done) {
  v1::JobStatus s;
  for (int i = 0; i < 1200; ++i) {
    s = Get(stub, id);
    if (done(s)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return s;
}

std::vector<int64_t> RemoteFront(v1::Coordinator::Stub& stub, const std::string& id) {
  grpc::ClientContext ctx;
  v1::ListResultsRequest req;
  req.set_job_id(id);
  req.set_front_only(true);
  v1::ListResultsResponse r;
  EXPECT_TRUE(stub.ListResults(&ctx, req, &r).ok());
  std::vector<int64_t> keys;
  for (const auto& p : r.front()) {
    keys.push_back(p.candidate() * 10000 + (p.hbm_bytes() >> 30) * 10 + (p.recompute() ? 1 : 0));
  }
  return keys;
}

std::vector<int64_t> LocalFront() {
  const JobSpec job = *ParseJobYaml(kJob);
  auto evaluator = *Evaluator::Create(job);
  const SearchState state = RunLocal(*evaluator, 2, nullptr);
  std::vector<int64_t> keys;
  for (const DesignPoint& p : state.front().Points()) {
    keys.push_back(p.candidate_index * 10000 + (job.hbm_bytes[p.hbm_index] >> 30) * 10 +
                   p.recompute_index);
  }
  return keys;
}

std::string Submit(v1::Coordinator::Stub& stub) {
  grpc::ClientContext ctx;
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
  // A bad job is refused whole, naming the field.
  {
    grpc::ClientContext ctx;
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

}  // namespace
}  // namespace phaze
