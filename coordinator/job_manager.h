// The coordinator's logic, apart from any RPC: jobs, shards, leases, idempotent results,
// incremental aggregation and persistence. The gRPC services (service.h) only translate.
//
// A job's plan (common/search/search.h) yields batches of candidates; a batch is cut into shards
// as workers ask for them, each of about `shard_seconds` of evaluation at the job's mean time per
// candidate so far (between `shard_size` and `max_shard_size` candidates; `shard_size` each when
// shard_seconds is 0 or nothing is timed yet), and at most half the uncut rest over the threads
// that asked for work within a lease period, so that every thread gets some and the job's last
// shards are small. A worker's lease on a shard has a deadline; an expired lease (a dead,
// frozen or partitioned worker) returns the shard to the pending pool. Results are written to the
// store first, then aggregated; both are idempotent by (job, candidate), so a retried shard never
// counts twice and the front is the same whatever the arrival order. Time is passed in (now_s), so
// the logic is testable without a clock.
//
// Thread-safe.
#ifndef PHAZE_COORDINATOR_JOB_MANAGER_H_
#define PHAZE_COORDINATOR_JOB_MANAGER_H_

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/job/job.h"
#include "common/search/search.h"
#include "coordinator/store.h"
#include "phaze/v1/service.pb.h"

namespace phaze {

struct ManagerOptions {
  // Candidates per shard: at least shard_size, at most max_shard_size, about shard_seconds of
  // evaluation each. Fast candidates (most of a pruned search: a bound and no placement) in
  // shards of 8 spent more time in leases, streams and commits than in evaluation.
  int64_t shard_size = 8;
  int64_t max_shard_size = 1024;
  double shard_seconds = 1.0;
  double lease_s = 120;  // a worker must finish or renew a shard within this
  int64_t max_running_jobs = 64;
  // Caps on what one submitted job may ask for, whatever its own `limits:` say: candidates
  // (architectures x micro-batch sizes) and the wall-clock limit of one scheduling ILP.
  int64_t max_space_size = 10'000'000;
  double max_ilp_time_limit_s = 300;
};

// Totals for metrics (monotonic counts and current levels).
struct ManagerTotals {
  int64_t leases_granted = 0;
  int64_t leases_expired = 0;
  int64_t results_persisted = 0;
  int64_t feasible = 0;
  int64_t infeasible = 0;
  int64_t pruned = 0;
  int64_t failed = 0;
  int64_t pending_candidates = 0;  // planned but not yet done, over running jobs
  int64_t connected_workers = 0;   // distinct workers that asked for work recently
  std::map<std::string, int64_t> jobs_by_state;
  std::vector<std::pair<std::string, double>> best_throughput;  // running jobs with a best point
};

class JobManager {
 public:
  JobManager(Store* store, ManagerOptions options);

  // Reloads every job and result from the store; unfinished jobs resume where they stopped.
  absl::Status Recover();

  // Validates the job whole (kInvalidArgument naming the field) before anything is stored.
  absl::StatusOr<v1::JobStatus> Submit(const std::string& yaml);
  absl::StatusOr<v1::JobStatus> Get(const std::string& job_id);
  // Every job's status; finished jobs without their body.
  std::vector<v1::JobStatus> List();
  // The id of a job submitted with exactly this text, or "" (the embedded `phaze run` resumes
  // its job this way).
  std::string FindByText(const std::string& yaml);
  // One page of jobs in id order, without bodies; kInvalidArgument for a bad token or size.
  absl::StatusOr<v1::ListJobsResponse> ListPage(const v1::ListJobsRequest& request);
  absl::StatusOr<v1::JobStatus> Cancel(const std::string& job_id);
  // Blocks until the job's status changes from `version` or `timeout_s` passes; returns the new
  // version in *version.
  absl::StatusOr<v1::JobStatus> Wait(const std::string& job_id, int64_t* version, double timeout_s);
  absl::StatusOr<v1::ListResultsResponse> Results(const v1::ListResultsRequest& request);
  // The job's HTML page (common/report/report.h JobPageHtml). kNotFound for an unknown job.
  absl::StatusOr<std::string> JobPage(const std::string& job_id);

  // Dispatch. An empty lease_id means no work now.
  v1::Lease Lease(const std::string& worker_id, double now_s);
  // Accepts one report on a live lease: a result for one of the lease's candidates (returns 1 if
  // new, 0 for a duplicate) or, without a result, a heartbeat (returns 0). Either renews the
  // lease until now_s + lease_s. Refused, with nothing changed: a lease that is unknown, expired
  // or completed (kFailedPrecondition), a lease of another job or a candidate outside the lease
  // (kPermissionDenied), a result that fails CheckAndSanitizeWorkerResult (kInvalidArgument).
  // The lease id is the capability: it is random, and only the worker it was granted to has it.
  absl::StatusOr<int64_t> Report(const v1::ResultReport& report, double now_s);
  // The worker closed its stream: the shard is done if all its candidates have results.
  void Complete(const std::string& lease_id);

