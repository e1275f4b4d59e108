#include "common/rpc/convert.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace phaze {

using arch::Architecture;
using arch::ArchSpaceSpec;
using arch::ValidateArchitecture;
using arch::ValidateSpaceSpec;
using cost::CostMode;
using eval::EvaluationResult;
using eval::PointResult;
using job::JobSpec;
using place::Optimizer;
using place::Strategy;
using report::JobPageInfo;
using search::SearchStrategy;
using workload::FfnKind;
using workload::ModelSpec;
using workload::NormKind;
using workload::NormPosition;
using workload::PositionKind;
using workload::ValidateModel;

namespace {

// Proto enum value = domain enum value + 1 (phaze.proto); 0 and anything past the last are bad.
template <typename Domain, typename Proto>
Proto EnumToProto(Domain d) {
  return static_cast<Proto>(static_cast<int>(d) + 1);
}
template <typename Domain>
absl::StatusOr<Domain> EnumFromProto(int value, int count, const char* field) {
  if (value < 1 || value > count) {
    return absl::InvalidArgumentError(absl::StrCat("job.", field, ": ", value, " is not a value"));
  }
  return static_cast<Domain>(value - 1);
}

// The same mapping for values of a worker's result, which are not refused: out-of-range values
// map to the first.
template <typename Domain>
Domain Clamped(int value, int count) {
  return static_cast<Domain>(value >= 1 && value <= count ? value - 1 : 0);
}

}  // namespace

v1::Recompute ToProto(place::Recompute r) {
  return EnumToProto<place::Recompute, v1::Recompute>(r);
}

place::Recompute RecomputeFromProto(int value) { return Clamped<place::Recompute>(value, 3); }

v1::Strategy ToProto(const Strategy& s) {
  v1::Strategy p;
  p.set_pipeline(s.pipeline);
  p.set_data(s.data);
  p.set_tensor(s.tensor);
  p.set_virtual_stages(s.virtual_stages);
  p.set_sequence_parallel(s.sequence_parallel);
  p.set_sharding(EnumToProto<place::Sharding, v1::Sharding>(s.sharding));
  p.set_split(EnumToProto<place::Split, v1::Split>(s.split));
  return p;
}

