#include "coordinator/job_manager.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/base/mutex.h"
#include "common/base/status_macros.h"
#include "common/job/job.h"
#include "common/rpc/checks.h"
#include "common/rpc/convert.h"

namespace phaze {

using eval::EvaluationResult;
using eval::Evaluator;
using eval::PointResult;
using job::JobSpec;
using job::ParseJobYaml;
using report::JobPageHtml;
using search::DesignPoint;
using search::SearchPlan;
using search::SearchState;
using search::SearchStats;
using search::SearchStrategy;
namespace {

// kNotFound naming the job (at most 64 bytes of an untrusted id) for a store's kNotFound; any
// other error as it is.
absl::Status NoJobIfNotFound(const absl::Status& status, const std::string& job_id) {
  if (!absl::IsNotFound(status)) return status;
  return absl::NotFoundError(absl::StrCat("no job '", job_id.substr(0, 64), "'"));
}

v1::DesignPointSummary Summarize(const SearchState& search, const DesignPoint& p) {
  const EvaluationResult& r = search.ResultOf(p);
  const PointResult& point = search.PointOf(p);
  v1::DesignPointSummary s;
  s.set_candidate(p.candidate_index);
  s.set_hbm_bytes(point.hbm_bytes);
  s.set_recompute(ToProto(point.recompute));
  s.set_throughput_samples_per_s(p.throughput_samples_per_s);
  s.set_area_um2(p.area_um2);
  s.set_energy_per_sample_j(p.energy_per_sample_j);
  s.set_tdp_w(p.tdp_w);
  *s.mutable_architecture() = ToProto(r.arch);
  s.set_micro_batch_size(r.micro_batch);
  *s.mutable_strategy() = ToProto(point.search.strategy);
  return s;
}

}  // namespace

JobManager::JobManager(Store* store, ManagerOptions options) : store_(store), options_(options) {}

absl::StatusOr<std::unique_ptr<JobManager::Job>> JobManager::Build(const std::string& id,
                                                                   const std::string& yaml) {
  PHAZE_ASSIGN_OR_RETURN(JobSpec spec, ParseJobYaml(yaml));
  return Build(id, yaml, spec);
}

absl::StatusOr<std::unique_ptr<JobManager::Job>> JobManager::Build(const std::string& id,
                                                                   const std::string& yaml,
                                                                   const JobSpec& spec) {
  auto job = std::make_unique<Job>();
  job->id = id;
  job->yaml = yaml;
  job->spec = spec;
  // Parsed once, here: from now on the job travels structured, with its text beside it.
  job->wire.set_yaml(yaml);
  *job->wire.mutable_job() = ToProto(spec);
  PHAZE_ASSIGN_OR_RETURN(job->evaluator, Evaluator::Create(spec));
  job->plan = std::make_unique<SearchPlan>(*job->evaluator, spec.search);
  job->search = std::make_unique<SearchState>(spec);
  job->planned = job->plan->planned();
  return job;
}

absl::Status JobManager::CheckCaps(const JobSpec& spec) const {
  // O(dimensions), saturating (CandidateSpace::Size): nothing of the space is built before this.
  const int64_t candidates = eval::CandidateSpace(spec).Size();
  if (candidates > options_.max_space_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "architecture.space: ", eval::CandidateCountText(candidates),
        " candidates (architectures x micro-batch sizes) exceed this coordinator's limit of ",
        options_.max_space_size, " (--max-space-size)"));
  }
  const double time_limit_s = spec.solver.time_limit_s;
  if (time_limit_s > options_.max_ilp_time_limit_s) {
    return absl::InvalidArgumentError(absl::StrCat(
        "solver.time_limit_s: ", time_limit_s, " s exceeds this coordinator's limit of ",
        options_.max_ilp_time_limit_s, " s per ILP (--max-ilp-seconds)"));
  }
  return absl::OkStatus();
}

