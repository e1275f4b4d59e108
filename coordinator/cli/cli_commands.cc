#include "coordinator/cli/cli_commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/arch/arch.h"
#include "common/arch/chip_model.h"
#include "common/base/status_macros.h"
#include "common/cost/cost.h"
#include "common/eval/eval.h"
#include "common/experiments/experiments.h"
#include "common/experiments/predict.h"
#include "common/job/job.h"
#include "common/report/report.h"
#include "common/sched/sched.h"
#include "common/search/search.h"
#include "common/workload/layer_graph.h"
#include "common/workload/model.h"
#include "nlohmann/json.hpp"

namespace phaze::cli {

using arch::ArchCandidate;
using arch::Architecture;
using arch::FindPreset;
using cost::CostMode;
using cost::CostOperators;
using cost::CostOptions;
using cost::OpCost;
using eval::CandidateSpace;
using eval::Evaluator;
using experiments::BestRowJson;
using experiments::DecoupledPick;
using experiments::OnChip;
using experiments::OnPreset;
using experiments::PickBySingleDeviceLatency;
using experiments::WithStrategy;
using job::JobSpec;
using job::ParseJobYaml;
using place::Strategy;
using report::BestJson;
using report::ColorBy;
using report::DesignPointJson;
using report::FrontJson;
using report::FrontSvg;
using report::ResultsCsv;
using report::StatsJson;
using search::DesignPoint;
using search::Progress;
using search::RunLocal;
using search::SearchSpec;
using search::SearchState;
using search::SearchStats;
using search::SearchStrategy;
using search::SearchStrategyName;
using workload::BuildModelGraph;
using workload::Direction;
using workload::Engine;
using workload::FfnKindName;
using workload::FindModel;
using workload::GraphOptions;
using workload::LayerGraph;
using workload::LayerKind;
using workload::ModelGraph;
using workload::ModelSpec;
using workload::ModelZoo;
using workload::Operator;
using workload::OpKind;
using workload::ParameterCount;
using workload::VectorFnName;

absl::Status ReadFile(const std::string& path, std::string* contents) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read '", path, "'"));
  *contents = buffer.str();
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::error_code ec;
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot create folder for '", path, "'"));
  // Write to a temporary name and rename, so a reader never sees half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return absl::InvalidArgumentError(absl::StrCat("cannot write '", tmp, "'"));
    f << contents;
    if (!f.flush()) return absl::InvalidArgumentError(absl::StrCat("cannot write '", tmp, "'"));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot rename to '", path, "'"));
  return absl::OkStatus();
}

absl::Status ListModels(std::ostream& out) {
  out << absl::StrFormat("%-16s %6s %6s %5s %4s %6s %6s %5s %8s %10s %10s  %s\n", "name", "layers",
                         "hidden", "heads", "kv", "ffn", "vocab", "seq", "ffn_kind", "params",
                         "published", "description");
  for (const ModelSpec& m : ModelZoo()) {
    out << absl::StrFormat("%-16s %6d %6d %5d %4d %6d %6d %5d %8s %9.3fB %9.3fB  %s\n", m.name,
                           m.num_layers, m.hidden, m.heads, m.KvHeads(), m.ffn, m.vocab, m.seq_len,
                           FfnKindName(m.ffn_kind), static_cast<double>(ParameterCount(m)) / 1e9,
                           static_cast<double>(m.published_params) / 1e9, m.description);
  }
  return absl::OkStatus();
}

absl::Status PredictJob(const std::string& job_path, bool json, std::ostream& out) {
  std::string text;
  PHAZE_RETURN_IF_ERROR(ReadFile(job_path, &text));
  PHAZE_ASSIGN_OR_RETURN(JobSpec job, ParseJobYaml(text));
  sched::CbcBackend cbc;
  PHAZE_ASSIGN_OR_RETURN(experiments::Prediction p, experiments::Predict(job, cbc));
  if (json) {
    out << experiments::PredictionJson(p).dump(2) << "\n";
  } else {
    out << experiments::PredictionText(p);
  }
  return absl::OkStatus();
}