namespace {

Strategy StrategyFromProto(const v1::Strategy& p) {
  Strategy s;
  s.pipeline = p.pipeline();
  s.data = p.data();
  s.tensor = p.tensor();
  s.virtual_stages = p.virtual_stages() > 0 ? p.virtual_stages() : 1;
  s.sequence_parallel = p.sequence_parallel();
  s.sharding = Clamped<place::Sharding>(p.sharding(), 4);
  s.split = Clamped<place::Split>(p.split(), 2);
  return s;
}

v1::Placement ToProto(const place::Placement& p) {
  v1::Placement out;
  out.set_feasible(p.feasible);
  *out.mutable_strategy() = phaze::ToProto(p.strategy);
  for (int64_t n : p.stage_layers) out.add_stage_layers(n);
  out.set_micro_batches(p.micro_batches);
  out.set_bottleneck_s(p.bottleneck_s);
  out.set_sync_s(p.sync_s);
  out.set_time_per_batch_s(p.time_per_batch_s);
  out.set_throughput_samples_per_s(p.throughput_samples_per_s);
  out.set_bubble_fraction(p.bubble_fraction);
  out.set_memory_per_device_bytes(p.memory_per_device_bytes);
  out.set_energy_per_sample_j(p.energy_per_sample_j);
  out.set_recompute(phaze::ToProto(p.recompute));
  v1::TimeBreakdown* t = out.mutable_time();
  t->set_forward_s(p.time.forward_s);
  t->set_backward_s(p.time.backward_s);
  t->set_recompute_s(p.time.recompute_s);
  t->set_tp_comm_s(p.time.tp_comm_s);
  t->set_pipeline_comm_s(p.time.pipeline_comm_s);
  t->set_zero3_gather_s(p.time.zero3_gather_s);
  t->set_bubble_s(p.time.bubble_s);
  t->set_data_comm_s(p.time.data_comm_s);
  t->set_optimizer_s(p.time.optimizer_s);
  v1::MemoryBreakdown* m = out.mutable_memory();
  m->set_weights_bytes(p.memory.weights_bytes);
  m->set_gradients_bytes(p.memory.gradients_bytes);
  m->set_optimizer_bytes(p.memory.optimizer_bytes);
  m->set_activations_bytes(p.memory.activations_bytes);
  return out;
}

place::Placement FromProto(const v1::Placement& p) {
  place::Placement out;
  out.feasible = p.feasible();
  out.strategy = StrategyFromProto(p.strategy());
  out.stage_layers.assign(p.stage_layers().begin(), p.stage_layers().end());
  out.micro_batches = p.micro_batches();
  out.bottleneck_s = p.bottleneck_s();
  out.sync_s = p.sync_s();
  out.time_per_batch_s = p.time_per_batch_s();
  out.throughput_samples_per_s = p.throughput_samples_per_s();
  out.bubble_fraction = p.bubble_fraction();
  out.memory_per_device_bytes = p.memory_per_device_bytes();
  out.energy_per_sample_j = p.energy_per_sample_j();
  out.recompute = RecomputeFromProto(p.recompute());
  const v1::TimeBreakdown& t = p.time();
  out.time = {t.forward_s(), t.backward_s(),      t.recompute_s(),
              t.tp_comm_s(), t.pipeline_comm_s(), t.zero3_gather_s(),
              t.bubble_s(),  t.data_comm_s(),     t.optimizer_s()};
  const v1::MemoryBreakdown& m = p.memory();
  out.memory = {m.weights_bytes(), m.gradients_bytes(), m.optimizer_bytes(), m.activations_bytes()};
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
  p.set_hbm_bytes(a.hbm_bytes);
  p.set_link_efficiency(a.link_efficiency);
  p.set_scale_up_domain(a.scale_up_domain);
  p.set_scale_out_bandwidth_bytes_per_s(a.scale_out_bandwidth_bytes_per_s);
  p.set_scale_out_latency_s(a.scale_out_latency_s);
  p.set_scale_out_efficiency(a.scale_out_efficiency);
  p.set_tc_efficiency(a.tc_efficiency);
  p.set_hbm_efficiency(a.hbm_efficiency);
  p.set_memory_exposed(1.0 - a.memory_overlap);
  p.set_op_overhead_s(a.op_overhead_s);
  p.set_single_stream(a.single_stream);
  p.set_tech_node_nm(a.tech_node_nm);
  p.set_hbm_stack(a.hbm_stack);
  p.set_hbm_stacks(a.hbm_stacks);
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
  a.hbm_bytes = p.hbm_bytes();
  auto efficiency = [](double v) { return v == 0 ? 1.0 : v; };
  a.link_efficiency = efficiency(p.link_efficiency());
  a.scale_up_domain = p.scale_up_domain();
  a.scale_out_bandwidth_bytes_per_s = p.scale_out_bandwidth_bytes_per_s();
  a.scale_out_latency_s = p.scale_out_latency_s();
  a.scale_out_efficiency = efficiency(p.scale_out_efficiency());
  a.tc_efficiency = efficiency(p.tc_efficiency());
  a.hbm_efficiency = efficiency(p.hbm_efficiency());
  a.memory_overlap = 1.0 - p.memory_exposed();
  a.op_overhead_s = p.op_overhead_s();
  a.single_stream = p.single_stream();
  if (p.tech_node_nm() != 0) a.tech_node_nm = p.tech_node_nm();
  if (!p.hbm_stack().empty()) a.hbm_stack = p.hbm_stack();
  a.hbm_stacks = p.hbm_stacks();
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
    out->set_recompute(phaze::ToProto(pt.recompute));
    *out->mutable_search() = ToProto(pt.search);
    if (pt.has_fixed) *out->mutable_fixed() = ToProto(pt.fixed);
  }
  *p.mutable_ilp() = ToProto(r.ilp);
  *p.mutable_phases() = ToProto(r.phases);
  return p;
}