absl::Status JobManager::Recover() {
  PHAZE_ASSIGN_OR_RETURN(std::vector<StoredJob> stored, store_->Jobs());
  MutexLock lock(&mu_);
  for (const StoredJob& s : stored) {
    next_seq_ = std::max(next_seq_, s.created_seq + 1);
    const v1::JobState state = JobStateFromName(s.state);
    if (state != v1::JOB_STATE_RUNNING && !s.summary.empty()) {
      ++finished_by_state_[s.state];  // a finished job stays in the store
      continue;
    }
    // A running job, or a finished one stored before summaries were: rebuilt from its results.
    absl::StatusOr<std::unique_ptr<Job>> built = Build(s.job_id, s.yaml);
    if (!built.ok()) continue;  // a job this version can no longer parse stays in the store
    Job& job = **built;
    job.state = JobStateFromName(s.state);
    job.error = s.error;
    job.seq = s.created_seq;
    PHAZE_RETURN_IF_ERROR(ReplayStoredResultsLocked(job));
    if (job.state == v1::JOB_STATE_RUNNING) {
      RefillLocked(job);
      MaybeFinishLocked(job);
    }
    ReleaseLocked(job);  // a finished job leaves its summary in the store
    jobs_[job.id] = std::move(*built);
  }
  SweepLocked();
  return absl::OkStatus();
}

absl::StatusOr<v1::JobStatus> JobManager::Submit(const std::string& yaml) {
  {
    MutexLock lock(&mu_);
    int64_t running = 0;
    for (const auto& [id, job] : jobs_) running += job->state == v1::JOB_STATE_RUNNING ? 1 : 0;
    if (running >= options_.max_running_jobs) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the coordinator runs ", running, " jobs already (limit ",
                       options_.max_running_jobs, "); retry when one has finished"));
    }
  }
  // Validate everything before anything is stored: a bad job is refused whole. The caps come
  // first, before the job's evaluator and plan are built (they cost time in the space's size).
  PHAZE_ASSIGN_OR_RETURN(JobSpec spec, ParseJobYaml(yaml));
  PHAZE_RETURN_IF_ERROR(CheckCaps(spec));
  absl::StatusOr<std::unique_ptr<Job>> built = Build("", yaml, spec);
  if (!built.ok()) return built.status();
  if ((*built)->planned == 0) {
    return absl::InvalidArgumentError(
        "architecture: no candidate lies in the area window (every architecture of the space is "
        "too large or too small); nothing to evaluate");
  }
  MutexLock lock(&mu_);
  SweepLocked();
  Job& job = **built;
  job.seq = next_seq_++;
  job.id = absl::StrFormat("job-%06d", job.seq);
  PHAZE_RETURN_IF_ERROR(store_->PutJob({job.id, yaml, JobStateName(job.state), "", job.seq, ""}));
  RefillLocked(job);
  MaybeFinishLocked(job);
  const std::string id = job.id;
  jobs_[id] = std::move(*built);
  Touch(*jobs_[id]);
  return StatusLocked(*jobs_[id]);
}

absl::StatusOr<std::string> JobManager::JobPage(const std::string& job_id) {
  MutexLock lock(&mu_);
  PHAZE_ASSIGN_OR_RETURN(const Job* whole, WholeLocked(job_id));
  PHAZE_ASSIGN_OR_RETURN(const v1::JobStatus status, StatusOfLocked(job_id));
  return JobPageHtml(whole->spec, *whole->search, ToPageInfo(status));
}

absl::StatusOr<v1::JobStatus> JobManager::Get(const std::string& job_id) {
  MutexLock lock(&mu_);
  PHAZE_ASSIGN_OR_RETURN(v1::JobStatus status, StatusOfLocked(job_id));
  if (!status.has_spec()) {  // a finished job: its body, from the store
    PHAZE_ASSIGN_OR_RETURN(const StoredJob stored, store_->Job(job_id));
    status.mutable_spec()->set_yaml(stored.yaml);
    absl::StatusOr<JobSpec> spec = ParseJobYaml(stored.yaml);
    if (spec.ok()) *status.mutable_spec()->mutable_job() = ToProto(*spec);
  }
  return status;
}

std::string JobManager::FindByText(const std::string& yaml) {
  absl::StatusOr<std::string> id = store_->FindJobByText(yaml);
  return id.ok() ? *id : std::string();
}