absl::Status ValidateRuns(const std::string& path, bool json, std::ostream& out) {
  std::string text;
  PHAZE_RETURN_IF_ERROR(ReadFile(path, &text));
  nlohmann::json runs = nlohmann::json::parse(text, nullptr, false);
  if (runs.is_discarded()) return absl::InvalidArgumentError(path + ": not valid JSON");
  sched::CbcBackend cbc;
  PHAZE_ASSIGN_OR_RETURN(std::vector<experiments::ValidationRow> rows,
                         experiments::ValidateAgainstPublished(runs, cbc, true));
  if (!json) {
    out << experiments::ValidationTable(rows);
    return absl::OkStatus();
  }
  nlohmann::json j = nlohmann::json::array();
  for (const experiments::ValidationRow& r : rows) {
    j.push_back({{"id", r.id},
                 {"measured", r.measured_what},
                 {"measured_iteration_s", r.measured_iteration_s},
                 {"error", r.error},
                 {"assumed", r.assumed},
                 {"as_published", experiments::PredictionJson(r.as_published)},
                 {"dp_best", experiments::PredictionJson(r.dp_best)}});
  }
  out << j.dump(2) << "\n";
  return absl::OkStatus();
}

namespace {

nlohmann::json BillJson(const arch::ChipCost& c) {
  return {{"area_mm2",
           {{"cores", c.area.cores_mm2},
            {"sram", c.area.glb_mm2},
            {"glb_ports", c.area.glb_ports_mm2},
            {"noc", c.area.noc_mm2},
            {"hbm", c.area.hbm_mm2},
            {"links", c.area.links_mm2},
            {"uncore", c.area.uncore_mm2},
            {"shoreline_pad", c.area.shoreline_pad_mm2},
            {"total", c.area.total_mm2}}},
          {"power_w",
           {{"tensor", c.power.tensor_w},
            {"vector", c.power.vector_w},
            {"glb", c.power.glb_w},
            {"hbm", c.power.hbm_w},
            {"links", c.power.links_w},
            {"leakage", c.power.leakage_w},
            {"total", c.power.total_w}}},
          {"hbm_stacks", c.hbm_stacks},
          {"max_hbm_stacks", c.max_hbm_stacks},
          {"fits_reticle", c.fits_reticle},
          {"glb_banks", c.glb_banks}};
}

std::string BillText(const arch::ChipCost& c) {
  return absl::StrFormat(
      "cores %.1f sram %.1f ports %.1f noc %.1f hbm %.1f links %.1f uncore %.1f%s | tensor %.1f "
      "vector %.1f glb %.1f hbm %.1f links %.1f leakage %.1f",
      c.area.cores_mm2, c.area.glb_mm2, c.area.glb_ports_mm2, c.area.noc_mm2, c.area.hbm_mm2,
      c.area.links_mm2, c.area.uncore_mm2,
      absl::StrCat(c.area.shoreline_pad_mm2 > 0
                       ? absl::StrFormat(" edge pad %.1f", c.area.shoreline_pad_mm2)
                       : "",
                   c.fits_reticle ? "" : " (over the reticle)"),
      c.power.tensor_w, c.power.vector_w, c.power.glb_w, c.power.hbm_w, c.power.links_w,
      c.power.leakage_w);
}

// The bill of every fixed chip of a job at each of its HBM sizes, with the budget's verdict.
absl::Status BillJobChips(const std::string& job_path, bool json, std::ostream& out) {
  std::string text;
  PHAZE_RETURN_IF_ERROR(ReadFile(job_path, &text));
  PHAZE_ASSIGN_OR_RETURN(JobSpec job, ParseJobYaml(text));
  if (job.fixed_architectures.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        job_path,
        ": phaze chips bills a job's fixed chips (architecture.preset or .fixed); this "
        "job has a space (phaze run reports the bill of every point it places)"));
  }
  nlohmann::json rows = nlohmann::json::array();
  if (!json) {
    out << absl::StrFormat("%-40s %5s %6s %9s %7s  %-30s %s\n", "chip", "hbm", "stacks", "area_mm2",
                           "tdp_w", "budget", "area (mm^2) | power (W)");
  }
  for (const arch::Architecture& a : job.fixed_architectures) {
    const std::string name = a.name.empty() ? a.Describe() : a.name;
    for (int64_t hbm : eval::HbmSizesFor(job, a)) {
      PHAZE_ASSIGN_OR_RETURN(arch::ChipCost c, arch::EstimateChip(a, hbm, job.chip_model));
      const std::string over = eval::OverBudget(job, a, hbm);
      if (json) {
        nlohmann::json row = BillJson(c);
        row["chip"] = name;
        row["hbm_gib"] = hbm / kGiB;
        row["within_budget"] = over.empty();
        if (!over.empty()) row["over_budget"] = over;
        rows.push_back(row);
        continue;
      }
      out << absl::StrFormat("%-40s %5d %6d %9.1f %7.1f  %-30s %s\n", name, hbm / kGiB,
                             c.hbm_stacks, c.area.total_mm2, c.power.total_w,
                             over.empty() ? "within" : over, BillText(c));
    }
  }
  if (json) out << rows.dump(2) << "\n";
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateChips(const std::string& job_path, bool json, std::ostream& out) {
  if (!job_path.empty()) return BillJobChips(job_path, json, out);
  const arch::ChipCostConstants constants = arch::DefaultChipCostConstants();
  nlohmann::json rows = nlohmann::json::array();
  if (!json) {
    out << absl::StrFormat("%-18s %9s %9s %7s  %6s %6s %7s  %s\n", "chip", "die_mm2", "model",
                           "error", "tdp_w", "model", "error", "area (mm^2) | power (W)");
  }
  for (const arch::PublishedChip& chip : arch::PublishedChips()) {
    const arch::ChipCost c = arch::Estimate(chip.resources, constants);
    const double area_error = c.area.total_mm2 / chip.die_mm2 - 1;
    const double power_error = c.power.total_w / chip.tdp_w - 1;
    if (json) {
      nlohmann::json row = BillJson(c);
      row["chip"] = chip.resources.name;
      row["source"] = chip.source;
      row["die_mm2"] = chip.die_mm2;
      row["predicted_mm2"] = c.area.total_mm2;
      row["area_error"] = area_error;
      row["tdp_w"] = chip.tdp_w;
      row["predicted_w"] = c.power.total_w;
      row["power_error"] = power_error;
      rows.push_back(row);
      continue;
    }
    out << absl::StrFormat("%-18s %9.0f %9.1f %+6.1f%%  %6.0f %6.1f %+6.1f%%  %s\n",
                           chip.resources.name, chip.die_mm2, c.area.total_mm2, 100 * area_error,
                           chip.tdp_w, c.power.total_w, 100 * power_error, BillText(c));
  }
  if (json) out << rows.dump(2) << "\n";
  return absl::OkStatus();
}

