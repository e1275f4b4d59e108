#include "common/rpc/convert.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace phaze {

using eval::EvaluationResult;
using eval::Evaluator;
using job::JobSpec;
using job::ParseJobYaml;
namespace {

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Bytes(const v1::Job& job) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  job.SerializeToCodedStream(&coded);
  return out;
}

// Every job file the project ships goes through the wire and back unchanged, and evaluates the
// same: the structured job carries everything the YAML said.
TEST(JobWireTest, EveryShippedJobRoundTripsAndEvaluatesTheSame) {
  const std::filesystem::path root(PHAZE_SOURCE_DIR);
  int files = 0;
  for (const char* dir : {"examples", "examples/fidelity", "examples/codesign", "tests/data",
                          "tests/golden/jobs", "tests/bench"}) {
    for (const auto& entry : std::filesystem::directory_iterator(root / dir)) {
      if (entry.path().extension() != ".yaml") continue;
      const absl::StatusOr<JobSpec> parsed = ParseJobYaml(Read(entry.path()));
      ASSERT_TRUE(parsed.ok()) << entry.path() << ": " << parsed.status();
      const v1::Job wire = ToProto(*parsed);
      const absl::StatusOr<JobSpec> back = FromProto(wire);
      ASSERT_TRUE(back.ok()) << entry.path() << ": " << back.status();
      EXPECT_EQ(Bytes(ToProto(*back)), Bytes(wire)) << entry.path();
      ++files;
    }
  }
  EXPECT_GE(files, 15);

  // The order search's budget crosses the wire; an older client's job (no field) gets the
  // default, and 0 (MILP only) stays 0.
  JobSpec milp_only = *ParseJobYaml(
      "name: x\nmodel: gpt2\narchitecture: {preset: tpuv4}\nsolver: {order_search_nodes: 0}\n");
  EXPECT_EQ(milp_only.solver.order_search_nodes, 0);
  EXPECT_EQ(FromProto(ToProto(milp_only))->solver.order_search_nodes, 0);
  v1::Job old_client = ToProto(milp_only);
  old_client.clear_solver_order_search_nodes();
  old_client.clear_solver_order_search_off();
  EXPECT_EQ(FromProto(old_client)->solver.order_search_nodes,
            eval::SolverSpec{}.order_search_nodes);
  old_client.set_solver_order_search_nodes(-5);
  EXPECT_FALSE(FromProto(old_client).ok());

  // One candidate evaluated from each side of the wire.
  const JobSpec job = *ParseJobYaml(Read(root / "tests/data/small-space-job.yaml"));
  const JobSpec back = *FromProto(ToProto(job));
  auto a = *Evaluator::Create(job);
  auto b = *Evaluator::Create(back);
  ASSERT_EQ(a->NumCandidates(), b->NumCandidates());
  sched::CbcBackend cbc;
  for (int64_t c : {int64_t{0}, a->NumCandidates() / 2, a->NumCandidates() - 1}) {
    const EvaluationResult ra = *a->Evaluate(c, cbc, nullptr);
    const EvaluationResult rb = *b->Evaluate(c, cbc, nullptr);
    ASSERT_EQ(ra.points.size(), rb.points.size());
    EXPECT_EQ(ra.area_um2, rb.area_um2);
    for (size_t k = 0; k < ra.points.size(); ++k) {
      EXPECT_EQ(ra.points[k].search.time_per_batch_s, rb.points[k].search.time_per_batch_s);
      EXPECT_EQ(ra.points[k].fixed.time_per_batch_s, rb.points[k].fixed.time_per_batch_s);
    }
  }
}