std::vector<v1::JobStatus> JobManager::List() {
  absl::StatusOr<std::vector<StoredJob>> stored = store_->Jobs();
  MutexLock lock(&mu_);
  std::vector<v1::JobStatus> out;
  if (!stored.ok()) return out;
  for (const StoredJob& row : *stored) {
    absl::StatusOr<v1::JobStatus> s = StatusOfRowLocked(row);
    if (s.ok()) out.push_back(*std::move(s));
  }
  return out;
}

absl::StatusOr<v1::JobStatus> JobManager::StatusOfRowLocked(const StoredJob& row) {
  auto it = jobs_.find(row.job_id);
  if (it != jobs_.end()) return StatusLocked(*it->second);
  v1::JobStatus status;
  if (row.summary.empty() || !status.ParseFromString(row.summary)) {
    // Stored without a summary (a job this version cannot rebuild): what the row says.
    status.Clear();
    status.set_job_id(row.job_id);
    status.set_state(JobStateFromName(row.state));
    status.set_error(row.error);
  }
  return status;
}

absl::StatusOr<v1::JobStatus> JobManager::StatusOfLocked(const std::string& job_id) {
  auto it = jobs_.find(job_id);
  if (it != jobs_.end()) return StatusLocked(*it->second);
  absl::StatusOr<StoredJob> stored = store_->Job(job_id);
  if (!stored.ok()) return NoJobIfNotFound(stored.status(), job_id);
  return StatusOfRowLocked(*stored);
}

void JobManager::SweepLocked() {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    it = it->second->released ? jobs_.erase(it) : std::next(it);
  }
}