absl::Status DescribeSpace(const std::string& job_path, std::ostream& out) {
  std::string text;
  PHAZE_RETURN_IF_ERROR(ReadFile(job_path, &text));
  PHAZE_ASSIGN_OR_RETURN(JobSpec job, ParseJobYaml(text));
  const CandidateSpace space(job);
  int64_t valid = 0;
  double min_area = std::numeric_limits<double>::infinity(), max_area = 0;
  std::map<int64_t, int64_t> valid_by_tc;
  for (int64_t i = 0; i < space.NumArchitectures(); ++i) {
    const ArchCandidate c = space.ArchitectureAt(i);
    if (!c.valid) continue;
    ++valid;
    min_area = std::min(min_area, c.area_um2);
    max_area = std::max(max_area, c.area_um2);
    ++valid_by_tc[c.arch.num_tc];
  }
  out << "job:            " << job.name << "\n";
  out << "model:          " << job.model.name << "\n";
  out << "architectures:  " << space.NumArchitectures() << " in the space, " << valid
      << " valid (inside the area window)\n";
  if (job.space.has_value()) {
    out << absl::StrFormat(
        "area window:    %.3f .. %.3f mm^2 (min fraction %.2f, single-core %.2f)\n",
        job.space->min_area_fraction * job.space->max_area_um2 / 1e6, job.space->max_area_um2 / 1e6,
        job.space->min_area_fraction, job.space->single_core_min_area_fraction);
  }
  if (valid > 0) {
    out << absl::StrFormat("valid areas:    %.3f .. %.3f mm^2\n", min_area / 1e6, max_area / 1e6);
  }
  const bool stacks = job.space.has_value() && !job.space->hbm_stacks.empty();
  out << "micro-batches:  " << job.training.micro_batch_sizes.size()
      << (stacks ? ", HBM sizes: 1 per chip (its stacks)"
                 : absl::StrCat(", HBM sizes: ", job.hbm_bytes.size()))
      << ", recompute modes: " << job.training.recompute.size() << "\n";
  out << "candidates:     " << valid * static_cast<int64_t>(job.training.micro_batch_sizes.size())
      << " evaluations (valid architectures x micro-batch sizes)\n";
  out << "valid by tensor-core count:\n";
  for (const auto& [tc, count] : valid_by_tc) {
    out << absl::StrFormat("  num_tc %5d: %6d\n", tc, count);
  }
  return absl::OkStatus();
}

