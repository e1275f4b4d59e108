#include "common/experiments/predict.h"

#include <cmath>
#include <regex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/arch/chip_model.h"
#include "common/base/status_macros.h"
#include "common/eval/eval.h"
#include "common/report/report.h"
#include "common/workload/layer_graph.h"

namespace phaze::experiments {

using arch::Architecture;
using eval::EvaluationResult;
using eval::Evaluator;
using job::JobSpec;
using workload::ModelGraph;
using workload::Operator;
using workload::OpKind;
namespace {

struct Flops {
  double forward = 0;         // GEMM FLOPs of one micro-batch's forward, whole model
  double forward_blocks = 0;  // of which the transformer blocks
  double attention_core = 0;  // of which the attention core (QK^T and PV)
  double backward = 0;
};

Flops GemmFlops(const ModelGraph& g) {
  Flops f;
  for (const auto& [layer, count] : workload::RepeatedLayers(g)) {
    for (const Operator& op : layer->forward) {
      if (op.kind != OpKind::kGemm) continue;
      const double flops = count * static_cast<double>(op.Flops());
      f.forward += flops;
      if (layer == &g.block) f.forward_blocks += flops;
      if (op.attention_core) f.attention_core += flops;
    }
    for (const Operator& op : layer->backward) {
      if (op.kind == OpKind::kGemm) f.backward += count * static_cast<double>(op.Flops());
    }
  }
  return f;
}

// The scale-out network a row describes in words, e.g. "NVLink inside a node of 8; 4 x 100 Gb/s
// Omni-Path per node between nodes": the node's links shared by its GPUs. Returns false (and
// leaves `a` alone) when the text names no "N x G Gb/s ... per node".
bool ApplyNetworkText(const std::string& text, Architecture& a) {
  static const std::regex kScaleOut(R"((\d+)\s*x\s*(\d+(?:\.\d+)?)\s*Gb/s[^;]*per node)");
  static const std::regex kNode(R"(node of (\d+))");
  std::smatch m;
  if (!std::regex_search(text, m, kScaleOut)) return false;
  const double node_bytes_per_s = std::stod(m[1].str()) * std::stod(m[2].str()) * 1e9 / 8;
  std::smatch n;
  const int64_t gpus_per_node =
      std::regex_search(text, n, kNode) ? std::stoll(n[1].str()) : a.scale_up_domain;
  if (gpus_per_node <= 0 || node_bytes_per_s <= 0) return false;
  a.scale_up_domain = gpus_per_node;
  a.scale_out_bandwidth_bytes_per_s = node_bytes_per_s / static_cast<double>(gpus_per_node);
  return true;
}

}  // namespace

absl::StatusOr<Prediction> Predict(const JobSpec& job, sched::SchedulerBackend& backend) {
  if (job.fixed_architectures.empty()) {
    return absl::InvalidArgumentError(
        "architecture: predict needs a fixed chip (preset or fixed), not a space");
  }
  JobSpec one = job;
  one.fixed_architectures = {job.fixed_architectures.front()};
  one.training.micro_batch_sizes = {job.training.micro_batch_sizes.front()};
  one.hbm_bytes = {job.hbm_bytes.front()};
  one.training.recompute = {job.training.recompute.front()};
  PHAZE_ASSIGN_OR_RETURN(std::unique_ptr<Evaluator> evaluator, Evaluator::Create(one));
  PHAZE_ASSIGN_OR_RETURN(EvaluationResult r, evaluator->Evaluate(0, backend, nullptr));
  if (!r.valid || r.points.empty()) {
    return absl::InvalidArgumentError("architecture: the chip is outside the job's area window");
  }
  Prediction p;
  p.arch = r.arch;
  p.chip_model = job.chip_model;
  p.micro_batch = r.micro_batch;
  p.hbm_bytes = r.points.front().hbm_bytes;
  p.from_fixed_strategy = r.points.front().has_fixed;
  p.placement = p.from_fixed_strategy ? r.points.front().fixed : r.points.front().search;
  const place::Strategy& s = p.placement.strategy;
  p.devices = s.pipeline * s.tensor * s.data;
  PHAZE_ASSIGN_OR_RETURN(ModelGraph g, workload::BuildModelGraph(one.model, p.micro_batch, 1, {}));
  const Flops f = GemmFlops(g);
  const double micro_batches_per_step =
      static_cast<double>(one.training.global_batch) / static_cast<double>(p.micro_batch);
  p.model_flops_per_step = micro_batches_per_step * (f.forward + f.backward);
  const double recomputed = p.placement.recompute == place::Recompute::kFull ? f.forward_blocks
                            : p.placement.recompute == place::Recompute::kSelective
                                ? f.attention_core
                                : 0.0;
  p.hardware_flops_per_step = p.model_flops_per_step + micro_batches_per_step * recomputed;
  if (p.placement.feasible && p.placement.time_per_batch_s > 0) {
    const double peak =
        static_cast<double>(p.devices) * r.arch.PeakFlopsPerS() * p.placement.time_per_batch_s;
    p.mfu = p.model_flops_per_step / peak;
    p.hfu = p.hardware_flops_per_step / peak;
  }
  return p;
}

nlohmann::json PredictionJson(const Prediction& p) {
  return {{"architecture", p.arch.name.empty() ? p.arch.Describe() : p.arch.name},
          {"micro_batch", p.micro_batch},
          {"hbm_gib", p.hbm_bytes / kGiB},
          {"strategy_source", p.from_fixed_strategy ? "fixed" : "dp"},
          {"devices", p.devices},
          {"model_flops_per_step", p.model_flops_per_step},
          {"hardware_flops_per_step", p.hardware_flops_per_step},
          {"mfu", p.mfu},
          {"hfu", p.hfu},
          {"placement", report::PlacementJson(p.placement)}};
}

std::string PredictionText(const Prediction& p) {
  const place::Placement& pl = p.placement;
  const place::Strategy& s = pl.strategy;
  std::string out = absl::StrFormat(
      "chip %s, micro-batch %d, HBM %d GiB, recompute %s\n"
      "strategy (%s): p=%d t=%d d=%d v=%d sharding=%s split=%s on %d devices\n",
      p.arch.name.empty() ? p.arch.Describe() : p.arch.name, p.micro_batch, p.hbm_bytes / kGiB,
      place::RecomputeName(pl.recompute), p.from_fixed_strategy ? "fixed" : "DP's best", s.pipeline,
      s.tensor, s.data, s.virtual_stages, place::ShardingName(s.sharding),
      place::SplitName(s.split), p.devices);
  if (!pl.feasible) return out + "infeasible: the strategy does not fit (memory, devices, batch)\n";
  const double t = pl.time_per_batch_s;
  auto row = [&](const char* what, double seconds) {
    return absl::StrFormat("  %-28s %10.4f s  %5.1f%%\n", what, seconds, 100 * seconds / t);
  };
  const place::TimeBreakdown& b = pl.time;
  absl::StrAppend(&out, absl::StrFormat("time per step %.4f s (%d micro-batches), %.4g samples/s\n",
                                        t, pl.micro_batches, pl.throughput_samples_per_s));
  absl::StrAppend(&out, row("forward", b.forward_s), row("backward", b.backward_s),
                  row("recompute", b.recompute_s), row("tensor-parallel comm", b.tp_comm_s),
                  row("pipeline comm", b.pipeline_comm_s));
  if (b.zero3_gather_s > 0) absl::StrAppend(&out, row("ZeRO-3 gathers", b.zero3_gather_s));
  absl::StrAppend(&out, row("pipeline bubble", b.bubble_s),
                  row("data-parallel comm", b.data_comm_s), row("optimizer step", b.optimizer_s));
  const place::MemoryBreakdown& m = pl.memory;
  absl::StrAppend(
      &out,
      absl::StrFormat("memory per device %.2f GiB: weights %.2f, gradients %.2f, optimizer %.2f, "
                      "activations %.2f\n",
                      static_cast<double>(pl.memory_per_device_bytes) / kGiB,
                      static_cast<double>(m.weights_bytes) / kGiB,
                      static_cast<double>(m.gradients_bytes) / kGiB,
                      static_cast<double>(m.optimizer_bytes) / kGiB,
                      static_cast<double>(m.activations_bytes) / kGiB),
      absl::StrFormat("MFU %.1f%%, HFU %.1f%%\n", 100 * p.mfu, 100 * p.hfu));
  absl::StrAppend(&out, ChipModelText(p.arch, p.hbm_bytes, p.chip_model, &pl));
  return out;
}

std::string ChipModelText(const arch::Architecture& a, int64_t hbm_bytes,
                          const arch::ChipModelScales& scales, const place::Placement* placed) {
  const absl::StatusOr<arch::ChipCost> c = arch::EstimateChip(a, hbm_bytes, scales);
  if (!c.ok()) return absl::StrCat("chip model: ", c.status().message(), "\n");
  const arch::AreaBreakdown& area = c->area;
  const arch::PowerBreakdown& w = c->power;
  std::string text = absl::StrFormat(
      "chip model (%d nm; `phaze chips` for its error on real dies): %.1f mm^2 = cores %.1f + SRAM "
      "%.1f + %d GLB banks %.1f + network %.1f + %d HBM stacks %.1f + links %.1f + uncore %.1f%s\n"
      "  TDP-level power %.1f W = tensor %.1f + vector %.1f + GLB %.1f + HBM %.1f + links %.1f + "
      "leakage %.1f\n",
      a.tech_node_nm, area.total_mm2, area.cores_mm2, area.glb_mm2, c->glb_banks,
      area.glb_ports_mm2, area.noc_mm2, c->hbm_stacks, area.hbm_mm2, area.links_mm2,
      area.uncore_mm2,
      absl::StrCat(c->fits_shoreline
                       ? ""
                       : absl::StrFormat(" + %.1f of edge pad (the logic's edge takes %d stacks)",
                                         area.shoreline_pad_mm2, c->max_hbm_stacks),
                   c->fits_reticle
                       ? ""
                       : absl::StrFormat(" (over the %.0f mm^2 reticle)", arch::kReticleMm2)),
      w.total_w, w.tensor_w, w.vector_w, w.glb_w, w.hbm_w, w.links_w, w.leakage_w);
  if (placed != nullptr && placed->feasible) {
    const double dynamic_w = place::DynamicPowerPerDeviceW(*placed);
    absl::StrAppendFormat(&text,
                          "  training power %.1f W per device = the work's dynamic energy %.1f W + "
                          "leakage %.1f W\n",
                          arch::TrainingPowerW(*c, dynamic_w), dynamic_w, w.leakage_w);
  }
  return text;
}

namespace {

absl::StatusOr<int64_t> Int(const nlohmann::json& row, const char* key) {
  if (!row.contains(key) || !row[key].is_number_integer()) {
    return absl::InvalidArgumentError(
        absl::StrCat("run ", row.value("id", "?"), ": ", key, " is missing or not an integer"));
  }
  return row[key].get<int64_t>();
}

}  // namespace

absl::StatusOr<JobSpec> PublishedRunJob(const nlohmann::json& row) {
  JobSpec job;
  job.name = row.value("id", "run");
  PHAZE_ASSIGN_OR_RETURN(job.model, workload::FindModel("megatrongpt3"));
  PHAZE_ASSIGN_OR_RETURN(int64_t layers, Int(row, "layers"));
  PHAZE_ASSIGN_OR_RETURN(int64_t hidden, Int(row, "hidden"));
  PHAZE_ASSIGN_OR_RETURN(int64_t heads, Int(row, "heads"));
  PHAZE_ASSIGN_OR_RETURN(int64_t seq, Int(row, "seq"));
  PHAZE_ASSIGN_OR_RETURN(int64_t vocab, Int(row, "vocab"));
  PHAZE_ASSIGN_OR_RETURN(int64_t t, Int(row, "tensor"));
  PHAZE_ASSIGN_OR_RETURN(int64_t p, Int(row, "pipeline"));
  PHAZE_ASSIGN_OR_RETURN(int64_t gpus, Int(row, "gpus"));
  PHAZE_ASSIGN_OR_RETURN(int64_t batch, Int(row, "global_batch"));
  workload::ModelSpec& m = job.model;
  m.name = job.name;
  m.num_layers = layers;
  m.hidden = hidden;
  m.heads = m.kv_heads = heads;
  m.ffn = 4 * hidden;
  m.seq_len = m.max_positions = seq;
  m.vocab = vocab;
  m.published_params = 0;
  if (t * p <= 0 || gpus % (t * p) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("run ", job.name, ": gpus ", gpus, " is not a multiple of t p = ", t * p));
  }
  const int64_t d = row.contains("data") ? row["data"].get<int64_t>() : gpus / (t * p);
  Architecture chip = arch::A100();
  // A row that names its own network (BLOOM: Omni-Path on Jean Zay) uses it; otherwise, or when
  // the text is not understood, the preset's Selene InfiniBand (the validation row's `assumed`
  // says which).
  if (row.contains("network") && row["network"].is_string()) {
    ApplyNetworkText(row["network"].get<std::string>(), chip);
  }
  job.fixed_architectures = {chip};
  job.hbm_bytes = {job.fixed_architectures.front().hbm_bytes};
  job.training.accelerators = gpus;
  job.training.global_batch = batch;
  job.training.micro_batch_sizes = {row.value("micro_batch", int64_t{1})};
  job.training.recompute = {row.value("recompute", std::string("full")) == "full"
                                ? place::Recompute::kFull
                                : place::Recompute::kNone};
  job.training.optimizer = place::Optimizer::kAdam;
  job.training.max_tensor_width = t;
  place::Strategy s{.pipeline = p, .data = d, .tensor = t, .split = place::Split::kUniform};
  if (row.value("optimizer", std::string()).find("ZeRO stage 1") != std::string::npos) {
    s.sharding = place::Sharding::kZero1;
  }
  job.training.fixed_strategy = s;
  job.training.sharding = {place::Sharding::kNone, place::Sharding::kZero1};
  job.search.strategy = search::SearchStrategy::kExhaustive;
  return job;
}