  // Totals for metrics; a worker counts as connected if it asked for work within `window_s`.
  ManagerTotals Totals(double now_s, double window_s) const;

  // Statistics for the service and tests.
  int64_t leases_expired() const;
  int64_t results_persisted() const;

 private:
  struct Shard {
    std::vector<int64_t> candidates;
    enum class State { kPending, kLeased, kDone } state = State::kPending;
    std::string lease_id;
    double deadline_s = 0;
  };
  struct Job {
    std::string id;
    std::string yaml;
    job::JobSpec spec;
    v1::JobSpec wire;  // the text and the structured job, as leases and statuses carry them
    v1::JobState state = v1::JOB_STATE_RUNNING;
    std::string error;
    int64_t seq = 0;
    std::unique_ptr<eval::Evaluator> evaluator;
    std::unique_ptr<search::SearchPlan> plan;
    std::unique_ptr<search::SearchState> search;
    std::set<int64_t> done;      // candidates with a result (evaluated or pruned)
    std::vector<Shard> shards;   // cut so far
    std::vector<int64_t> uncut;  // the plan's current batch, cut into shards up to uncut_next
    size_t uncut_next = 0;
    int64_t planned = 0;
    int64_t leases_expired = 0;
    int64_t version = 0;
    // A finished job's summary (its last status without the body) goes to the store and the job
    // leaves memory at the next sweep; meanwhile it keeps only the summary. A call that needs
    // the whole job rebuilds it from the store (WholeLocked).
    bool released = false;
    v1::JobStatus summary;
  };

  v1::JobStatus StatusLocked(const Job& job) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A finished job: its summary to the store, its counts to the totals, its leases ended, and
  // everything else freed (see Job::released).
  void ReleaseLocked(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes released jobs from memory (at the start of calls that hold no Job reference).
  void SweepLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The job whole: itself while it runs, else rebuilt from the store (the last few are kept).
  absl::StatusOr<const Job*> WholeLocked(const std::string& job_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A job's status: from memory while it runs, else its stored summary. kNotFound if unknown.
  absl::StatusOr<v1::JobStatus> StatusOfLocked(const std::string& job_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<v1::JobStatus> StatusOfRowLocked(const StoredJob& row)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Cuts a shard when none is pending: from the current batch, or once every shard is done from
  // the plan's next batch (the area-buckets stop rule reads a whole bucket's results).
  void RefillLocked(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Candidates in the next shard of `job` (see ManagerOptions).
  int64_t ShardSizeLocked(const Job& job) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeFinishLocked(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The job of `yaml` (parsed here, or already parsed as `spec`) with its evaluator and plan.
  absl::StatusOr<std::unique_ptr<Job>> Build(const std::string& id, const std::string& yaml);
  absl::StatusOr<std::unique_ptr<Job>> Build(const std::string& id, const std::string& yaml,
                                             const job::JobSpec& spec);
  // Adds every result the store holds for `job` (a restart, or a finished job rebuilt).
  absl::Status ReplayStoredResultsLocked(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckCaps(const job::JobSpec& spec) const;
  void AddResultLocked(Job& job, const v1::CandidateResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Touch(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether every candidate of `shard` has a result.
  static bool AllDone(const Job& job, const Shard& shard);

  Store* store_;
  ManagerOptions options_;
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  // Running jobs (and finished ones until the next sweep); finished jobs live in the store.
  std::map<std::string, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::pair<std::string, size_t>> leases_ ABSL_GUARDED_BY(mu_);
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t next_lease_ ABSL_GUARDED_BY(mu_) = 1;
  std::mt19937_64 lease_secret_ ABSL_GUARDED_BY(mu_){std::random_device{}()};
  size_t round_robin_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t results_persisted_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t leases_granted_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, double> worker_seen_ ABSL_GUARDED_BY(mu_);
  // Each leasing thread (worker id with its "/thread") and when it last asked, for shard sizes.
  std::map<std::string, double> lessee_seen_ ABSL_GUARDED_BY(mu_);
  // Finished jobs rebuilt from the store, most recently used first (at most kHydrated).
  static constexpr size_t kHydrated = 4;
  std::list<std::unique_ptr<Job>> hydrated_ ABSL_GUARDED_BY(mu_);
  // What finished jobs add to the totals (they are no longer in jobs_).
  search::SearchStats finished_stats_ ABSL_GUARDED_BY(mu_);
  int64_t finished_leases_expired_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int64_t> finished_by_state_ ABSL_GUARDED_BY(mu_);
};

}  // namespace phaze

#endif  // PHAZE_COORDINATOR_JOB_MANAGER_H_