namespace {

std::string Shape(const Operator& op) {
  switch (op.kind) {
    case OpKind::kGemm:
      return absl::StrFormat("%dx[%dx%d->%d]", op.gemm.batch, op.gemm.m, op.gemm.k, op.gemm.n);
    case OpKind::kVector: return absl::StrFormat("%s %d", VectorFnName(op.fn), op.elements);
    case OpKind::kAllReduce:
      return absl::StrFormat("ring %d B over %d", op.allreduce_bytes, op.group_size);
  }
  return "";
}

const char* EngineName(Engine e) {
  switch (e) {
    case Engine::kTensor: return "TC";
    case Engine::kVector: return "VC";
    case Engine::kLink: return "LINK";
  }
  return "?";
}

}  // namespace

absl::Status DescribeLayers(const LayerArgs& args, std::ostream& out) {
  ModelSpec model;
  Architecture arch;
  GraphOptions graph_options;
  graph_options.compat_backward = args.compat;
  sched::SolveOptions solve = eval::SolveOptionsOf(eval::SolverSpec{});
  if (!args.job.empty()) {
    std::string text;
    PHAZE_RETURN_IF_ERROR(ReadFile(args.job, &text));
    PHAZE_ASSIGN_OR_RETURN(JobSpec job, ParseJobYaml(text));
    if (job.fixed_architectures.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(args.job, ": architecture: phaze layer needs a fixed chip, not a space"));
    }
    model = job.model;
    arch = job.fixed_architectures.front();
    graph_options.compat_backward = args.compat || job.compat_backward;
    graph_options.tp_overlap = job.training.tp_overlap;
    graph_options.fp32_main_grads = job.training.fp32_main_grads;
    graph_options.sequence_parallel = job.training.sequence_parallel.back();
    solve = eval::SolveOptionsOf(job.solver);
  } else {
    if (args.model.empty()) return absl::InvalidArgumentError("layer: give --model or --job");
    PHAZE_ASSIGN_OR_RETURN(model, FindModel(args.model));
    PHAZE_ASSIGN_OR_RETURN(arch, FindPreset(args.arch));
  }
  PHAZE_ASSIGN_OR_RETURN(
      ModelGraph g, BuildModelGraph(model, args.micro_batch, args.tensor_width, graph_options));
  CostOptions cost;
  cost.mode = args.compat ? CostMode::kCompat : CostMode::kImproved;
  nlohmann::json json = nlohmann::json::array();
  if (!args.json) {
    out << absl::StrFormat("%s on %s (%s), micro-batch %d, tensor width %d, %s cost model\n",
                           model.name, arch.name, arch.Describe(), args.micro_batch,
                           args.tensor_width, args.compat ? "compat" : "improved");
  }
  for (const LayerGraph* layer : {&g.embedding, &g.block, &g.head}) {
    const int64_t repeats = layer->kind == LayerKind::kBlock ? g.num_blocks : 1;
    if (!args.json) {
      out << absl::StrFormat(
          "\n== layer %s (x%d): params %.3f MB/rank, stash %.3f MB, input %.3f MB\n", layer->name,
          repeats, static_cast<double>(layer->param_bytes) / 1e6,
          static_cast<double>(layer->stash_bytes) / 1e6,
          static_cast<double>(layer->input_bytes) / 1e6);
    }
    for (const auto* ops : {&layer->forward, &layer->backward}) {
      const std::vector<OpCost> costs = CostOperators(*ops, arch, cost);
      double sum_one = 0, sum_all = 0;
      for (size_t i = 0; i < ops->size(); ++i) {
        const Operator& op = (*ops)[i];
        sum_one += costs[i].single_core_s;
        sum_all += costs[i].all_cores_s;
        if (args.json) {
          json.push_back({{"layer", layer->name},
                          {"direction", op.direction == Direction::kForward ? "fwd" : "bwd"},
                          {"op", op.name},
                          {"engine", EngineName(op.engine())},
                          {"shape", Shape(op)},
                          {"flops", op.Flops()},
                          {"single_core_s", costs[i].single_core_s},
                          {"all_cores_s", costs[i].all_cores_s},
                          {"energy_j", costs[i].energy_j}});
          continue;
        }
        if (i == 0) {
          out << absl::StrFormat("  %s\n  %-28s %-4s %-34s %12s %12s %10s\n",
                                 op.direction == Direction::kForward ? "forward" : "backward", "op",
                                 "eng", "shape", "1 core us", "all cores us", "energy uJ");
        }
        out << absl::StrFormat("  %-28s %-4s %-34s %12.3f %12.3f %10.3f\n", op.name,
                               EngineName(op.engine()), Shape(op), costs[i].single_core_s * 1e6,
                               costs[i].all_cores_s * 1e6, costs[i].energy_j * 1e6);
      }
      if (!args.json) {
        out << absl::StrFormat("  %-28s %-4s %-34s %12.3f %12.3f\n", "sum (serial)", "", "",
                               sum_one * 1e6, sum_all * 1e6);
        const sched::Problem problem =
            eval::SchedulingProblem(*ops, costs, arch, graph_options.tp_overlap);
        sched::CbcBackend cbc;
        if (args.time_limit_s > 0) solve.time_limit_s = args.time_limit_s;
        PHAZE_ASSIGN_OR_RETURN(sched::Schedule s,
                               sched::ScheduleLayer(problem, solve, cbc, nullptr));
        const sched::Schedule list = sched::ListSchedule(problem);
        out << absl::StrFormat(
            "  schedule: makespan %.3f us (%s, gap %.4f, lower bound %.3f us, list schedule "
            "%.3f us, %s, %d nodes)\n",
            s.makespan_s * 1e6, sched::SolveStatusName(s.status), s.gap, s.lower_bound_s * 1e6,
            list.makespan_s * 1e6,
            s.mip_built        ? "MILP built"
            : s.order_searched ? "exact order search"
                               : "MILP skipped",
            s.nodes);
        out << absl::StrFormat("  bounds before solving: lower %.3f us\n",
                               sched::LowerBound(problem) * 1e6);
      }
    }
  }
  if (args.json) out << json.dump(2) << "\n";
  return absl::OkStatus();
}