namespace {

// A page size: 0 means `fallback`, more than `most` is `most`, negative is an error.
absl::StatusOr<int32_t> PageSize(int32_t requested, int32_t fallback, int32_t most) {
  if (requested < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  return requested == 0 ? fallback : std::min(requested, most);
}

// A results page token: the decimal candidate index a previous page ended before. Strict: digits
// only (no sign, no spaces), as the coordinator writes them.
absl::StatusOr<int64_t> ResultsPageStart(const std::string& token) {
  if (token.empty()) return 0;
  int64_t start = 0;
  if (token.size() > 19 || token.find_first_not_of("0123456789") != std::string::npos ||
      !absl::SimpleAtoi(token, &start)) {
    return absl::InvalidArgumentError("page_token: not a token from a previous response");
  }
  return start;
}

}  // namespace

absl::StatusOr<v1::ListJobsResponse> JobManager::ListPage(const v1::ListJobsRequest& request) {
  PHAZE_ASSIGN_OR_RETURN(const int32_t size, PageSize(request.page_size(), 100, 1000));
  absl::StatusOr<std::vector<StoredJob>> rows = store_->JobsFrom(request.page_token(), size + 1);
  if (absl::IsNotFound(rows.status())) {
    return absl::InvalidArgumentError("page_token: not a token from a previous response");
  }
  if (!rows.ok()) return rows.status();
  MutexLock lock(&mu_);
  v1::ListJobsResponse out;
  for (size_t i = 0; i < rows->size(); ++i) {
    if (static_cast<int32_t>(i) == size) {
      out.set_next_page_token((*rows)[i].job_id);  // the first job of the next page
      break;
    }
    PHAZE_ASSIGN_OR_RETURN(v1::JobStatus s, StatusOfRowLocked((*rows)[i]));
    s.clear_spec();
    *out.add_jobs() = std::move(s);
  }
  return out;
}

absl::StatusOr<v1::JobStatus> JobManager::Cancel(const std::string& job_id) {
  MutexLock lock(&mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return StatusOfLocked(job_id);  // finished: nothing to cancel
  Job& job = *it->second;
  if (job.state == v1::JOB_STATE_RUNNING) {
    job.state = v1::JOB_STATE_CANCELLED;
    PHAZE_RETURN_IF_ERROR(store_->SetJobState(job.id, JobStateName(job.state), ""));
    Touch(job);
    ReleaseLocked(job);
  }
  return StatusLocked(job);
}

absl::StatusOr<v1::JobStatus> JobManager::Wait(const std::string& job_id, int64_t* version,
                                               double timeout_s) {
  MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + absl::Seconds(timeout_s);
  bool timed_out = false;
  while (true) {
    // Looked up afresh after every wait: a sweep may have erased the job meanwhile.
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) {
      // Finished (its status no longer changes) or unknown.
      PHAZE_ASSIGN_OR_RETURN(v1::JobStatus status, StatusOfLocked(job_id));
      if (*version == -2) {
        if (WaitWithDeadline(&changed_, &mu_, deadline)) return status;
        continue;
      }
      *version = -2;
      return status;
    }
    if (it->second->version != *version) {
      *version = it->second->version;
      return StatusLocked(*it->second);
    }
    if (timed_out) return StatusLocked(*it->second);
    timed_out = WaitWithDeadline(&changed_, &mu_, deadline);
  }
}

absl::StatusOr<v1::ListResultsResponse> JobManager::Results(const v1::ListResultsRequest& req) {
  MutexLock lock(&mu_);
  PHAZE_ASSIGN_OR_RETURN(const Job* whole, WholeLocked(req.job_id()));
  const Job& job = *whole;
  v1::ListResultsResponse out;
  if (req.front_only()) {
    for (const DesignPoint& p : job.search->front().Points()) {
      *out.add_front() = Summarize(*job.search, p);
    }
    return out;
  }
  PHAZE_ASSIGN_OR_RETURN(const int64_t start, ResultsPageStart(req.page_token()));
  PHAZE_ASSIGN_OR_RETURN(const int32_t size, PageSize(req.page_size(), 100, 1000));
  const auto& results = job.search->results();
  auto r = results.lower_bound(start);
  for (int32_t n = 0; r != results.end() && n < size; ++r, ++n)
    *out.add_results() = ToProto(r->second);
  if (r != results.end()) out.set_next_page_token(absl::StrCat(r->first));
  return out;
}

void JobManager::RefillLocked(Job& job) {
  bool all_done = true;
  for (const Shard& s : job.shards) {
    if (s.state == Shard::State::kPending) return;
    all_done = all_done && s.state == Shard::State::kDone;
  }
  for (;;) {
    Shard shard;
    const size_t size = static_cast<size_t>(ShardSizeLocked(job));
    while (job.uncut_next < job.uncut.size() && shard.candidates.size() < size) {
      const int64_t c = job.uncut[job.uncut_next++];
      if (!job.done.count(c)) shard.candidates.push_back(c);
    }
    if (!shard.candidates.empty()) {
      job.shards.push_back(std::move(shard));
      return;
    }
    if (!all_done) return;
    job.uncut = job.plan->NextBatch();
    job.uncut_next = 0;
    if (job.uncut.empty()) return;
  }
}

int64_t JobManager::ShardSizeLocked(const Job& job) const {
  const int64_t smallest = std::max<int64_t>(1, options_.shard_size);
  const SearchStats& stats = job.search->stats();
  const int64_t timed = stats.evaluated + stats.pruned;
  const double total_s = stats.phases.Total();
  if (!(options_.shard_seconds > 0) || timed < smallest || !(total_s > 0)) return smallest;
  const double size = options_.shard_seconds / (total_s / static_cast<double>(timed));
  // Half the uncut rest over the threads asking for work: all of them busy, and a short tail.
  const int64_t threads = std::max<int64_t>(1, static_cast<int64_t>(lessee_seen_.size()));
  const int64_t rest = static_cast<int64_t>(job.uncut.size() - job.uncut_next);
  const int64_t largest =
      std::max(smallest, std::min(options_.max_shard_size, rest / (2 * threads)));
  return size >= static_cast<double>(largest)
             ? largest
             : std::max(smallest, static_cast<int64_t>(std::llround(size)));
}

void JobManager::MaybeFinishLocked(Job& job) {
  if (job.state != v1::JOB_STATE_RUNNING) return;
  RefillLocked(job);
  for (const Shard& s : job.shards) {
    if (s.state != Shard::State::kDone) return;
  }
  job.state = v1::JOB_STATE_SUCCEEDED;
  store_->SetJobState(job.id, JobStateName(job.state), "").IgnoreError();
  Touch(job);
  ReleaseLocked(job);
}

void JobManager::ReleaseLocked(Job& job) {
  if (job.released || job.state == v1::JOB_STATE_RUNNING) return;
  // The summary goes to the store; the job leaves memory at the next sweep.
  v1::JobStatus summary = StatusLocked(job);
  summary.clear_spec();
  store_->SetJobSummary(job.id, summary.SerializeAsString()).IgnoreError();
  const SearchStats& stats = job.search->stats();
  finished_stats_.feasible += stats.feasible;
  finished_stats_.infeasible += stats.infeasible;
  finished_stats_.pruned += stats.pruned;
  finished_stats_.errors += stats.errors;
  finished_leases_expired_ += job.leases_expired;
  ++finished_by_state_[JobStateName(job.state)];
  for (auto it = leases_.begin(); it != leases_.end();) {
    it = it->second.first == job.id ? leases_.erase(it) : std::next(it);
  }
  job.summary = std::move(summary);
  job.evaluator.reset();
  job.plan.reset();
  job.search.reset();
  std::set<int64_t>().swap(job.done);
  std::vector<Shard>().swap(job.shards);
  std::vector<int64_t>().swap(job.uncut);
  job.wire = v1::JobSpec();
  std::string().swap(job.yaml);
  job.released = true;
}

absl::StatusOr<const JobManager::Job*> JobManager::WholeLocked(const std::string& job_id) {
  auto running = jobs_.find(job_id);
  if (running != jobs_.end() && !running->second->released) return running->second.get();
  for (auto it = hydrated_.begin(); it != hydrated_.end(); ++it) {
    if ((*it)->id == job_id) {
      hydrated_.splice(hydrated_.begin(), hydrated_, it);
      return hydrated_.front().get();
    }
  }
  absl::StatusOr<StoredJob> stored = store_->Job(job_id);
  if (!stored.ok()) return NoJobIfNotFound(stored.status(), job_id);
  PHAZE_ASSIGN_OR_RETURN(std::unique_ptr<Job> whole, Build(job_id, stored->yaml));
  PHAZE_RETURN_IF_ERROR(ReplayStoredResultsLocked(*whole));
  whole->state = JobStateFromName(stored->state);
  whole->error = stored->error;
  hydrated_.push_front(std::move(whole));
  if (hydrated_.size() > kHydrated) hydrated_.pop_back();
  return hydrated_.front().get();
}

absl::Status JobManager::ReplayStoredResultsLocked(Job& job) {
  PHAZE_ASSIGN_OR_RETURN(std::vector<StoredResult> results, store_->Results(job.id));
  for (const StoredResult& r : results) {
    v1::CandidateResult proto;
    if (proto.ParseFromString(r.data)) AddResultLocked(job, proto);
  }
  return absl::OkStatus();
}

void JobManager::Touch(Job& job) {
  ++job.version;
  changed_.SignalAll();
}

void JobManager::AddResultLocked(Job& job, const v1::CandidateResult& proto) {
  const EvaluationResult r = FromProto(proto);
  if (!job.done.insert(r.candidate_index).second) return;
  if (proto.outcome() == v1::OUTCOME_ERROR) {
    job.search->AddError(r.candidate_index, proto.error());
  } else if (r.pruned) {
    job.search->AddPruned(r.candidate_index, r.phases, r.ilp);
  } else if (r.valid) {
    job.search->Add(r);
    job.plan->Tell(r);
  }
  Touch(job);
}

v1::Lease JobManager::Lease(const std::string& worker_id, double now_s) {
  MutexLock lock(&mu_);
  SweepLocked();
  v1::Lease lease;
  // The worker id carries a "/thread" suffix; a process is one worker.
  worker_seen_[worker_id.substr(0, worker_id.rfind('/'))] = now_s;
  lessee_seen_[worker_id] = now_s;
  for (auto it = lessee_seen_.begin(); it != lessee_seen_.end();) {
    it = it->second < now_s - options_.lease_s ? lessee_seen_.erase(it) : std::next(it);
  }
  // Expire overdue leases first: their shards go back to the pool.
  for (auto it = leases_.begin(); it != leases_.end();) {
    Job& job = *jobs_.at(it->second.first);
    Shard& shard = job.shards[it->second.second];
    if (shard.state == Shard::State::kLeased && shard.deadline_s < now_s) {
      shard.state = Shard::State::kPending;
      shard.lease_id.clear();
      ++job.leases_expired;
      it = leases_.erase(it);
      Touch(job);
    } else {
      ++it;
    }
  }
  std::vector<Job*> running;
  for (auto& [id, job] : jobs_) {
    if (job->state == v1::JOB_STATE_RUNNING) running.push_back(job.get());
  }
  // Round robin over running jobs, so that several jobs share the workers.
  for (size_t k = 0; k < running.size(); ++k) {
    Job& job = *running[(round_robin_ + k) % running.size()];
    RefillLocked(job);
    for (size_t s = 0; s < job.shards.size(); ++s) {
      Shard& shard = job.shards[s];
      if (shard.state != Shard::State::kPending) continue;
      shard.state = Shard::State::kLeased;
      // Unguessable: the id is the capability to report results for this shard.
      shard.lease_id =
          absl::StrFormat("lease-%d-%016x%016x", next_lease_++, lease_secret_(), lease_secret_());
      shard.deadline_s = now_s + options_.lease_s;
      leases_[shard.lease_id] = {job.id, s};
      lease.set_lease_id(shard.lease_id);
      lease.set_job_id(job.id);
      *lease.mutable_spec() = job.wire;
      for (int64_t c : shard.candidates) lease.add_candidates(c);
      lease.set_deadline_s(options_.lease_s);
      lease.set_takes_batches(true);
      if (job.spec.search.strategy == SearchStrategy::kPruned) {
        for (const DesignPoint& p : job.search->front().Points()) {
          v1::FrontPoint* f = lease.add_front();
          f->set_throughput_samples_per_s(p.throughput_samples_per_s);
          f->set_area_um2(p.area_um2);
          f->set_energy_per_sample_j(p.energy_per_sample_j);
          f->set_tdp_w(p.tdp_w);
        }
      }
      round_robin_ = (round_robin_ + k + 1) % std::max<size_t>(1, running.size());
      ++leases_granted_;
      Touch(job);
      return lease;
    }
  }
  return lease;
}

absl::StatusOr<int64_t> JobManager::Report(const v1::ResultReport& report, double now_s) {
  MutexLock lock(&mu_);
  const std::string& lease_id = report.lease_id();
  auto lease = leases_.find(lease_id);
  if (lease == leases_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("lease '", lease_id.substr(0, 64),
                     "' is not live (unknown, expired or completed); nothing was stored"));
  }
  Job& job = *jobs_.at(lease->second.first);
  Shard& shard = job.shards[lease->second.second];
  if (report.job_id() != job.id) {
    return absl::PermissionDeniedError(absl::StrCat("lease '", lease_id, "' is for job '", job.id,
                                                    "', not '", report.job_id().substr(0, 64),
                                                    "'; nothing was stored"));
  }
  if (shard.state != Shard::State::kLeased || shard.lease_id != lease_id ||
      shard.deadline_s < now_s) {
    return absl::FailedPreconditionError(
        absl::StrCat("lease '", lease_id, "' has expired; nothing was stored"));
  }
  if (!report.has_result()) {  // a heartbeat
    shard.deadline_s = now_s + options_.lease_s;
    return 0;
  }
  // Every result of the message is checked before any is stored: it lands or is refused whole.
  std::vector<v1::CandidateResult> results;
  results.reserve(1 + static_cast<size_t>(report.more_results_size()));
  results.push_back(report.result());
  results.insert(results.end(), report.more_results().begin(), report.more_results().end());
  std::vector<StoredResult> rows;
  std::set<int64_t> in_message;
  for (v1::CandidateResult& result : results) {
    const int64_t c = result.candidate().index();
    if (std::find(shard.candidates.begin(), shard.candidates.end(), c) == shard.candidates.end()) {
      return absl::PermissionDeniedError(
          absl::StrCat("candidate ", c, " is not in lease '", lease_id, "'; nothing was stored"));
    }
    PHAZE_RETURN_IF_ERROR(CheckAndSanitizeWorkerResult(
        *job.evaluator, job.spec.search.strategy == SearchStrategy::kPruned, &result));
    if (job.state != v1::JOB_STATE_CANCELLED && !job.done.count(c) && in_message.insert(c).second) {
      rows.push_back({c, result.SerializeAsString()});
    }
  }
  shard.deadline_s = now_s + options_.lease_s;
  if (rows.empty()) return 0;
  PHAZE_ASSIGN_OR_RETURN(int64_t added, store_->PutResults(job.id, rows));
  results_persisted_ += added;
  for (const v1::CandidateResult& result : results) {
    if (in_message.erase(result.candidate().index()) > 0) AddResultLocked(job, result);
  }
  return static_cast<int64_t>(rows.size());
}

