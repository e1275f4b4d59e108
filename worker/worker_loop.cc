#include "worker/worker_loop.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/job/job.h"
#include "common/base/mutex.h"
#include "common/search/pareto.h"
#include "common/rpc/convert.h"
#include "grpcpp/grpcpp.h"
#include "phaze/v1/service.grpc.pb.h"

namespace phaze {

v1::CandidateResult EvaluateToResult(
    int64_t candidate, const std::function<absl::StatusOr<EvaluationResult>()>& evaluate,
    std::optional<EvaluationResult>* evaluated) {
  std::string error;
  try {
    absl::StatusOr<EvaluationResult> r = evaluate();
    if (r.ok()) {
      v1::CandidateResult result = ToProto(*r);
      if (evaluated != nullptr) *evaluated = *std::move(r);
      return result;
    }
    error = std::string(r.status().message());
  } catch (const std::bad_alloc&) {
    error = "out of memory: the evaluation needed more than the worker's memory limit";
  } catch (const std::exception& e) {
    error = absl::StrCat("the evaluation failed: ", e.what());
  } catch (...) {
    error = "the evaluation failed with an unknown exception";
  }
  v1::CandidateResult result;
  result.mutable_candidate()->set_index(candidate);
  result.set_outcome(v1::OUTCOME_ERROR);
  result.set_error(error);
  return result;
}

Worker::Worker(std::shared_ptr<grpc::Channel> channel, WorkerOptions options)
    : channel_(std::move(channel)), options_(std::move(options)) {}

Worker::~Worker() = default;

absl::StatusOr<std::shared_ptr<Worker::JobContext>> Worker::Context(const std::string& job_id,
                                                                    const std::string& yaml) {
  MutexLock lock(&mu_);
  auto it = jobs_.find(job_id);
  if (it != jobs_.end()) {
    it->second->last_used = ++uses_;
    return it->second;
  }
  absl::StatusOr<std::unique_ptr<Evaluator>> evaluator;
  try {
    absl::StatusOr<JobSpec> spec = ParseJobYaml(yaml);
    if (!spec.ok()) return spec.status();
    evaluator = Evaluator::Create(*spec);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory: building the job's evaluator needed more than the worker's memory limit");
  }
  if (!evaluator.ok()) return evaluator.status();
  // Bounded memory: forget the least recently used job (threads still using it keep it alive).
  while (static_cast<int>(jobs_.size()) >= std::max(1, options_.max_cached_jobs)) {
    auto oldest = std::min_element(jobs_.begin(), jobs_.end(), [](const auto& a, const auto& b) {
      return a.second->last_used < b.second->last_used;
    });
    jobs_.erase(oldest);
  }
  auto ctx = std::make_shared<JobContext>();
  ctx->evaluator = *std::move(evaluator);
  ctx->last_used = ++uses_;
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
    const absl::StatusOr<std::shared_ptr<JobContext>> context =
        Context(lease.job_id(), lease.spec().yaml());
    // A job this worker cannot parse (a newer coordinator): let the lease expire, so that a
    // worker that can takes it. Out of memory: report it for every candidate.
    if (!context.ok() && !absl::IsResourceExhausted(context.status())) continue;
    const std::shared_ptr<JobContext> ctx = context.ok() ? *context : nullptr;
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
      const auto started = std::chrono::steady_clock::now();
      std::optional<EvaluationResult> evaluated;
      v1::ResultReport report;
      *report.mutable_result() = EvaluateToResult(
          candidate,
          [&]() -> absl::StatusOr<EvaluationResult> {
            if (ctx == nullptr) return context.status();
            return ctx->evaluator->Evaluate(candidate, backend, &ctx->cache, can_skip);
          },
          &evaluated);
      if (options_.on_evaluation) {
        options_.on_evaluation(
            evaluated.has_value() ? &*evaluated : nullptr,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      report.set_lease_id(lease.lease_id());
      report.set_job_id(lease.job_id());
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