ProgressBar::ProgressBar(bool enabled)
    : enabled_(enabled && isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

void ProgressBar::Update(int64_t done, int64_t planned, const std::string& best) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done != planned && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction =
      planned > 0 ? static_cast<double>(done) / static_cast<double>(planned) : 1.0;
  constexpr int kWidth = 30;
  std::string bar(static_cast<size_t>(fraction * kWidth), '#');
  bar.resize(kWidth, '.');
  std::cerr << absl::StrFormat("\r[%s] %d/%d %5.1f%% %7.1f eval/s  %s   ", bar, done, planned,
                               100 * fraction,
                               elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0, best)
            << std::flush;
}

void ProgressBar::Finish() {
  if (enabled_) std::cerr << "\n";
}

std::string DescribeBest(const std::optional<DesignPoint>& best) {
  if (!best.has_value()) return "none feasible yet";
  return absl::StrFormat("best %.4g samples/s at %.1f mm^2", best->throughput_samples_per_s,
                         best->area_um2 / 1e6);
}

absl::Status WriteOutputs(const JobSpec& job, const SearchState& state,
                          const report::JobPageInfo& info, const std::string& out_dir) {
  const std::filesystem::path dir(out_dir);
  PHAZE_RETURN_IF_ERROR(
      WriteFile((dir / "best.json").string(), BestJson(job, state).dump(2) + "\n"));
  PHAZE_RETURN_IF_ERROR(
      WriteFile((dir / "front.json").string(), FrontJson(job, state).dump(2) + "\n"));
  PHAZE_RETURN_IF_ERROR(WriteFile((dir / "results.csv").string(), ResultsCsv(state)));
  PHAZE_RETURN_IF_ERROR(
      WriteFile((dir / "report.html").string(), report::JobPageHtml(job, state, info)));
  return WriteFile(
      (dir / "front.svg").string(),
      FrontSvg(state, ColorBy::kHbm, absl::StrCat(job.name, ": throughput against chip area")));
}