void JobManager::Complete(const std::string& lease_id) {
  MutexLock lock(&mu_);
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return;
  Job& job = *jobs_.at(it->second.first);
  Shard& shard = job.shards[it->second.second];
  leases_.erase(it);
  if (shard.lease_id != lease_id) return;
  shard.state = AllDone(job, shard) ? Shard::State::kDone : Shard::State::kPending;
  shard.lease_id.clear();
  // Shards other workers finished before their lease was noticed as expired are done too.
  for (Shard& s : job.shards) {
    if (s.state == Shard::State::kPending && AllDone(job, s)) s.state = Shard::State::kDone;
  }
  MaybeFinishLocked(job);
  Touch(job);
}

ManagerTotals JobManager::Totals(double now_s, double window_s) const {
  MutexLock lock(&mu_);
  ManagerTotals t;
  t.leases_granted = leases_granted_;
  t.results_persisted = results_persisted_;
  t.feasible = finished_stats_.feasible;
  t.infeasible = finished_stats_.infeasible;
  t.pruned = finished_stats_.pruned;
  t.failed = finished_stats_.errors;
  t.leases_expired = finished_leases_expired_;
  t.jobs_by_state = finished_by_state_;
  for (const auto& [id, job] : jobs_) {
    if (job->released) continue;  // counted above
    const SearchStats& s = job->search->stats();
    t.leases_expired += job->leases_expired;
    t.feasible += s.feasible;
    t.infeasible += s.infeasible;
    t.pruned += s.pruned;
    t.failed += s.errors;
    ++t.jobs_by_state[JobStateName(job->state)];
    if (job->state == v1::JOB_STATE_RUNNING) {
      t.pending_candidates += job->planned - static_cast<int64_t>(job->done.size());
      if (job->search->best().Get().has_value()) {
        t.best_throughput.emplace_back(job->id,
                                       job->search->best().Get()->throughput_samples_per_s);
      }
    }
  }
  for (const auto& [worker, seen] : worker_seen_) {
    if (seen >= now_s - window_s) ++t.connected_workers;
  }
  return t;
}

