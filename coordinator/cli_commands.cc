#include "coordinator/cli_commands.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/arch.h"
#include "common/cost_model.h"
#include "common/job.h"
#include "common/layer_graph.h"
#include "common/model.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace phaze::cli {

absl::Status ReadFile(const std::string& path, std::string* contents) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read '", path, "'"));
  *contents = buffer.str();
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

absl::Status DescribeSpace(const std::string& job_path, std::ostream& out) {
  std::string text;
  PHAZE_RETURN_IF_ERROR(ReadFile(job_path, &text));
  PHAZE_ASSIGN_OR_RETURN(JobSpec job, ParseJobYaml(text));
  const JobArchitectures archs(job);
  int64_t valid = 0;
  double min_area = std::numeric_limits<double>::infinity(), max_area = 0;
  std::map<int64_t, int64_t> valid_by_tc;
  for (int64_t i = 0; i < archs.Size(); ++i) {
    const ArchCandidate c = archs.At(i);
    if (!c.valid) continue;
    ++valid;
    min_area = std::min(min_area, c.area_um2);
    max_area = std::max(max_area, c.area_um2);
    ++valid_by_tc[c.arch.num_tc];
  }
  out << "job:            " << job.name << "\n";
  out << "model:          " << job.model.name << "\n";
  out << "architectures:  " << archs.Size() << " in the space, " << valid
      << " valid (inside the area window)\n";
  if (job.space.has_value()) {
    out << absl::StrFormat("area window:    %.3f .. %.3f mm^2 (min fraction %.2f, single-core %.2f)\n",
                           job.space->min_area_fraction * job.space->max_area_um2 / 1e6,
                           job.space->max_area_um2 / 1e6, job.space->min_area_fraction,
                           job.space->single_core_min_area_fraction);
  }
  if (valid > 0) {
    out << absl::StrFormat("valid areas:    %.3f .. %.3f mm^2\n", min_area / 1e6, max_area / 1e6);
  }
  out << "micro-batches:  " << job.training.micro_batch_sizes.size() << ", HBM sizes: "
      << job.hbm_bytes.size() << ", recompute modes: " << job.training.recompute.size() << "\n";
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
    case OpKind::kVector:
      return absl::StrFormat("%s %d", VectorFnName(op.fn), op.elements);
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
  PHAZE_ASSIGN_OR_RETURN(ModelSpec model, FindModel(args.model));
  PHAZE_ASSIGN_OR_RETURN(Architecture arch, FindPreset(args.arch));
  GraphOptions graph_options;
  graph_options.compat_backward = args.compat;
  PHAZE_ASSIGN_OR_RETURN(ModelGraph g, BuildModelGraph(model, args.micro_batch, args.tensor_width,
                                                       graph_options));
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
      }
    }
  }
  if (args.json) out << json.dump(2) << "\n";
  return absl::OkStatus();
}

}  // namespace phaze::cli