namespace {

// The job page of a search that ran to completion in this process: every candidate of its plan
// (the space less what the area window and the search strategy leave out) was evaluated or pruned.
report::JobPageInfo LocalPageInfo(const SearchState& state) {
  report::JobPageInfo info;
  info.job_id = "in-process";
  info.state = "succeeded";
  const SearchStats& s = state.stats();
  info.candidates_done = s.evaluated + s.pruned + s.errors;
  info.candidates_total = info.candidates_done;
  info.candidates_pruned = s.pruned;
  info.candidates_failed = s.errors;
  return info;
}

}  // namespace

absl::Status RunJob(const RunArgs& args, std::ostream& out) {
  std::string text;
  PHAZE_RETURN_IF_ERROR(ReadFile(args.job_path, &text));
  PHAZE_ASSIGN_OR_RETURN(JobSpec job, ParseJobYaml(text));
  PHAZE_ASSIGN_OR_RETURN(std::unique_ptr<Evaluator> evaluator, Evaluator::Create(job));
  evaluator->SetClock([] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  });
  const int threads = args.threads > 0
                          ? args.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  out << "phaze run (in process): job '" << job.name << "', " << evaluator->NumCandidates()
      << " candidates, " << threads << " threads\n";
  ProgressBar bar(args.progress);
  const auto start = std::chrono::steady_clock::now();
  const SearchState state = RunLocal(*evaluator, job.search, threads, [&bar](const Progress& p) {
    bar.Update(p.done, p.planned, DescribeBest(p.best));
  });
  bar.Finish();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PHAZE_RETURN_IF_ERROR(WriteOutputs(job, state, LocalPageInfo(state), args.out_dir));
  PrintSummary(state, elapsed, args.out_dir, out);
  return absl::OkStatus();
}

namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs a whole search and returns its state and wall seconds.
std::pair<SearchState, double> TimedSearch(const Evaluator& evaluator, const SearchSpec& search,
                                           int threads) {
  const auto start = std::chrono::steady_clock::now();
  SearchState state = RunLocal(evaluator, search, threads, {});
  return {std::move(state), SecondsSince(start)};
}

}  // namespace

