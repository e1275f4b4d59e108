#include "worker/worker_loop.h"

#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/job.h"
#include "common/mutex.h"
#include "common/pareto.h"
#include "coordinator/convert.h"
#include "grpcpp/grpcpp.h"
#include "phaze/v1/service.grpc.pb.h"

namespace phaze {

Worker::Worker(std::shared_ptr<grpc::Channel> channel, WorkerOptions options)
    : channel_(std::move(channel)), options_(std::move(options)) {}

Worker::~Worker() = default;

std::shared_ptr<Worker::JobContext> Worker::Context(const std::string& job_id,
                                                    const std::string& yaml) {
  MutexLock lock(&mu_);
  auto it = jobs_.find(job_id);
  if (it != jobs_.end()) return it->second;
  absl::StatusOr<JobSpec> spec = ParseJobYaml(yaml);
  if (!spec.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<Evaluator>> evaluator = Evaluator::Create(*spec);
  if (!evaluator.ok()) return nullptr;
  auto ctx = std::make_shared<JobContext>();
  ctx->evaluator = *std::move(evaluator);
  jobs_[job_id] = ctx;
  return ctx;
}

void Worker::Loop(int thread, const std::atomic<bool>& stop) {
  auto stub = v1::Dispatch::NewStub(channel_);
  sched::CbcBackend backend;
  const std::string id = absl::StrCat(options_.worker_id, "/", thread);
  while (!stop.load()) {
    v1::LeaseRequest request;
    request.set_worker_id(id);
    v1::Lease lease;
    grpc::ClientContext lease_context;
    if (!options_.token.empty()) {
      lease_context.AddMetadata("authorization", "Bearer " + options_.token);
    }
    lease_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const grpc::Status status = stub->LeaseShard(&lease_context, request, &lease);
    if (!status.ok() || lease.lease_id().empty()) {
      std::this_thread::sleep_for(std::chrono::duration<double>(options_.idle_poll_s));
      continue;
    }
    std::shared_ptr<JobContext> ctx = Context(lease.job_id(), lease.spec().yaml());
    ParetoFront front;
    for (const v1::FrontPoint& f : lease.front()) {
      DesignPoint p;
      p.candidate_index = -1;
      p.throughput_samples_per_s = f.throughput_samples_per_s();
      p.area_um2 = f.area_um2();
      p.energy_per_sample_j = f.energy_per_sample_j();
      front.Insert(p);
    }
    Evaluator::SkipTest can_skip;
    if (lease.front_size() > 0) {
      can_skip = [&front](double throughput, double area, double energy) {
        return front.DominatesBound(throughput, area, energy);
      };
    }
    grpc::ClientContext report_context;
    if (!options_.token.empty()) {
      report_context.AddMetadata("authorization", "Bearer " + options_.token);
    }
    v1::ReportAck ack;
    auto writer = stub->ReportResults(&report_context, &ack);
    for (int64_t candidate : lease.candidates()) {
      if (ctx == nullptr) break;  // a job this worker cannot parse: let the lease expire
      const auto started = std::chrono::steady_clock::now();
      absl::StatusOr<EvaluationResult> r =
          ctx->evaluator->Evaluate(candidate, backend, &ctx->cache, can_skip);
      if (options_.on_evaluation) {
        options_.on_evaluation(
            r.ok() ? &*r : nullptr,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      v1::ResultReport report;
      report.set_lease_id(lease.lease_id());
      report.set_job_id(lease.job_id());
      if (r.ok()) {
        *report.mutable_result() = ToProto(*r);
      } else {
        report.mutable_result()->mutable_candidate()->set_index(candidate);
        report.mutable_result()->set_outcome(v1::OUTCOME_ERROR);
        report.mutable_result()->set_error(std::string(r.status().message()));
      }
      if (!writer->Write(report)) break;
      ++evaluated_;
    }
    writer->WritesDone();
    writer->Finish().IgnoreError();
  }
}

void Worker::Run(const std::atomic<bool>& stop) {
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, options_.threads); ++t) {
    threads.emplace_back([this, t, &stop] { Loop(t, stop); });
  }
  for (std::thread& t : threads) t.join();
}

}  // namespace phaze