// training.dp_overlap is parsed, crosses the wire, reaches the placement, and asks for the
// uniform split it is exact over.
TEST(JobWireTest, DataParallelOverlapCrossesTheWireAndNeedsTheUniformSplit) {
  const std::string text = R"(
name: overlap
model: gpt2
architecture: {preset: a100}
training:
  accelerators: 64
  global_batch: 64
  recompute: [full]
  dp_overlap: true
  fixed_strategy: {pipeline: 2, data: 32, tensor: 1, split: uniform}
)";
  const JobSpec job = *ParseJobYaml(text);
  EXPECT_TRUE(job.training.dp_overlap);
  const JobSpec back = *FromProto(ToProto(job));
  EXPECT_TRUE(back.training.dp_overlap);
  v1::Job old_client = ToProto(job);
  old_client.mutable_training()->clear_dp_overlap();
  EXPECT_FALSE(FromProto(old_client)->training.dp_overlap);  // an older client: no overlap
  // The fixed strategy's exposed data-parallel time only shrinks with overlap.
  JobSpec serial = job;
  serial.training.dp_overlap = false;
  sched::CbcBackend cbc;
  const EvaluationResult with = *(*Evaluator::Create(job))->Evaluate(0, cbc, nullptr);
  const EvaluationResult without = *(*Evaluator::Create(serial))->Evaluate(0, cbc, nullptr);
  ASSERT_EQ(with.points.size(), without.points.size());
  for (size_t k = 0; k < with.points.size(); ++k) {
    ASSERT_TRUE(with.points[k].fixed.feasible);
    EXPECT_LT(with.points[k].fixed.time.data_comm_s, without.points[k].fixed.time.data_comm_s);
    EXPECT_LT(with.points[k].fixed.time_per_batch_s, without.points[k].fixed.time_per_batch_s);
  }
  // fp32 main gradients: parsed, on the wire, refused when misspelt.
  std::string fp32 = text;
  fp32.replace(fp32.find("dp_overlap: true"), 16, "dp_overlap: true\n  main_grads: fp32");
  const JobSpec wide = *ParseJobYaml(fp32);
  EXPECT_TRUE(wide.training.fp32_main_grads);
  EXPECT_TRUE(FromProto(ToProto(wide))->training.fp32_main_grads);
  EXPECT_FALSE(job.training.fp32_main_grads);
  const EvaluationResult wider = *(*Evaluator::Create(wide))->Evaluate(0, cbc, nullptr);
  ASSERT_EQ(wider.points.size(), with.points.size());
  for (size_t k = 0; k < with.points.size(); ++k) {
    EXPECT_GT(wider.points[k].fixed.time_per_batch_s, with.points[k].fixed.time_per_batch_s);
    EXPECT_GT(wider.points[k].fixed.memory_per_device_bytes,
              with.points[k].fixed.memory_per_device_bytes);
  }
  std::string bad = text;
  bad.replace(bad.find("dp_overlap: true"), 16, "dp_overlap: true\n  main_grads: fp8");
  const absl::StatusOr<JobSpec> misspelt = ParseJobYaml(bad);
  ASSERT_FALSE(misspelt.ok());
  EXPECT_NE(misspelt.status().message().find("training.main_grads"), std::string::npos)
      << misspelt.status();
  // A fixed strategy with the best split (the default) is refused, naming the field.
  std::string best = text;
  best.replace(best.find(", split: uniform"), 16, "");
  const absl::StatusOr<JobSpec> refused = ParseJobYaml(best);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("fixed_strategy.split"), std::string::npos)
      << refused.status();
}

// The chip model's resources, budgets and scales cross the wire unchanged.
TEST(JobWireTest, ChipResourcesBudgetsAndScalesRoundTrip) {
  const JobSpec job = *ParseJobYaml(R"(
name: codesign
model: gpt2
architecture:
  space: {num_tc: [4], num_vc: [2], tc_width: [128], tc_depth: [128], glb_mib: [32],
          glb_banks: [16, 64], hbm_stacks: [2, 6], link_ports: [4], scale_up_domain: [8, 64],
          hbm_stack: [hbm3, hbm2e]}
  hbm_stack: hbm3
  tech_node_nm: 5
budget: {chip_area_mm2: 500, tdp_w: 300, shoreline: true, reticle: true}
chip_model: {serdes_lane_scale: 2, uncore_scale: 0.5, area_model: original}
objectives: [area]
)");
  const JobSpec back = *FromProto(ToProto(job));
  EXPECT_EQ(back.objectives.area_model, eval::AreaModel::kOriginal);
  EXPECT_TRUE(back.objectives.area);
  EXPECT_FALSE(back.objectives.power || back.objectives.energy);
  // A job sent without objectives (an older client) weighs everything by the chip model; power
  // by the original's area model is refused.
  v1::Job wire = ToProto(job);
  wire.clear_objectives();
  const JobSpec old_client = *FromProto(wire);
  EXPECT_EQ(old_client.objectives.area_model, eval::AreaModel::kChip);
  EXPECT_TRUE(old_client.objectives.area && old_client.objectives.power &&
              old_client.objectives.energy);
  wire.mutable_objectives()->set_area_model(v1::Objectives::AREA_MODEL_ORIGINAL);
  wire.mutable_objectives()->set_power(true);
  EXPECT_TRUE(absl::IsInvalidArgument(FromProto(wire).status()));
  EXPECT_EQ(back.space->glb_banks, job.space->glb_banks);
  EXPECT_EQ(back.space->hbm_stacks, job.space->hbm_stacks);
  EXPECT_EQ(back.space->link_ports, job.space->link_ports);
  EXPECT_EQ(back.space->scale_up_domain, job.space->scale_up_domain);
  EXPECT_EQ(back.space->hbm_stack_types, (std::vector<std::string>{"hbm3", "hbm2e"}));
  EXPECT_EQ(back.space->base.hbm_stack, "hbm3");
  EXPECT_EQ(back.space->base.tech_node_nm, 5);
  EXPECT_EQ(back.budget.chip_area_mm2, 500);
  EXPECT_EQ(back.budget.tdp_w, 300);
  EXPECT_TRUE(back.budget.shoreline);
  EXPECT_TRUE(back.budget.reticle);
  EXPECT_EQ(back.chip_model.serdes_lane, 2);
  EXPECT_EQ(back.chip_model.uncore, 0.5);
  EXPECT_EQ(back.chip_model.mac_area, 1);
}