absl::StatusOr<std::vector<ValidationRow>> ValidateAgainstPublished(
    const nlohmann::json& runs, sched::SchedulerBackend& backend, bool with_dp_best) {
  if (!runs.contains("runs") || !runs["runs"].is_array()) {
    return absl::InvalidArgumentError("validation file: no 'runs' list");
  }
  std::vector<ValidationRow> rows;
  for (const nlohmann::json& run : runs["runs"]) {
    PHAZE_ASSIGN_OR_RETURN(JobSpec job, PublishedRunJob(run));
    ValidationRow row;
    row.id = job.name;
    row.assumed = absl::StrCat("micro-batch ", job.training.micro_batch_sizes.front(),
                               run.contains("micro_batch") ? " (published)" : " (assumed)",
                               ", v = 1, uniform split, ",
                               place::ShardingName(job.training.fixed_strategy->sharding));
    if (run.contains("network")) {
      Architecture probe = arch::A100();
      absl::StrAppend(
          &row.assumed,
          run["network"].is_string() && ApplyNetworkText(run["network"].get<std::string>(), probe)
              ? absl::StrFormat(", scale-out %.2f GB/s per GPU (the row's network)",
                                probe.scale_out_bandwidth_bytes_per_s / 1e9)
              : ", network text not understood: the preset's InfiniBand");
    }
    PHAZE_ASSIGN_OR_RETURN(row.as_published, Predict(job, backend));
    const nlohmann::json& measured = run["measured"];
    if (measured.contains("iteration_s")) {
      row.measured_what = "iteration_s";
      row.measured_iteration_s = measured["iteration_s"].get<double>();
    } else {
      // Narayanan et al. 2021, Eq. 3: 96 B s l h^2 (1 + s / 6h + V / 16 l h) FLOPs per
      // iteration (full recompute, counted), over the published TFLOP/s of every GPU.
      row.measured_what = "tflops_per_gpu";
      const double B = static_cast<double>(job.training.global_batch);
      const double s = static_cast<double>(job.model.seq_len);
      const double l = static_cast<double>(job.model.num_layers);
      const double h = static_cast<double>(job.model.hidden);
      const double V = static_cast<double>(job.model.vocab);
      const double flops = 96 * B * s * l * h * h * (1 + s / (6 * h) + V / (16 * l * h));
      row.measured_iteration_s = flops / (measured["tflops_per_gpu"].get<double>() * 1e12 *
                                          static_cast<double>(job.training.accelerators));
    }
    const place::Placement& pl = row.as_published.placement;
    row.error = pl.feasible ? pl.time_per_batch_s / row.measured_iteration_s - 1 : NAN;
    if (with_dp_best) {
      JobSpec free = job;
      free.training.fixed_strategy.reset();
      PHAZE_ASSIGN_OR_RETURN(row.dp_best, Predict(free, backend));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string ValidationTable(const std::vector<ValidationRow>& rows) {
  std::string out = absl::StrFormat("%-22s %10s %10s %8s  %s\n", "run", "measured_s", "predicted",
                                    "error", "breakdown (s)");
  double sum = 0, worst = 0;
  int n = 0;
  for (const ValidationRow& r : rows) {
    const place::Placement& pl = r.as_published.placement;
    const place::TimeBreakdown& b = pl.time;
    absl::StrAppend(
        &out, absl::StrFormat("%-22s %10.3f %10.3f %+7.1f%%  fwd %.2f bwd %.2f re %.2f tp %.2f "
                              "pp %.2f bubble %.2f dp %.2f opt %.3f; mem %.1f GiB; MFU %.1f%%",
                              r.id, r.measured_iteration_s, pl.time_per_batch_s, 100 * r.error,
                              b.forward_s, b.backward_s, b.recompute_s, b.tp_comm_s,
                              b.pipeline_comm_s, b.bubble_s, b.data_comm_s, b.optimizer_s,
                              static_cast<double>(pl.memory_per_device_bytes) / kGiB,
                              100 * r.as_published.mfu));
    if (!pl.feasible) absl::StrAppend(&out, " INFEASIBLE");
    const place::Placement& dp = r.dp_best.placement;
    if (dp.feasible) {
      const place::Strategy& s = dp.strategy;
      absl::StrAppend(
          &out, absl::StrFormat("; DP's best %.3f s at p=%d t=%d d=%d %s", dp.time_per_batch_s,
                                s.pipeline, s.tensor, s.data, place::ShardingName(s.sharding)));
    }
    absl::StrAppend(&out, "\n");
    if (std::isfinite(r.error)) {
      sum += std::abs(r.error);
      worst = std::max(worst, std::abs(r.error));
      ++n;
    }
  }
  absl::StrAppend(&out, absl::StrFormat("mean absolute error %.1f%%, max %.1f%% over %d runs\n",
                                        n > 0 ? 100 * sum / n : 0.0, 100 * worst, n));
  return out;
}

}  // namespace phaze::experiments
