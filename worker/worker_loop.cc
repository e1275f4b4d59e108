#include "worker/worker_loop.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/base/mutex.h"
#include "common/job/job.h"
#include "common/rpc/clock.h"
#include "common/rpc/convert.h"

namespace phaze {

using eval::EvaluationResult;
using eval::Evaluator;
using job::JobSpec;
using search::SearchStrategy;

v1::CandidateResult OutcomeToResult(const CandidateOutcome& outcome) {
  if (outcome.result.ok()) return ToProto(*outcome.result);
  v1::CandidateResult result;
  result.mutable_candidate()->set_index(outcome.candidate);
  result.set_outcome(v1::OUTCOME_ERROR);
  result.set_error(std::string(outcome.result.status().message()));
  return result;
}

v1::CandidateResult EvaluateToResult(
    int64_t candidate, const std::function<absl::StatusOr<EvaluationResult>()>& evaluate,
    std::optional<EvaluationResult>* evaluated) {
  CandidateOutcome outcome{candidate, EvaluateSafely(evaluate)};
  v1::CandidateResult result = OutcomeToResult(outcome);
  if (evaluated != nullptr && outcome.result.ok()) *evaluated = *std::move(outcome.result);
  return result;
}

ShardWork WorkOf(const v1::Lease& lease, bool prune) {
  ShardWork work;
  work.candidates.assign(lease.candidates().begin(), lease.candidates().end());
  work.prune = prune;
  for (const v1::FrontPoint& f : lease.front()) {
    work.front.push_back(
        {f.throughput_samples_per_s(), f.area_um2(), f.energy_per_sample_j(), f.tdp_w()});
  }
  return work;
}

Worker::Worker(std::shared_ptr<DispatchClient> client, WorkerOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

Worker::Worker(std::shared_ptr<grpc::Channel> channel, WorkerOptions options)
    : client_(std::make_shared<GrpcDispatchClient>(std::move(channel), options.token)),
      options_(std::move(options)) {}

Worker::~Worker() = default;

absl::StatusOr<std::shared_ptr<Worker::JobContext>> Worker::Context(const std::string& job_id,
                                                                    const v1::JobSpec& wire) {
  MutexLock lock(&mu_);
  auto it = jobs_.find(job_id);
  if (it != jobs_.end()) {
    it->second->last_used = ++uses_;
    return it->second;
  }
  absl::StatusOr<std::unique_ptr<Evaluator>> evaluator;
  bool prune = false;
  try {
    // Workers never parse YAML: the coordinator sends the job it parsed.
    if (!wire.has_job()) {
      return absl::InvalidArgumentError("the lease carries no structured job (an old coordinator)");
    }
    absl::StatusOr<JobSpec> spec = FromProto(wire.job());
    if (!spec.ok()) return spec.status();
    prune = spec->search.strategy == SearchStrategy::kPruned;
    evaluator = Evaluator::Create(*spec);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory: building the job's evaluator needed more than the worker's memory limit");
  }
  if (!evaluator.ok()) return evaluator.status();
  (*evaluator)->SetClock(MonotonicSeconds);
  // Bounded memory: forget the least recently used job (threads still using it keep it alive).
  while (static_cast<int>(jobs_.size()) >= std::max(1, options_.max_cached_jobs)) {
    auto oldest = std::min_element(jobs_.begin(), jobs_.end(), [](const auto& a, const auto& b) {
      return a.second->last_used < b.second->last_used;
    });
    jobs_.erase(oldest);
  }
  auto ctx = std::make_shared<JobContext>();
  ctx->evaluator = *std::move(evaluator);
  ctx->prune = prune;
  ctx->last_used = ++uses_;
  jobs_[job_id] = ctx;
  return ctx;
}

void Worker::Loop(int thread, const std::atomic<bool>& stop) {
  sched::CbcBackend backend;
  const std::string id = absl::StrCat(options_.worker_id, "/", thread);
  while (!stop.load()) {
    const absl::StatusOr<v1::Lease> lease = client_->LeaseShard(id);
    if (!lease.ok() || lease->lease_id().empty()) {
      std::this_thread::sleep_for(std::chrono::duration<double>(options_.idle_poll_s));
      continue;
    }
    const absl::StatusOr<std::shared_ptr<JobContext>> context =
        Context(lease->job_id(), lease->spec());
    // A job this worker cannot parse (a newer coordinator): let the lease expire, so that a
    // worker that can takes it. Out of memory: report it for every candidate.
    if (!context.ok() && !absl::IsResourceExhausted(context.status())) continue;
    std::unique_ptr<ResultStream> stream = client_->ReportResults();
    // The stream is written by this thread (results) and by the heartbeat (renewals), one at a
    // time.
    absl::Mutex stream_mu;
    bool stream_ok = true;
    auto write = [&](const v1::ResultReport& report) {
      MutexLock lock(&stream_mu);
      stream_ok = stream_ok && stream->Write(report);
      return stream_ok;
    };
    // One message per result, or batches where the lease takes them (result_batcher.h).
    ResultBatcher batcher(*lease, options_.batch, write);
    auto send = [&](const CandidateOutcome& outcome, double seconds) {
      if (options_.on_evaluation) {
        options_.on_evaluation(outcome.result.ok() ? &*outcome.result : nullptr, seconds);
      }
      ++evaluated_;
      return batcher.Add(OutcomeToResult(outcome), seconds);
    };
    // The heartbeat thread: a report without a result renews the lease every period while a
    // slow candidate runs, and a batch whose oldest result has waited long enough goes out even
    // while the next candidate is still being evaluated.
    absl::Mutex beat_mu;
    bool shard_done = false;
    std::thread heartbeat([&] {
      const double period_s =
          lease->deadline_s() > 0
              ? std::max(0.01, lease->deadline_s() * options_.heartbeat_fraction)
              : 0.0;  // a lease without a deadline needs no renewal
      const double tick_s = batcher.TickSeconds();
      if (period_s == 0 && tick_s == 0) return;
      const double wait_s = period_s == 0 ? tick_s
                            : tick_s == 0 ? period_s
                                          : std::min(period_s, tick_s);
      v1::ResultReport beat;
      beat.set_lease_id(lease->lease_id());
      beat.set_job_id(lease->job_id());
      double last_beat_s = MonotonicSeconds();
      MutexLock lock(&beat_mu);
      while (!beat_mu.AwaitWithTimeout(absl::Condition(&shard_done), absl::Seconds(wait_s))) {
        beat_mu.Unlock();
        bool ok = batcher.FlushIfDue();
        if (ok && period_s > 0 && MonotonicSeconds() - last_beat_s >= period_s) {
          ok = write(beat);
          last_beat_s = MonotonicSeconds();
        }
        beat_mu.Lock();
        if (!ok) break;
      }
    });
    if (context.ok()) {
      const std::shared_ptr<JobContext>& ctx = *context;
      ShardRunner runner(*ctx->evaluator, backend, &ctx->cache);
      auto started = std::chrono::steady_clock::now();
      runner.Run(WorkOf(*lease, ctx->prune), [&](const CandidateOutcome& outcome) {
        const auto now = std::chrono::steady_clock::now();
        const double seconds = std::chrono::duration<double>(now - started).count();
        started = now;
        return send(outcome, seconds);
      });
    } else {
      for (int64_t candidate : lease->candidates()) {
        if (!send({candidate, context.status()}, 0)) break;
      }
    }
    batcher.Flush();
    {
      MutexLock lock(&beat_mu);
      shard_done = true;
    }
    heartbeat.join();
    stream->Finish().IgnoreError();
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