TEST(JobWireTest, ABadStructuredJobIsRefusedNamingTheField) {
  const JobSpec job =
      *ParseJobYaml(Read(std::filesystem::path(PHAZE_SOURCE_DIR) / "tests/data/tiny-job.yaml"));
  v1::Job wire = ToProto(job);
  wire.set_cost_mode(static_cast<v1::CostMode>(7));
  absl::StatusOr<JobSpec> bad = FromProto(wire);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_NE(bad.status().message().find("cost_mode"), absl::string_view::npos) << bad.status();

  wire = ToProto(job);
  wire.mutable_model()->set_hidden(0);
  EXPECT_TRUE(absl::IsInvalidArgument(FromProto(wire).status()));

  wire = ToProto(job);
  wire.clear_space();
  bad = FromProto(wire);
  EXPECT_NE(bad.status().message().find("exactly one"), absl::string_view::npos) << bad.status();

  wire = ToProto(job);
  wire.mutable_training()->add_micro_batch_sizes(0);
  EXPECT_TRUE(absl::IsInvalidArgument(FromProto(wire).status()));
}

// What an evaluation spent (solver statistics and phase times) crosses the wire exactly, pruned
// results included: the coordinator's totals count candidates that fell behind the front after
// some MILPs.
TEST(ResultWireTest, SolverStatisticsAndPhaseTimesRoundTrip) {
  EvaluationResult r;
  r.candidate_index = 7;
  r.pruned = true;
  r.valid = true;
  r.ilp.layers = 12;
  r.ilp.built = 3;
  r.ilp.skipped_by_bounds = 5;
  r.ilp.skipped_by_dominance = 2;
  r.ilp.searched = 7;
  r.ilp.cache_hits = 2;
  r.ilp.time_outs = 1;
  r.ilp.sum_gap = 0.125;
  r.ilp.max_gap = 0.0625;
  r.ilp.solve_s = 0.75;
  r.ilp.worst = sched::SolveStatus::kFeasible;
  r.phases = {.cost_s = 0.001, .bounds_s = 0.02, .milp_s = 0.3, .placement_s = 0.04};
  const EvaluationResult back = FromProto(ToProto(r));
  EXPECT_TRUE(back.pruned);
  EXPECT_EQ(back.ilp.layers, 12);
  EXPECT_EQ(back.ilp.built, 3);
  EXPECT_EQ(back.ilp.skipped_by_bounds, 5);
  EXPECT_EQ(back.ilp.skipped_by_dominance, 2);
  EXPECT_EQ(back.ilp.searched, 7);
  EXPECT_EQ(back.ilp.cache_hits, 2);
  EXPECT_EQ(back.ilp.time_outs, 1);
  EXPECT_EQ(back.ilp.sum_gap, 0.125);
  EXPECT_EQ(back.ilp.max_gap, 0.0625);
  EXPECT_EQ(back.ilp.solve_s, 0.75);
  EXPECT_EQ(back.ilp.worst, sched::SolveStatus::kFeasible);
  EXPECT_EQ(back.phases.cost_s, 0.001);
  EXPECT_EQ(back.phases.bounds_s, 0.02);
  EXPECT_EQ(back.phases.milp_s, 0.3);
  EXPECT_EQ(back.phases.placement_s, 0.04);
}

}  // namespace
}  // namespace phaze
