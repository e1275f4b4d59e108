#include "common/rpc/convert.h"

#include <string>

namespace phaze {
namespace {

v1::Placement ToProto(const place::Placement& p) {
  v1::Placement out;
  out.set_feasible(p.feasible);
  out.mutable_strategy()->set_pipeline(p.strategy.pipeline);
  out.mutable_strategy()->set_data(p.strategy.data);
  out.mutable_strategy()->set_tensor(p.strategy.tensor);
  for (int64_t n : p.stage_layers) out.add_stage_layers(n);
  out.set_micro_batches(p.micro_batches);
  out.set_bottleneck_s(p.bottleneck_s);
  out.set_sync_s(p.sync_s);
  out.set_time_per_batch_s(p.time_per_batch_s);
  out.set_throughput_samples_per_s(p.throughput_samples_per_s);
  out.set_bubble_fraction(p.bubble_fraction);
  out.set_memory_per_device_bytes(p.memory_per_device_bytes);
  out.set_energy_per_sample_j(p.energy_per_sample_j);
  return out;
}

place::Placement FromProto(const v1::Placement& p) {
  place::Placement out;
  out.feasible = p.feasible();
  out.strategy = {p.strategy().pipeline(), p.strategy().data(), p.strategy().tensor()};
  out.stage_layers.assign(p.stage_layers().begin(), p.stage_layers().end());
  out.micro_batches = p.micro_batches();
  out.bottleneck_s = p.bottleneck_s();
  out.sync_s = p.sync_s();
  out.time_per_batch_s = p.time_per_batch_s();
  out.throughput_samples_per_s = p.throughput_samples_per_s();
  out.bubble_fraction = p.bubble_fraction();
  out.memory_per_device_bytes = p.memory_per_device_bytes();
  out.energy_per_sample_j = p.energy_per_sample_j();
  return out;
}

v1::SolveStatus ToProto(sched::SolveStatus s) {
  switch (s) {
    case sched::SolveStatus::kOptimal: return v1::SOLVE_STATUS_OPTIMAL;
    case sched::SolveStatus::kFeasible: return v1::SOLVE_STATUS_FEASIBLE;
    case sched::SolveStatus::kInfeasible: return v1::SOLVE_STATUS_INFEASIBLE;
    case sched::SolveStatus::kNoSolution: return v1::SOLVE_STATUS_NO_SOLUTION;
  }
  return v1::SOLVE_STATUS_UNSPECIFIED;
}

sched::SolveStatus FromProto(v1::SolveStatus s) {
  switch (s) {
    case v1::SOLVE_STATUS_FEASIBLE: return sched::SolveStatus::kFeasible;
    case v1::SOLVE_STATUS_INFEASIBLE: return sched::SolveStatus::kInfeasible;
    case v1::SOLVE_STATUS_NO_SOLUTION: return sched::SolveStatus::kNoSolution;
    default: return sched::SolveStatus::kOptimal;
  }
}

}  // namespace

const char* JobStateName(v1::JobState s) {
  switch (s) {
    case v1::JOB_STATE_RUNNING: return "running";
    case v1::JOB_STATE_SUCCEEDED: return "succeeded";
    case v1::JOB_STATE_CANCELLED: return "cancelled";
    case v1::JOB_STATE_FAILED: return "failed";
    default: return "unspecified";
  }
}

v1::JobState JobStateFromName(const std::string& s) {
  if (s == "running") return v1::JOB_STATE_RUNNING;
  if (s == "succeeded") return v1::JOB_STATE_SUCCEEDED;
  if (s == "cancelled") return v1::JOB_STATE_CANCELLED;
  if (s == "failed") return v1::JOB_STATE_FAILED;
  return v1::JOB_STATE_UNSPECIFIED;
}

v1::Architecture ToProto(const Architecture& a) {
  v1::Architecture p;
  p.set_name(a.name);
  p.set_num_tc(a.num_tc);
  p.set_tc_width(a.tc_width);
  p.set_tc_depth(a.tc_depth);
  p.set_num_vc(a.num_vc);
  p.set_vc_width(a.vc_width);
  p.set_glb_bytes(a.glb_bytes);
  p.set_clock_hz(a.clock_hz);
  p.set_hbm_bandwidth_bytes_per_s(a.hbm_bandwidth_bytes_per_s);
  p.set_glb_bandwidth_bytes_per_s(a.glb_bandwidth_bytes_per_s);
  p.set_link_bandwidth_bytes_per_s(a.link_bandwidth_bytes_per_s);
  p.set_link_latency_s(a.link_latency_s);
  return p;
}

JobPageInfo ToPageInfo(const v1::JobStatus& s) {
  JobPageInfo info;
  info.job_id = s.job_id();
  info.state = JobStateName(s.state());
  info.candidates_done = s.candidates_done();
  info.candidates_total = s.candidates_total();
  info.candidates_pruned = s.candidates_pruned();
  info.candidates_failed = s.candidates_failed();
  info.leases_expired = s.leases_expired();
  info.error = s.error();
  return info;
}

Architecture FromProto(const v1::Architecture& p) {
  Architecture a;
  a.name = p.name();
  a.num_tc = p.num_tc();
  a.tc_width = p.tc_width();
  a.tc_depth = p.tc_depth();
  a.num_vc = p.num_vc();
  a.vc_width = p.vc_width();
  a.glb_bytes = p.glb_bytes();
  a.clock_hz = p.clock_hz();
  a.hbm_bandwidth_bytes_per_s = p.hbm_bandwidth_bytes_per_s();
  a.glb_bandwidth_bytes_per_s = p.glb_bandwidth_bytes_per_s();
  a.link_bandwidth_bytes_per_s = p.link_bandwidth_bytes_per_s();
  a.link_latency_s = p.link_latency_s();
  return a;
}

v1::CandidateResult ToProto(const EvaluationResult& r) {
  v1::CandidateResult p;
  p.mutable_candidate()->set_index(r.candidate_index);
  p.mutable_candidate()->set_arch_index(r.arch_index);
  p.mutable_candidate()->set_micro_batch_size(r.micro_batch);
  *p.mutable_architecture() = ToProto(r.arch);
  p.set_area_um2(r.area_um2);
  if (!r.valid) {
    p.set_outcome(v1::OUTCOME_INVALID);
  } else if (r.pruned) {
    p.set_outcome(v1::OUTCOME_PRUNED);
  } else {
    p.set_outcome(r.AnyFeasible() ? v1::OUTCOME_FEASIBLE : v1::OUTCOME_INFEASIBLE);
  }
  for (const PointResult& pt : r.points) {
    v1::PlacementPoint* out = p.add_points();
    out->set_hbm_bytes(pt.hbm_bytes);
    out->set_recompute(pt.recompute);
    *out->mutable_search() = ToProto(pt.search);
    if (pt.has_fixed) *out->mutable_fixed() = ToProto(pt.fixed);
  }
  v1::IlpStats* s = p.mutable_ilp();
  s->set_layers(r.ilp.layers);
  s->set_built(r.ilp.built);
  s->set_skipped_by_bounds(r.ilp.skipped_by_bounds);
  s->set_skipped_by_dominance(r.ilp.skipped_by_dominance);
  s->set_cache_hits(r.ilp.cache_hits);
  s->set_time_outs(r.ilp.time_outs);
  s->set_sum_gap(r.ilp.sum_gap);
  s->set_max_gap(r.ilp.max_gap);
  s->set_solve_s(r.ilp.solve_s);
  s->set_worst(ToProto(r.ilp.worst));
  return p;
}

EvaluationResult FromProto(const v1::CandidateResult& p) {
  EvaluationResult r;
  r.candidate_index = p.candidate().index();
  r.arch_index = p.candidate().arch_index();
  r.micro_batch = p.candidate().micro_batch_size();
  r.arch = FromProto(p.architecture());
  r.area_um2 = p.area_um2();
  r.valid = p.outcome() != v1::OUTCOME_INVALID;
  r.pruned = p.outcome() == v1::OUTCOME_PRUNED;
  for (const v1::PlacementPoint& pt : p.points()) {
    PointResult out;
    out.hbm_bytes = pt.hbm_bytes();
    out.recompute = pt.recompute();
    out.search = FromProto(pt.search());
    out.has_fixed = pt.has_fixed();
    if (pt.has_fixed()) out.fixed = FromProto(pt.fixed());
    r.points.push_back(std::move(out));
  }
  const v1::IlpStats& s = p.ilp();
  r.ilp.layers = s.layers();
  r.ilp.built = s.built();
  r.ilp.skipped_by_bounds = s.skipped_by_bounds();
  r.ilp.skipped_by_dominance = s.skipped_by_dominance();
  r.ilp.cache_hits = s.cache_hits();
  r.ilp.time_outs = s.time_outs();
  r.ilp.sum_gap = s.sum_gap();
  r.ilp.max_gap = s.max_gap();
  r.ilp.solve_s = s.solve_s();
  r.ilp.worst = FromProto(s.worst());
  return r;
}

}  // namespace phaze