v1::IlpStats ToProto(const eval::IlpStats& ilp) {
  v1::IlpStats s;
  s.set_layers(ilp.layers);
  s.set_built(ilp.built);
  s.set_searched(ilp.searched);
  s.set_skipped_by_bounds(ilp.skipped_by_bounds);
  s.set_skipped_by_dominance(ilp.skipped_by_dominance);
  s.set_cache_hits(ilp.cache_hits);
  s.set_time_outs(ilp.time_outs);
  s.set_sum_gap(ilp.sum_gap);
  s.set_max_gap(ilp.max_gap);
  s.set_solve_s(ilp.solve_s);
  s.set_worst(ToProto(ilp.worst));
  return s;
}

eval::IlpStats FromProto(const v1::IlpStats& s) {
  eval::IlpStats ilp;
  ilp.layers = s.layers();
  ilp.built = s.built();
  ilp.searched = s.searched();
  ilp.skipped_by_bounds = s.skipped_by_bounds();
  ilp.skipped_by_dominance = s.skipped_by_dominance();
  ilp.cache_hits = s.cache_hits();
  ilp.time_outs = s.time_outs();
  ilp.sum_gap = s.sum_gap();
  ilp.max_gap = s.max_gap();
  ilp.solve_s = s.solve_s();
  ilp.worst = FromProto(s.worst());
  return ilp;
}

v1::PhaseTimes ToProto(const eval::PhaseTimes& t) {
  v1::PhaseTimes p;
  p.set_cost_s(t.cost_s);
  p.set_bounds_s(t.bounds_s);
  p.set_milp_s(t.milp_s);
  p.set_placement_s(t.placement_s);
  return p;
}

eval::PhaseTimes FromProto(const v1::PhaseTimes& p) {
  eval::PhaseTimes t;
  t.cost_s = p.cost_s();
  t.bounds_s = p.bounds_s();
  t.milp_s = p.milp_s();
  t.placement_s = p.placement_s();
  return t;
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
    out.recompute = RecomputeFromProto(pt.recompute());
    out.search = FromProto(pt.search());
    out.has_fixed = pt.has_fixed();
    if (pt.has_fixed()) out.fixed = FromProto(pt.fixed());
    r.points.push_back(std::move(out));
  }
  r.ilp = FromProto(p.ilp());
  r.phases = FromProto(p.phases());
  return r;
}

}  // namespace phaze