absl::Status CompareJob(const CompareArgs& args, std::ostream& out) {
  std::string text;
  PHAZE_RETURN_IF_ERROR(ReadFile(args.job_path, &text));
  PHAZE_ASSIGN_OR_RETURN(JobSpec job, ParseJobYaml(text));
  if (!job.space.has_value()) {
    return absl::InvalidArgumentError("architecture: compare needs a space (architecture.space)");
  }
  const int threads = args.threads > 0
                          ? args.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::error_code ec;
  std::filesystem::create_directories(args.out_dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--out: cannot create ", args.out_dir));
  nlohmann::json result = {{"job", job.name},
                           {"model", job.model.name},
                           {"accelerators", job.training.accelerators},
                           {"global_batch", job.training.global_batch},
                           {"micro_batch_sizes", job.training.micro_batch_sizes},
                           {"threads", threads}};
  result["budget"] = {{"chip_area_mm2", job.budget.chip_area_mm2},
                      {"tdp_w", job.budget.tdp_w},
                      {"shoreline", job.budget.shoreline},
                      {"reticle", job.budget.reticle}};
  if (job.training.fixed_strategy.has_value()) {
    const Strategy& f = *job.training.fixed_strategy;
    result["fixed_strategy"] = {{"pipeline", f.pipeline}, {"tensor", f.tensor}, {"data", f.data}};
  }
  auto stats_json = [](const SearchState& state, double seconds, int64_t candidates, int t) {
    nlohmann::json j = StatsJson(state.stats());
    j["seconds"] = seconds;
    j["candidates"] = candidates;
    j["visited_per_s_per_core"] =
        seconds > 0
            ? static_cast<double>(state.stats().evaluated + state.stats().pruned) / (seconds * t)
            : 0.0;
    j["evaluated_per_s_per_core"] =
        seconds > 0 ? static_cast<double>(state.stats().evaluated) / (seconds * t) : 0.0;
    return j;
  };

  out << "(a, b) TPUv4-like chip: fixed strategy and placement DP\n" << std::flush;
  PHAZE_ASSIGN_OR_RETURN(std::unique_ptr<Evaluator> tpu_eval,
                         Evaluator::Create(OnPreset(job, "tpuv4")));
  const auto tpu = TimedSearch(*tpu_eval, OnPreset(job, "tpuv4").search, threads);
  if (job.training.fixed_strategy.has_value()) {
    result["rows"]["a"] = BestRowJson(tpu.first, /*fixed=*/true, job.chip_model);
  } else {
    result["rows"]["a"] = {{"feasible", false}, {"note", "the job names no fixed strategy"}};
  }
  result["rows"]["b"] = BestRowJson(tpu.first, false, job.chip_model);
  result["rows"]["b"]["seconds"] = tpu.second;

  out << "(c) decoupled: the chip with the lowest single-accelerator latency, then placed\n"
      << std::flush;
  PHAZE_ASSIGN_OR_RETURN(std::unique_ptr<Evaluator> space_eval, Evaluator::Create(job));
  auto start = std::chrono::steady_clock::now();
  PHAZE_ASSIGN_OR_RETURN(DecoupledPick pick, PickBySingleDeviceLatency(*space_eval, threads));
  const double pick_s = SecondsSince(start);
  PHAZE_ASSIGN_OR_RETURN(std::unique_ptr<Evaluator> chip_eval,
                         Evaluator::Create(OnChip(job, pick.arch)));
  const auto chip = TimedSearch(*chip_eval, OnChip(job, pick.arch).search, threads);
  result["rows"]["c"] = BestRowJson(chip.first, false, job.chip_model);
  result["rows"]["c"]["seconds"] = pick_s + chip.second;
  result["rows"]["c"]["pick"] = {
      {"architecture", pick.arch.Describe()}, {"area_mm2", pick.area_um2 / 1e6},
      {"micro_batch", pick.micro_batch},      {"latency_per_sample_s", pick.latency_per_sample_s},
      {"chips_costed", pick.chips_costed},    {"seconds", pick_s}};

  out << "(d) the original's descending-area bucket heuristic\n" << std::flush;
  PHAZE_ASSIGN_OR_RETURN(std::unique_ptr<Evaluator> bucket_eval,
                         Evaluator::Create(WithStrategy(job, SearchStrategy::kAreaBuckets)));
  const auto buckets =
      TimedSearch(*bucket_eval, WithStrategy(job, SearchStrategy::kAreaBuckets).search, threads);
  result["rows"]["d"] = BestRowJson(buckets.first, false, job.chip_model);
  result["rows"]["d"]["search"] =
      stats_json(buckets.first, buckets.second, bucket_eval->NumCandidates(), threads);

  out << "(e) co-optimised search (" << SearchStrategyName(job.search.strategy) << ")\n"
      << std::flush;
  const auto full =
      TimedSearch(*space_eval, job.search, threads);  // the job as written: (c)'s evaluator
  result["rows"]["e"] = BestRowJson(full.first, false, job.chip_model);
  result["rows"]["e"]["search"] =
      stats_json(full.first, full.second, space_eval->NumCandidates(), threads);
  result["rows"]["e"]["front_points"] = full.first.front().Points().size();

  const std::filesystem::path dir(args.out_dir);
  PHAZE_RETURN_IF_ERROR(WriteFile((dir / "compare.json").string(), result.dump(2) + "\n"));
  PHAZE_RETURN_IF_ERROR(
      WriteFile((dir / "front.svg").string(),
                FrontSvg(full.first, ColorBy::kHbm,
                         absl::StrCat(job.model.name, ": Pareto front, coloured by HBM size"))));
  PHAZE_RETURN_IF_ERROR(WriteFile(
      (dir / "front-mbs.svg").string(),
      FrontSvg(full.first, ColorBy::kMicroBatch,
               absl::StrCat(job.model.name, ": Pareto front, coloured by micro-batch size"))));
  const std::string page = (dir / "report.html").string();
  report::JobPageInfo info = LocalPageInfo(full.first);
  info.job_id = "compare (e)";
  PHAZE_RETURN_IF_ERROR(WriteFile(page, report::JobPageHtml(job, full.first, info)));
  for (const char* key : {"a", "b", "c", "d", "e"}) {
    const nlohmann::json& row = result["rows"][key];
    if (row.value("feasible", false)) {
      out << absl::StrFormat(
          "  (%s) %10.4g samples/s  %s, mbs %d, HBM %d GiB, recompute %s, "
          "(p, t, d) = (%d, %d, %d)\n",
          key, row["throughput_samples_per_s"].get<double>(),
          row["architecture"].get<std::string>(), row["micro_batch"].get<int>(),
          row["hbm_gib"].get<int>(), row["recompute"].get<std::string>(),
          row["pipeline"].get<int>(), row["tensor"].get<int>(), row["data"].get<int>());
    } else {
      out << "  (" << key << ") infeasible\n";
    }
  }
  out << "wrote " << (dir / "compare.json").string() << ", front.svg, front-mbs.svg\n"
      << "report: " << page << "\nplot: " << (dir / "front.svg").string() << "\n";
  return absl::OkStatus();
}

void PrintSummary(const SearchState& state, double elapsed_s, const std::string& out_dir,
                  std::ostream& out) {
  const SearchStats& s = state.stats();
  out << absl::StrFormat(
      "evaluated %d candidates in %.1f s (%.1f eval/s): %d feasible, %d "
      "infeasible, %d pruned by bounds, %d errors\n",
      s.evaluated, elapsed_s,
      elapsed_s > 0 ? static_cast<double>(s.evaluated + s.pruned) / elapsed_s : 0.0, s.feasible,
      s.infeasible, s.pruned, s.errors);
  out << absl::StrFormat(
      "ILP: %d layer schedules, %d MILPs built, %d solved exactly by order search, %d skipped by "
      "bounds, %d skipped because their width cannot win, %d cache hits, %d hit a node or time "
      "limit, mean gap %.5f, max gap %.4f\n",
      s.ilp.layers, s.ilp.built, s.ilp.searched, s.ilp.skipped_by_bounds,
      s.ilp.skipped_by_dominance, s.ilp.cache_hits, s.ilp.time_outs,
      s.ilp.layers > 0 ? s.ilp.sum_gap / static_cast<double>(s.ilp.layers) : 0.0, s.ilp.max_gap);
  if (const double total = s.phases.Total(); total > 0) {
    out << absl::StrFormat(
        "phases (%.1f s of evaluation, summed over threads): cost model %.1f%%, layer bounds "
        "%.1f%%, MILP %.1f%%, placement DP %.1f%%\n",
        total, 100 * s.phases.cost_s / total, 100 * s.phases.bounds_s / total,
        100 * s.phases.milp_s / total, 100 * s.phases.placement_s / total);
  }
  if (state.best().Get().has_value()) {
    const nlohmann::json best = DesignPointJson(state, *state.best().Get());
    const nlohmann::json& pl = best["placement"];
    out << absl::StrFormat(
        "best: %.6g samples/s on %s (%.1f mm^2, %.0f W by the chip model), micro-batch %d, "
        "HBM %d GiB, recompute %s, (p, t, d) = (%d, %d, %d)\n",
        pl["throughput_samples_per_s"].get<double>(),
        best["architecture"]["describe"].get<std::string>(),
        best["chip_model"].value("area_mm2", 0.0), best["chip_model"].value("tdp_w", 0.0),
        best["micro_batch"].get<int64_t>(), best["hbm_gib"].get<int64_t>(),
        best["recompute"].get<std::string>(), pl["pipeline"].get<int64_t>(),
        pl["tensor"].get<int64_t>(), pl["data"].get<int64_t>());
  } else {
    out << "best: no feasible design (nothing fits the HBM sizes or device count)\n";
  }
  const std::filesystem::path dir(out_dir);
  out << "front: " << state.front().size() << " points; wrote " << (dir / "best.json").string()
      << ", front.json, results.csv\n"
      << "report: " << (dir / "report.html").string() << "\nplot: " << (dir / "front.svg").string()
      << "\n";
}

}  // namespace phaze::cli