bool JobManager::AllDone(const Job& job, const Shard& shard) {
  for (int64_t c : shard.candidates) {
    if (!job.done.count(c)) return false;
  }
  return true;
}

int64_t JobManager::leases_expired() const {
  MutexLock lock(&mu_);
  int64_t n = finished_leases_expired_;
  for (const auto& [id, job] : jobs_) n += job->released ? 0 : job->leases_expired;
  return n;
}

int64_t JobManager::results_persisted() const {
  MutexLock lock(&mu_);
  return results_persisted_;
}

v1::JobStatus JobManager::StatusLocked(const Job& job) const {
  if (job.released) return job.summary;
  v1::JobStatus s;
  s.set_job_id(job.id);
  s.set_name(job.spec.name);
  s.set_state(job.state);
  s.set_candidates_total(job.planned);
  s.set_candidates_done(static_cast<int64_t>(job.done.size()));
  s.set_candidates_pruned(job.search->stats().pruned);
  s.set_shards_total(static_cast<int64_t>(job.shards.size()));
  int64_t done = 0;
  for (const Shard& sh : job.shards) done += sh.state == Shard::State::kDone ? 1 : 0;
  s.set_shards_done(done);
  s.set_leases_expired(job.leases_expired);
  s.set_front_size(static_cast<int64_t>(job.search->front().size()));
  s.set_error(job.error);
  *s.mutable_spec() = job.wire;
  s.set_candidates_failed(job.search->stats().errors);
  *s.mutable_ilp() = ToProto(job.search->stats().ilp);
  *s.mutable_phases() = ToProto(job.search->stats().phases);
  if (job.search->best().Get().has_value()) {
    *s.mutable_best() = Summarize(*job.search, *job.search->best().Get());
  }
  return s;
}

}  // namespace phaze