namespace phaze {
namespace {

v1::ModelSpec ToProto(const ModelSpec& m) {
  v1::ModelSpec p;
  p.set_name(m.name);
  p.set_description(m.description);
  p.set_num_layers(m.num_layers);
  p.set_hidden(m.hidden);
  p.set_heads(m.heads);
  p.set_kv_heads(m.kv_heads);
  p.set_head_dim(m.head_dim);
  p.set_ffn(m.ffn);
  p.set_ffn_kind(EnumToProto<FfnKind, v1::FfnKind>(m.ffn_kind));
  p.set_norm(EnumToProto<NormKind, v1::NormKind>(m.norm));
  p.set_norm_position(EnumToProto<NormPosition, v1::NormPosition>(m.norm_position));
  p.set_positions(EnumToProto<PositionKind, v1::PositionKind>(m.positions));
  p.set_max_positions(m.max_positions);
  p.set_vocab(m.vocab);
  p.set_vocab_pad_multiple(m.vocab_pad_multiple);
  p.set_seq_len(m.seq_len);
  p.set_tied_embedding(m.tied_embedding);
  p.set_biases(m.biases);
  p.set_dropout(m.dropout);
  p.set_token_types(m.token_types);
  p.set_embed_proj_dim(m.embed_proj_dim);
  p.set_mlm_head_transform(m.mlm_head_transform);
  p.set_embedding_norm(m.embedding_norm);
  p.set_published_params(m.published_params);
  p.set_published_source(m.published_source);
  return p;
}

absl::StatusOr<ModelSpec> FromProto(const v1::ModelSpec& p) {
  ModelSpec m;
  m.name = p.name();
  m.description = p.description();
  m.num_layers = p.num_layers();
  m.hidden = p.hidden();
  m.heads = p.heads();
  m.kv_heads = p.kv_heads();
  m.head_dim = p.head_dim();
  m.ffn = p.ffn();
  PHAZE_ASSIGN_OR_RETURN(m.ffn_kind, EnumFromProto<FfnKind>(p.ffn_kind(), 3, "model.ffn_kind"));
  PHAZE_ASSIGN_OR_RETURN(m.norm, EnumFromProto<NormKind>(p.norm(), 2, "model.norm"));
  PHAZE_ASSIGN_OR_RETURN(m.norm_position,
                         EnumFromProto<NormPosition>(p.norm_position(), 2, "model.norm_position"));
  PHAZE_ASSIGN_OR_RETURN(m.positions,
                         EnumFromProto<PositionKind>(p.positions(), 2, "model.positions"));
  m.max_positions = p.max_positions();
  m.vocab = p.vocab();
  m.vocab_pad_multiple = p.vocab_pad_multiple();
  m.seq_len = p.seq_len();
  m.tied_embedding = p.tied_embedding();
  m.biases = p.biases();
  m.dropout = p.dropout();
  m.token_types = p.token_types();
  m.embed_proj_dim = p.embed_proj_dim();
  m.mlm_head_transform = p.mlm_head_transform();
  m.embedding_norm = p.embedding_norm();
  m.published_params = p.published_params();
  m.published_source = p.published_source();
  PHAZE_RETURN_IF_ERROR(ValidateModel(m));
  return m;
}

}  // namespace

v1::Job ToProto(const JobSpec& job) {
  v1::Job p;
  p.set_name(job.name);
  *p.mutable_model() = ToProto(job.model);
  v1::Training* t = p.mutable_training();
  t->set_accelerators(job.training.accelerators);
  t->set_global_batch(job.training.global_batch);
  for (int64_t b : job.training.micro_batch_sizes) t->add_micro_batch_sizes(b);
  for (place::Recompute r : job.training.recompute) t->add_recompute(phaze::ToProto(r));
  for (int64_t v : job.training.virtual_stages) t->add_virtual_stages(v);
  for (place::Sharding s : job.training.sharding) {
    t->add_sharding(EnumToProto<place::Sharding, v1::Sharding>(s));
  }
  t->set_rank_order(EnumToProto<place::RankOrder, v1::RankOrder>(job.training.rank_order));
  t->set_tp_overlap(job.training.tp_overlap);
  t->set_dp_overlap(job.training.dp_overlap);
  t->set_fp32_main_grads(job.training.fp32_main_grads);
  for (bool sp : job.training.sequence_parallel) t->add_sequence_parallel(sp);
  t->set_optimizer(EnumToProto<Optimizer, v1::Optimizer>(job.training.optimizer));
  t->set_max_tensor_width(job.training.max_tensor_width);
  if (job.training.fixed_strategy.has_value()) {
    *t->mutable_fixed_strategy() = ToProto(*job.training.fixed_strategy);
  }
  for (const Architecture& a : job.fixed_architectures) *p.add_fixed_architectures() = ToProto(a);
  if (job.space.has_value()) {
    const ArchSpaceSpec& s = *job.space;
    v1::ArchSpace* out = p.mutable_space();
    for (int64_t v : s.num_tc) out->add_num_tc(v);
    for (int64_t v : s.num_vc) out->add_num_vc(v);
    for (int64_t v : s.tc_width) out->add_tc_width(v);
    for (int64_t v : s.tc_depth) out->add_tc_depth(v);
    for (int64_t v : s.vc_width) out->add_vc_width(v);
    for (int64_t v : s.glb_bytes) out->add_glb_bytes(v);
    for (int64_t v : s.glb_banks) out->add_glb_banks(v);
    for (int64_t v : s.hbm_stacks) out->add_hbm_stacks(v);
    for (int64_t v : s.link_ports) out->add_link_ports(v);
    for (int64_t v : s.scale_up_domain) out->add_scale_up_domain(v);
    for (const std::string& v : s.hbm_stack_types) out->add_hbm_stack_types(v);
    out->set_max_area_um2(s.max_area_um2);
    out->set_min_area_fraction(s.min_area_fraction);
    out->set_single_core_min_area_fraction(s.single_core_min_area_fraction);
    *out->mutable_base() = ToProto(s.base);
  }
  for (int64_t h : job.hbm_bytes) p.add_hbm_bytes(h);
  p.set_cost_mode(EnumToProto<CostMode, v1::CostMode>(job.cost.mode));
  v1::EnergyModel* e = p.mutable_energy();
  e->set_mac_j(job.cost.energy.mac_j);
  e->set_vector_op_j(job.cost.energy.vector_op_j);
  e->set_glb_byte_j(job.cost.energy.glb_byte_j);
  e->set_hbm_byte_j(job.cost.energy.hbm_byte_j);
  e->set_link_byte_j(job.cost.energy.link_byte_j);
  p.set_compat_backward(job.compat_backward);
  p.set_solver_time_limit_s(job.solver.time_limit_s);
  p.set_solver_relative_gap(job.solver.relative_gap);
  p.set_solver_max_nodes(job.solver.max_nodes);
  p.set_solver_order_search_nodes(job.solver.order_search_nodes);
  p.set_solver_order_search_off(job.solver.order_search_nodes == 0);
  p.set_search_strategy(EnumToProto<SearchStrategy, v1::SearchStrategy>(job.search.strategy));
  p.set_bucket_um2(job.search.bucket_um2);
  p.set_bucket_window(job.search.bucket_window);
  p.set_max_space_size(job.limits.max_space_size);
  p.mutable_budget()->set_chip_area_mm2(job.budget.chip_area_mm2);
  p.mutable_budget()->set_tdp_w(job.budget.tdp_w);
  p.mutable_budget()->set_shoreline(job.budget.shoreline);
  p.mutable_budget()->set_reticle(job.budget.reticle);
  v1::ChipModelScales* m = p.mutable_chip_model();
  const arch::ChipModelScales& c = job.chip_model;
  m->set_mac_area(c.mac_area);
  m->set_sram_area(c.sram_area);
  m->set_glb_bank_port(c.glb_bank_port);
  m->set_noc_port(c.noc_port);
  m->set_hbm_interface(c.hbm_interface);
  m->set_hbm_edge(c.hbm_edge);
  m->set_serdes_lane(c.serdes_lane);
  m->set_uncore(c.uncore);
  m->set_leakage(c.leakage);
  v1::Objectives* o = p.mutable_objectives();
  o->set_area_model(job.objectives.area_model == eval::AreaModel::kChip
                        ? v1::Objectives::AREA_MODEL_CHIP
                        : v1::Objectives::AREA_MODEL_ORIGINAL);
  o->set_area(job.objectives.area);
  o->set_power(job.objectives.power);
  o->set_energy(job.objectives.energy);
  return p;
}

absl::StatusOr<JobSpec> FromProto(const v1::Job& p) {
  JobSpec job;
  job.name = p.name();
  PHAZE_ASSIGN_OR_RETURN(job.model, FromProto(p.model()));
  const v1::Training& t = p.training();
  job.training.accelerators = t.accelerators();
  job.training.global_batch = t.global_batch();
  job.training.micro_batch_sizes.assign(t.micro_batch_sizes().begin(), t.micro_batch_sizes().end());
  job.training.recompute.clear();
  for (int r : t.recompute()) {
    PHAZE_ASSIGN_OR_RETURN(place::Recompute mode,
                           EnumFromProto<place::Recompute>(r, 3, "training.recompute"));
    job.training.recompute.push_back(mode);
  }
  job.training.virtual_stages.assign(t.virtual_stages().begin(), t.virtual_stages().end());
  job.training.sharding.clear();
  for (int v : t.sharding()) {
    PHAZE_ASSIGN_OR_RETURN(place::Sharding s,
                           EnumFromProto<place::Sharding>(v, 4, "training.sharding"));
    job.training.sharding.push_back(s);
  }
  PHAZE_ASSIGN_OR_RETURN(job.training.rank_order,
                         EnumFromProto<place::RankOrder>(t.rank_order(), 2, "training.rank_order"));
  job.training.tp_overlap = t.tp_overlap();
  job.training.dp_overlap = t.dp_overlap();
  job.training.fp32_main_grads = t.fp32_main_grads();
  job.training.sequence_parallel.assign(t.sequence_parallel().begin(), t.sequence_parallel().end());
  if (job.training.sequence_parallel.empty()) {
    return absl::InvalidArgumentError("job.training.sequence_parallel: must not be empty");
  }
  for (int64_t v : job.training.virtual_stages) {
    if (v < 1) return absl::InvalidArgumentError("job.training.virtual_stages: must be >= 1");
  }
  if (job.training.virtual_stages.empty() || job.training.sharding.empty()) {
    return absl::InvalidArgumentError(
        "job.training: virtual_stages and sharding must not be empty");
  }
  PHAZE_ASSIGN_OR_RETURN(job.training.optimizer,
                         EnumFromProto<Optimizer>(t.optimizer(), 2, "training.optimizer"));
  job.training.max_tensor_width = t.max_tensor_width();
  if (t.has_fixed_strategy()) {
    job.training.fixed_strategy = StrategyFromProto(t.fixed_strategy());
  }
  if (job.training.accelerators < 1 || job.training.global_batch < 1 ||
      job.training.max_tensor_width < 1 || job.training.micro_batch_sizes.empty() ||
      job.training.recompute.empty()) {
    return absl::InvalidArgumentError("job.training: sizes must be positive and lists non-empty");
  }
  for (int64_t b : job.training.micro_batch_sizes) {
    if (b < 1) return absl::InvalidArgumentError("job.training.micro_batch_sizes: must be >= 1");
  }
  for (const v1::Architecture& a : p.fixed_architectures()) {
    job.fixed_architectures.push_back(FromProto(a));
    PHAZE_RETURN_IF_ERROR(ValidateArchitecture(job.fixed_architectures.back()));
  }
  if (p.has_space()) {
    const v1::ArchSpace& s = p.space();
    ArchSpaceSpec space;
    space.num_tc.assign(s.num_tc().begin(), s.num_tc().end());
    space.num_vc.assign(s.num_vc().begin(), s.num_vc().end());
    space.tc_width.assign(s.tc_width().begin(), s.tc_width().end());
    space.tc_depth.assign(s.tc_depth().begin(), s.tc_depth().end());
    space.vc_width.assign(s.vc_width().begin(), s.vc_width().end());
    space.glb_bytes.assign(s.glb_bytes().begin(), s.glb_bytes().end());
    space.glb_banks.assign(s.glb_banks().begin(), s.glb_banks().end());
    space.hbm_stacks.assign(s.hbm_stacks().begin(), s.hbm_stacks().end());
    space.link_ports.assign(s.link_ports().begin(), s.link_ports().end());
    space.scale_up_domain.assign(s.scale_up_domain().begin(), s.scale_up_domain().end());
    space.hbm_stack_types.assign(s.hbm_stack_types().begin(), s.hbm_stack_types().end());
    space.max_area_um2 = s.max_area_um2();
    space.min_area_fraction = s.min_area_fraction();
    space.single_core_min_area_fraction = s.single_core_min_area_fraction();
    space.base = FromProto(s.base());
    PHAZE_RETURN_IF_ERROR(ValidateSpaceSpec(space));
    job.space = std::move(space);
  }
  if (job.space.has_value() == !job.fixed_architectures.empty()) {
    return absl::InvalidArgumentError(
        "job: exactly one of fixed_architectures and space must be given");
  }
  job.hbm_bytes.assign(p.hbm_bytes().begin(), p.hbm_bytes().end());
  job.budget.chip_area_mm2 = p.budget().chip_area_mm2();
  job.budget.tdp_w = p.budget().tdp_w();
  job.budget.shoreline = p.budget().shoreline();
  job.budget.reticle = p.budget().reticle();
  const v1::ChipModelScales& m = p.chip_model();
  for (const auto& [value, target] :
       std::vector<std::pair<double, double*>>{{m.mac_area(), &job.chip_model.mac_area},
                                               {m.sram_area(), &job.chip_model.sram_area},
                                               {m.glb_bank_port(), &job.chip_model.glb_bank_port},
                                               {m.noc_port(), &job.chip_model.noc_port},
                                               {m.hbm_interface(), &job.chip_model.hbm_interface},
                                               {m.hbm_edge(), &job.chip_model.hbm_edge},
                                               {m.serdes_lane(), &job.chip_model.serdes_lane},
                                               {m.uncore(), &job.chip_model.uncore},
                                               {m.leakage(), &job.chip_model.leakage}}) {
    if (!(value >= 0) || !(value <= 1e3)) {
      return absl::InvalidArgumentError("job.chip_model: scales must lie in [0, 1000]");
    }
    *target = value == 0 ? 1.0 : value;
  }
  if (p.has_objectives()) {
    const v1::Objectives& o = p.objectives();
    switch (o.area_model()) {
      case v1::Objectives::AREA_MODEL_CHIP:
        job.objectives.area_model = eval::AreaModel::kChip;
        break;
      case v1::Objectives::AREA_MODEL_ORIGINAL:
        job.objectives.area_model = eval::AreaModel::kOriginal;
        break;
      default: return absl::InvalidArgumentError("job.objectives.area_model: unknown value");
    }
    job.objectives.area = o.area();
    job.objectives.power = o.power();
    job.objectives.energy = o.energy();
  }
  PHAZE_RETURN_IF_ERROR(eval::ValidateObjectives(job.objectives));
  if (!(job.budget.chip_area_mm2 >= 0) || !(job.budget.tdp_w >= 0) ||
      !std::isfinite(job.budget.chip_area_mm2) || !std::isfinite(job.budget.tdp_w)) {
    return absl::InvalidArgumentError("job.budget: chip_area_mm2 and tdp_w must not be negative");
  }
  if (job.hbm_bytes.empty()) return absl::InvalidArgumentError("job.hbm_bytes: must not be empty");
  for (int64_t h : job.hbm_bytes) {
    if (h < 1) return absl::InvalidArgumentError("job.hbm_bytes: must be positive");
  }
  PHAZE_ASSIGN_OR_RETURN(job.cost.mode, EnumFromProto<CostMode>(p.cost_mode(), 2, "cost_mode"));
  job.cost.energy = {p.energy().mac_j(), p.energy().vector_op_j(), p.energy().glb_byte_j(),
                     p.energy().hbm_byte_j(), p.energy().link_byte_j()};
  job.compat_backward = p.compat_backward();
  job.solver.time_limit_s = p.solver_time_limit_s();
  job.solver.relative_gap = p.solver_relative_gap();
  job.solver.max_nodes = p.solver_max_nodes();
  if (p.solver_order_search_nodes() < 0) {
    return absl::InvalidArgumentError("job.solver_order_search_nodes: must not be negative");
  }
  if (p.solver_order_search_off()) {
    job.solver.order_search_nodes = 0;
  } else if (p.solver_order_search_nodes() > 0) {
    job.solver.order_search_nodes = p.solver_order_search_nodes();
  }
  PHAZE_ASSIGN_OR_RETURN(job.search.strategy,
                         EnumFromProto<SearchStrategy>(p.search_strategy(), 3, "search_strategy"));
  job.search.bucket_um2 = p.bucket_um2();
  job.search.bucket_window = p.bucket_window();
  job.limits.max_space_size = p.max_space_size();
  return job;
}

}  // namespace phaze
