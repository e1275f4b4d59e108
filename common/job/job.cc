#include "common/job/job.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/arch/chip_model.h"
#include "common/base/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace phaze::job {

using arch::Architecture;
using arch::ArchSpaceSpec;
using arch::AreaUm2;
using arch::FindPreset;
using arch::OriginalSpaceSpec;
using arch::PowersOfTwo;
using arch::ValidateArchitecture;
using arch::ValidateSpaceSpec;
using cost::CostMode;
using eval::CandidateSpace;
using eval::TrainingSpec;
using place::Optimizer;
using place::RankOrder;
using place::Recompute;
using place::RecomputeName;
using place::Sharding;
using place::ShardingName;
using place::Split;
using place::Strategy;
using search::SearchStrategy;
using workload::AllowedTensorWidths;
using workload::CheckTensorParallelWidth;
using workload::FfnKind;
using workload::FindModel;
using workload::ModelSpec;
using workload::NormKind;
using workload::NormPosition;
using workload::PositionKind;
using workload::ValidateModel;
namespace {

using Path = std::string;

absl::Status Invalid(const Path& path, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

std::string Where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return "";
  return absl::StrCat(" (line ", mark.line + 1, ")");
}

absl::Status CheckKeys(const YAML::Node& node, const Path& path,
                       const std::set<std::string>& allowed) {
  if (!node.IsMap()) return Invalid(path, absl::StrCat("must be a mapping", Where(node)));
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      return Invalid(path.empty() ? key : absl::StrCat(path, ".", key),
                     absl::StrCat("unknown field", Where(kv.first),
                                  "; allowed: ", absl::StrJoin(allowed, ", ")));
    }
  }
  return absl::OkStatus();
}

Path Join(const Path& path, const std::string& key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}

absl::StatusOr<int64_t> Int(const YAML::Node& node, const Path& path) {
  if (!node.IsScalar()) return Invalid(path, absl::StrCat("must be an integer", Where(node)));
  int64_t value = 0;
  if (!YAML::convert<int64_t>::decode(node, value)) {
    return Invalid(path,
                   absl::StrCat("must be an integer, got '", node.Scalar(), "'", Where(node)));
  }
  return value;
}

// The longest value list a job may give (any space dimension, micro-batch sizes, HBM sizes).
constexpr size_t kMaxListValues = 4096;
// The largest job file.
constexpr size_t kMaxJobBytes = 1 << 20;
// The longest string value (names, modes).
constexpr size_t kMaxStringBytes = 256;
// The largest value of a space dimension (cores, array sides, lanes, GLB MiB).
constexpr int64_t kMaxDimension = int64_t{1} << 20;

absl::StatusOr<int64_t> PositiveInt(const YAML::Node& node, const Path& path) {
  PHAZE_ASSIGN_OR_RETURN(int64_t v, Int(node, path));
  if (v <= 0) return Invalid(path, absl::StrCat("must be positive, got ", v));
  return v;
}

absl::StatusOr<double> Number(const YAML::Node& node, const Path& path) {
  double value = 0;
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || !std::isfinite(value)) {
    return Invalid(path, absl::StrCat("must be a number", Where(node)));
  }
  return value;
}

absl::StatusOr<double> PositiveNumber(const YAML::Node& node, const Path& path) {
  PHAZE_ASSIGN_OR_RETURN(double v, Number(node, path));
  if (!(v > 0)) return Invalid(path, absl::StrCat("must be positive, got ", v));
  return v;
}

absl::StatusOr<bool> Bool(const YAML::Node& node, const Path& path) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    return Invalid(path, absl::StrCat("must be true or false", Where(node)));
  }
  return value;
}

absl::StatusOr<std::string> String(const YAML::Node& node, const Path& path) {
  if (!node.IsScalar()) return Invalid(path, absl::StrCat("must be a string", Where(node)));
  const std::string& text = node.Scalar();
  if (text.size() > kMaxStringBytes) {
    return Invalid(path, absl::StrCat(text.size(), " bytes, at most ", kMaxStringBytes));
  }
  // Names reach other users' terminals (phaze jobs) and pages: no control characters.
  for (unsigned char ch : text) {
    if (ch < 0x20 || ch == 0x7f) {
      return Invalid(path, absl::StrFormat("holds the control character 0x%02x", ch));
    }
  }
  return text;
}

// A list of distinct positive integers, or {pow2: [lo, hi]} for the powers of two in [lo, hi].
absl::StatusOr<std::vector<int64_t>> IntRange(const YAML::Node& node, const Path& path) {
  std::vector<int64_t> values;
  if (node.IsSequence()) {
    if (node.size() == 0) return Invalid(path, "must not be empty");
    if (node.size() > kMaxListValues) {
      return Invalid(path, absl::StrCat(node.size(), " values, at most ", kMaxListValues));
    }
    absl::flat_hash_set<int64_t> seen;
    for (size_t i = 0; i < node.size(); ++i) {
      const Path at = absl::StrCat(path, "[", i, "]");
      PHAZE_ASSIGN_OR_RETURN(int64_t v, PositiveInt(node[i], at));
      // A value listed twice would evaluate the same candidates twice.
      if (!seen.insert(v).second) return Invalid(at, absl::StrCat(v, " is listed twice"));
      values.push_back(v);
    }
    return values;
  }
  if (node.IsScalar()) {
    PHAZE_ASSIGN_OR_RETURN(int64_t v, PositiveInt(node, path));
    return std::vector<int64_t>{v};
  }
  PHAZE_RETURN_IF_ERROR(CheckKeys(node, path, {"pow2"}));
  const YAML::Node bounds = node["pow2"];
  if (!bounds.IsSequence() || bounds.size() != 2) {
    return Invalid(Join(path, "pow2"), "must be [lo, hi]");
  }
  PHAZE_ASSIGN_OR_RETURN(int64_t lo, PositiveInt(bounds[0], Join(path, "pow2[0]")));
  PHAZE_ASSIGN_OR_RETURN(int64_t hi, PositiveInt(bounds[1], Join(path, "pow2[1]")));
  if (hi < lo || hi > (int64_t{1} << 40)) {
    return Invalid(Join(path, "pow2"), "needs lo <= hi <= 2^40");
  }
  values = PowersOfTwo(lo, hi);
  if (values.empty()) return Invalid(Join(path, "pow2"), "holds no power of two");
  return values;
}

absl::StatusOr<ModelSpec> ParseModel(const YAML::Node& node, const Path& path) {
  if (node.IsScalar()) {
    absl::StatusOr<ModelSpec> m = FindModel(node.Scalar());
    if (!m.ok()) return Invalid(path, std::string(m.status().message()));
    return m;
  }
  PHAZE_RETURN_IF_ERROR(
      CheckKeys(node, path,
                {"base", "name", "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn",
                 "ffn_kind", "norm", "norm_position", "positions", "max_positions", "vocab",
                 "vocab_pad_multiple", "seq_len", "tied_embedding", "biases", "dropout"}));
  ModelSpec m;
  if (node["base"]) {
    PHAZE_ASSIGN_OR_RETURN(std::string base, String(node["base"], Join(path, "base")));
    absl::StatusOr<ModelSpec> found = FindModel(base);
    if (!found.ok()) return Invalid(Join(path, "base"), std::string(found.status().message()));
    m = *found;
    m.published_params = 0;
    m.published_source.clear();
  } else {
    m.max_positions = 0;
  }
  if (node["name"]) {
    PHAZE_ASSIGN_OR_RETURN(m.name, String(node["name"], Join(path, "name")));
  } else if (!node["base"]) {
    return Invalid(Join(path, "name"), "a custom model needs a name (or a base from the zoo)");
  }
  struct IntField {
    const char* key;
    int64_t* target;
    bool positive;
  };
  for (const IntField& f :
       std::vector<IntField>{{"layers", &m.num_layers, true},
                             {"hidden", &m.hidden, true},
                             {"heads", &m.heads, true},
                             {"kv_heads", &m.kv_heads, true},
                             {"head_dim", &m.head_dim, true},
                             {"ffn", &m.ffn, true},
                             {"max_positions", &m.max_positions, false},
                             {"vocab", &m.vocab, true},
                             {"vocab_pad_multiple", &m.vocab_pad_multiple, true},
                             {"seq_len", &m.seq_len, true}}) {
    if (!node[f.key]) continue;
    PHAZE_ASSIGN_OR_RETURN(*f.target, f.positive ? PositiveInt(node[f.key], Join(path, f.key))
                                                 : Int(node[f.key], Join(path, f.key)));
  }
  for (const auto& [key, target] : std::vector<std::pair<const char*, bool*>>{
           {"tied_embedding", &m.tied_embedding}, {"biases", &m.biases}, {"dropout", &m.dropout}}) {
    if (!node[key]) continue;
    PHAZE_ASSIGN_OR_RETURN(*target, Bool(node[key], Join(path, key)));
  }
  if (node["ffn_kind"]) {
    PHAZE_ASSIGN_OR_RETURN(std::string v, String(node["ffn_kind"], Join(path, "ffn_kind")));
    if (v == "gelu")
      m.ffn_kind = FfnKind::kGeluMlp;
    else if (v == "relu")
      m.ffn_kind = FfnKind::kReluMlp;
    else if (v == "swiglu")
      m.ffn_kind = FfnKind::kSwiGlu;
    else
      return Invalid(Join(path, "ffn_kind"), absl::StrCat("'", v, "' is not gelu, relu or swiglu"));
  }
  if (node["norm"]) {
    PHAZE_ASSIGN_OR_RETURN(std::string v, String(node["norm"], Join(path, "norm")));
    if (v == "layernorm")
      m.norm = NormKind::kLayerNorm;
    else if (v == "rmsnorm")
      m.norm = NormKind::kRmsNorm;
    else
      return Invalid(Join(path, "norm"), absl::StrCat("'", v, "' is not layernorm or rmsnorm"));
  }
  if (node["norm_position"]) {
    PHAZE_ASSIGN_OR_RETURN(std::string v,
                           String(node["norm_position"], Join(path, "norm_position")));
    if (v == "pre")
      m.norm_position = NormPosition::kPre;
    else if (v == "post")
      m.norm_position = NormPosition::kPost;
    else
      return Invalid(Join(path, "norm_position"), absl::StrCat("'", v, "' is not pre or post"));
  }
  if (node["positions"]) {
    PHAZE_ASSIGN_OR_RETURN(std::string v, String(node["positions"], Join(path, "positions")));
    if (v == "learned")
      m.positions = PositionKind::kLearned;
    else if (v == "rotary")
      m.positions = PositionKind::kRotary;
    else
      return Invalid(Join(path, "positions"), absl::StrCat("'", v, "' is not learned or rotary"));
  }
  if (m.positions == PositionKind::kLearned && !node["max_positions"] &&
      m.max_positions < m.seq_len) {
    m.max_positions = m.seq_len;  // a learned table as long as the training sequence
  }
  if (m.positions == PositionKind::kRotary) m.max_positions = 0;
  absl::Status valid = ValidateModel(m);
  if (!valid.ok()) return Invalid(path, std::string(valid.message()));
  return m;
}

// "none" | "selective" | "full", or a boolean (true: full, false: none).
absl::StatusOr<Recompute> ParseRecompute(const YAML::Node& node, const Path& path) {
  PHAZE_ASSIGN_OR_RETURN(std::string v, String(node, path));
  if (v == "none" || v == "false") return Recompute::kNone;
  if (v == "selective") return Recompute::kSelective;
  if (v == "full" || v == "true") return Recompute::kFull;
  return Invalid(path, absl::StrCat("'", v, "' is not none, selective or full"));
}

absl::StatusOr<Sharding> ParseSharding(const YAML::Node& node, const Path& path) {
  PHAZE_ASSIGN_OR_RETURN(std::string v, String(node, path));
  for (Sharding s : {Sharding::kNone, Sharding::kZero1, Sharding::kZero2, Sharding::kZero3}) {
    if (v == ShardingName(s)) return s;
  }
  return Invalid(path, absl::StrCat("'", v, "' is not none, zero1, zero2 or zero3"));
}

// A list of distinct values, each read by `parse` (with `scalar_ok`, a scalar is a list of one).
// Errors name the element: an empty list, or a value listed twice ("'name' is listed twice"
// where `name` gives one).
template <typename T, typename Parse, typename Name>
absl::StatusOr<std::vector<T>> DistinctList(const YAML::Node& node, const Path& path,
                                            bool scalar_ok, Parse parse, Name name) {
  std::vector<T> values;
  if (!node.IsSequence()) {
    if (!scalar_ok) return Invalid(path, "must be a list");
    PHAZE_ASSIGN_OR_RETURN(T v, parse(node, path));
    values.push_back(v);
    return values;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const Path at = absl::StrCat(path, "[", i, "]");
    PHAZE_ASSIGN_OR_RETURN(T v, parse(node[i], at));
    if (std::find(values.begin(), values.end(), v) != values.end()) {
      const std::string named = name(v);
      return Invalid(at, named.empty() ? std::string("is listed twice")
                                       : absl::StrCat("'", named, "' is listed twice"));
    }
    values.push_back(v);
  }
  if (values.empty()) return Invalid(path, "must not be empty");
  return values;
}

absl::StatusOr<Strategy> ParseStrategy(const YAML::Node& node, const Path& path) {
  PHAZE_RETURN_IF_ERROR(CheckKeys(
      node, path,
      {"pipeline", "data", "tensor", "virtual_stages", "sharding", "split", "sequence_parallel"}));
  Strategy s;
  for (const auto& [key, target] : std::vector<std::pair<const char*, int64_t*>>{
           {"pipeline", &s.pipeline}, {"data", &s.data}, {"tensor", &s.tensor}}) {
    if (!node[key]) return Invalid(Join(path, key), "is required");
    PHAZE_ASSIGN_OR_RETURN(*target, PositiveInt(node[key], Join(path, key)));
  }
  if (node["virtual_stages"]) {
    PHAZE_ASSIGN_OR_RETURN(s.virtual_stages,
                           PositiveInt(node["virtual_stages"], Join(path, "virtual_stages")));
  }
  if (node["sharding"]) {
    PHAZE_ASSIGN_OR_RETURN(s.sharding, ParseSharding(node["sharding"], Join(path, "sharding")));
  }
  if (node["sequence_parallel"]) {
    PHAZE_ASSIGN_OR_RETURN(s.sequence_parallel,
                           Bool(node["sequence_parallel"], Join(path, "sequence_parallel")));
  }
  if (node["split"]) {
    PHAZE_ASSIGN_OR_RETURN(std::string v, String(node["split"], Join(path, "split")));
    if (v == "best") {
      s.split = Split::kBest;
    } else if (v == "uniform") {
      s.split = Split::kUniform;
    } else {
      return Invalid(Join(path, "split"), absl::StrCat("'", v, "' is not best or uniform"));
    }
  }
  return s;
}

absl::Status ParseTraining(const YAML::Node& node, const Path& path, const ModelSpec& model,
                           TrainingSpec& t) {
  PHAZE_RETURN_IF_ERROR(
      CheckKeys(node, path,
                {"accelerators", "global_batch", "micro_batch_sizes", "recompute", "optimizer",
                 "max_tensor_width", "fixed_strategy", "virtual_stages", "sharding", "rank_order",
                 "tp_overlap", "dp_overlap", "main_grads", "sequence_parallel"}));
  // Bounded so that products of degrees, batches and sizes stay far inside int64.
  for (const auto& [key, target, most] : std::vector<std::tuple<const char*, int64_t*, int64_t>>{
           {"accelerators", &t.accelerators, int64_t{1} << 24},
           {"global_batch", &t.global_batch, int64_t{1} << 32}}) {
    if (!node[key]) continue;
    PHAZE_ASSIGN_OR_RETURN(*target, PositiveInt(node[key], Join(path, key)));
    if (*target > most) return Invalid(Join(path, key), absl::StrCat("at most ", most));
  }
  if (node["micro_batch_sizes"]) {
    PHAZE_ASSIGN_OR_RETURN(t.micro_batch_sizes,
                           IntRange(node["micro_batch_sizes"], Join(path, "micro_batch_sizes")));
  }
  for (size_t i = 0; i < t.micro_batch_sizes.size(); ++i) {
    if (t.micro_batch_sizes[i] > t.global_batch) {
      return Invalid(
          absl::StrCat(path, ".micro_batch_sizes[", i, "]"),
          absl::StrCat(t.micro_batch_sizes[i], " exceeds global_batch ", t.global_batch));
    }
  }
  if (node["recompute"]) {
    PHAZE_ASSIGN_OR_RETURN(t.recompute,
                           DistinctList<Recompute>(node["recompute"], Join(path, "recompute"), true,
                                                   ParseRecompute, RecomputeName));
  }
  if (node["virtual_stages"]) {
    PHAZE_ASSIGN_OR_RETURN(t.virtual_stages,
                           IntRange(node["virtual_stages"], Join(path, "virtual_stages")));
  }
  if (node["sharding"]) {
    PHAZE_ASSIGN_OR_RETURN(t.sharding,
                           DistinctList<Sharding>(node["sharding"], Join(path, "sharding"), false,
                                                  ParseSharding, ShardingName));
  }
  if (node["rank_order"]) {
    PHAZE_ASSIGN_OR_RETURN(std::string v, String(node["rank_order"], Join(path, "rank_order")));
    if (v == "tp-dp-pp") {
      t.rank_order = RankOrder::kTensorDataPipeline;
    } else if (v == "tp-pp-dp") {
      t.rank_order = RankOrder::kTensorPipelineData;
    } else {
      return Invalid(Join(path, "rank_order"),
                     absl::StrCat("'", v, "' is not tp-dp-pp or tp-pp-dp"));
    }
  }
  if (node["tp_overlap"]) {
    PHAZE_ASSIGN_OR_RETURN(t.tp_overlap, Bool(node["tp_overlap"], Join(path, "tp_overlap")));
  }
  if (node["main_grads"]) {
    PHAZE_ASSIGN_OR_RETURN(std::string v, String(node["main_grads"], Join(path, "main_grads")));
    if (v != "fp16" && v != "fp32") {
      return Invalid(Join(path, "main_grads"), absl::StrCat("'", v, "' is not fp16 or fp32"));
    }
    t.fp32_main_grads = v == "fp32";
  }
  if (node["dp_overlap"]) {
    PHAZE_ASSIGN_OR_RETURN(t.dp_overlap, Bool(node["dp_overlap"], Join(path, "dp_overlap")));
  }
  if (node["sequence_parallel"]) {
    const YAML::Node r = node["sequence_parallel"];
    if (!r.IsSequence() || r.size() == 0 || r.size() > 2) {
      return Invalid(Join(path, "sequence_parallel"), "must be a list of one or two booleans");
    }
    PHAZE_ASSIGN_OR_RETURN(t.sequence_parallel,
                           DistinctList<bool>(r, Join(path, "sequence_parallel"), false, Bool,
                                              [](bool) { return std::string(); }));
  }
  if (node["optimizer"]) {
    PHAZE_ASSIGN_OR_RETURN(std::string v, String(node["optimizer"], Join(path, "optimizer")));
    if (v == "sgd")
      t.optimizer = Optimizer::kSgd;
    else if (v == "adam")
      t.optimizer = Optimizer::kAdam;
    else
      return Invalid(Join(path, "optimizer"), absl::StrCat("'", v, "' is not sgd or adam"));
  }
  if (node["max_tensor_width"]) {
    PHAZE_ASSIGN_OR_RETURN(t.max_tensor_width,
                           PositiveInt(node["max_tensor_width"], Join(path, "max_tensor_width")));
  }
  if (node["fixed_strategy"]) {
    PHAZE_ASSIGN_OR_RETURN(Strategy s,
                           ParseStrategy(node["fixed_strategy"], Join(path, "fixed_strategy")));
    if (absl::Status st = CheckTensorParallelWidth(model, s.tensor); !st.ok()) {
      return Invalid(Join(path, "fixed_strategy.tensor"), std::string(st.message()));
    }
    if (s.pipeline > model.num_layers + 2) {
      return Invalid(
          Join(path, "fixed_strategy.pipeline"),
          absl::StrCat(s.pipeline, " stages exceed the model's ", model.num_layers + 2, " layers"));
    }
    if (t.dp_overlap && s.split == Split::kBest) {
      return Invalid(Join(path, "fixed_strategy.split"),
                     "with dp_overlap the placement uses Megatron's uniform split only (its exact "
                     "best split under overlap is not implemented): set split: uniform");
    }
    t.fixed_strategy = s;
  }
  if (AllowedTensorWidths(model, t.max_tensor_width).empty()) {
    return Invalid(Join(path, "max_tensor_width"), "allows no tensor width");
  }
  return absl::OkStatus();
}

// Fields of an architecture that every chip of the job shares (bandwidths, clock, link).
const std::set<std::string> kChipKeys = {"hbm_bandwidth_gb_per_s",
                                         "glb_bandwidth_gb_per_s",
                                         "link_bandwidth_gb_per_s",
                                         "link_latency_us",
                                         "clock_ghz",
                                         "link_efficiency",
                                         "scale_up_domain",
                                         "scale_out_bandwidth_gb_per_s",
                                         "scale_out_latency_us",
                                         "scale_out_efficiency",
                                         "tc_efficiency",
                                         "hbm_efficiency",
                                         "memory_overlap",
                                         "op_overhead_us",
                                         "single_stream",
                                         "tech_node_nm",
                                         "hbm_stack"};

// A fraction in [0, 1] (zero_allowed) or (0, 1].
absl::StatusOr<double> Fraction(const YAML::Node& node, const Path& path, bool zero_allowed) {
  PHAZE_ASSIGN_OR_RETURN(double v, Number(node, path));
  if (!(zero_allowed ? v >= 0 : v > 0) || !(v <= 1)) {
    return Invalid(path,
                   absl::StrCat("must be in ", zero_allowed ? "[0, 1]" : "(0, 1]", ", got ", v));
  }
  return v;
}

absl::Status ParseChipShared(const YAML::Node& node, const Path& path, Architecture& a) {
  if (node["hbm_bandwidth_gb_per_s"]) {
    PHAZE_ASSIGN_OR_RETURN(double v, PositiveNumber(node["hbm_bandwidth_gb_per_s"],
                                                    Join(path, "hbm_bandwidth_gb_per_s")));
    a.hbm_bandwidth_bytes_per_s = v * 1e9;
  }
  if (node["glb_bandwidth_gb_per_s"]) {
    PHAZE_ASSIGN_OR_RETURN(
        double v, Number(node["glb_bandwidth_gb_per_s"], Join(path, "glb_bandwidth_gb_per_s")));
    if (v < 0) return Invalid(Join(path, "glb_bandwidth_gb_per_s"), "must not be negative");
    a.glb_bandwidth_bytes_per_s = v * 1e9;
  }
  if (node["link_bandwidth_gb_per_s"]) {
    PHAZE_ASSIGN_OR_RETURN(double v, PositiveNumber(node["link_bandwidth_gb_per_s"],
                                                    Join(path, "link_bandwidth_gb_per_s")));
    a.link_bandwidth_bytes_per_s = v * 1e9;
  }
  if (node["link_latency_us"]) {
    PHAZE_ASSIGN_OR_RETURN(double v,
                           Number(node["link_latency_us"], Join(path, "link_latency_us")));
    if (v < 0) return Invalid(Join(path, "link_latency_us"), "must not be negative");
    a.link_latency_s = v * 1e-6;
  }
  if (node["clock_ghz"]) {
    PHAZE_ASSIGN_OR_RETURN(double v, PositiveNumber(node["clock_ghz"], Join(path, "clock_ghz")));
    a.clock_hz = v * 1e9;
  }
  for (const auto& [key, target, zero_allowed] :
       std::vector<std::tuple<const char*, double*, bool>>{
           {"link_efficiency", &a.link_efficiency, false},
           {"scale_out_efficiency", &a.scale_out_efficiency, false},
           {"tc_efficiency", &a.tc_efficiency, false},
           {"hbm_efficiency", &a.hbm_efficiency, false},
           {"memory_overlap", &a.memory_overlap, true}}) {
    if (node[key]) {
      PHAZE_ASSIGN_OR_RETURN(*target, Fraction(node[key], Join(path, key), zero_allowed));
    }
  }
  if (node["scale_up_domain"]) {
    PHAZE_ASSIGN_OR_RETURN(a.scale_up_domain,
                           PositiveInt(node["scale_up_domain"], Join(path, "scale_up_domain")));
  }
  if (node["scale_out_bandwidth_gb_per_s"]) {
    PHAZE_ASSIGN_OR_RETURN(double v, PositiveNumber(node["scale_out_bandwidth_gb_per_s"],
                                                    Join(path, "scale_out_bandwidth_gb_per_s")));
    a.scale_out_bandwidth_bytes_per_s = v * 1e9;
  }
  for (const auto& [key, target] : std::vector<std::pair<const char*, double*>>{
           {"scale_out_latency_us", &a.scale_out_latency_s},
           {"op_overhead_us", &a.op_overhead_s}}) {
    if (node[key]) {
      PHAZE_ASSIGN_OR_RETURN(double v, Number(node[key], Join(path, key)));
      if (!(v >= 0) || !std::isfinite(v)) return Invalid(Join(path, key), "must not be negative");
      *target = v * 1e-6;
    }
  }
  if (node["single_stream"]) {
    PHAZE_ASSIGN_OR_RETURN(a.single_stream,
                           Bool(node["single_stream"], Join(path, "single_stream")));
  }
  if (node["tech_node_nm"]) {
    PHAZE_ASSIGN_OR_RETURN(a.tech_node_nm,
                           PositiveInt(node["tech_node_nm"], Join(path, "tech_node_nm")));
    if (absl::Status st = arch::FindTechNode(a.tech_node_nm).status(); !st.ok()) {
      return Invalid(Join(path, "tech_node_nm"), std::string(st.message()));
    }
  }
  if (node["hbm_stack"]) {
    PHAZE_ASSIGN_OR_RETURN(a.hbm_stack, String(node["hbm_stack"], Join(path, "hbm_stack")));
    if (absl::Status st = arch::FindHbmStack(a.hbm_stack).status(); !st.ok()) {
      return Invalid(Join(path, "hbm_stack"), std::string(st.message()));
    }
  }
  return absl::OkStatus();
}

// A preset keeps its own chip parameters except those the architecture section sets
// (`arch_node`, `arch_path`); a spelled-out chip starts from the shared ones.
absl::StatusOr<Architecture> ParseFixedArch(const YAML::Node& node, const Path& path,
                                            const Architecture& shared, const YAML::Node& arch_node,
                                            const Path& arch_path) {
  if (node.IsScalar()) {
    absl::StatusOr<Architecture> preset = FindPreset(node.Scalar());
    if (!preset.ok()) return Invalid(path, std::string(preset.status().message()));
    Architecture a = *preset;
    PHAZE_RETURN_IF_ERROR(ParseChipShared(arch_node, arch_path, a));
    return a;
  }
  std::set<std::string> keys = kChipKeys;
  keys.insert({"name", "num_tc", "tc_width", "tc_depth", "num_vc", "vc_width", "glb_mib"});
  PHAZE_RETURN_IF_ERROR(CheckKeys(node, path, keys));
  Architecture a = shared;
  a.name = "custom";
  if (node["name"]) {
    PHAZE_ASSIGN_OR_RETURN(a.name, String(node["name"], Join(path, "name")));
  }
  for (const auto& [key, target] :
       std::vector<std::pair<const char*, int64_t*>>{{"num_tc", &a.num_tc},
                                                     {"tc_width", &a.tc_width},
                                                     {"tc_depth", &a.tc_depth},
                                                     {"num_vc", &a.num_vc},
                                                     {"vc_width", &a.vc_width},
                                                     {"glb_mib", &a.glb_bytes}}) {
    if (!node[key]) return Invalid(Join(path, key), "is required");
    PHAZE_ASSIGN_OR_RETURN(*target, PositiveInt(node[key], Join(path, key)));
  }
  a.glb_bytes *= kMiB;
  PHAZE_RETURN_IF_ERROR(ParseChipShared(node, path, a));
  return a;
}

absl::StatusOr<ArchSpaceSpec> ParseSpace(const YAML::Node& node, const Path& path,
                                         const Architecture& shared) {
  PHAZE_RETURN_IF_ERROR(
      CheckKeys(node, path,
                {"num_tc", "num_vc", "tc_width", "tc_depth", "vc_width", "glb_mib", "glb_banks",
                 "hbm_stacks", "hbm_stack", "link_ports", "scale_up_domain", "max_area_mm2",
                 "max_area_preset", "min_area_fraction", "single_core_min_area_fraction"}));
  ArchSpaceSpec s = OriginalSpaceSpec();
  s.base = shared;
  struct RangeField {
    const char* key;
    std::vector<int64_t>* target;
  };
  for (const RangeField& f : std::vector<RangeField>{{"num_tc", &s.num_tc},
                                                     {"num_vc", &s.num_vc},
                                                     {"tc_width", &s.tc_width},
                                                     {"tc_depth", &s.tc_depth},
                                                     {"glb_mib", &s.glb_bytes},
                                                     {"glb_banks", &s.glb_banks},
                                                     {"hbm_stacks", &s.hbm_stacks},
                                                     {"link_ports", &s.link_ports},
                                                     {"scale_up_domain", &s.scale_up_domain}}) {
    if (!node[f.key]) continue;
    PHAZE_ASSIGN_OR_RETURN(*f.target, IntRange(node[f.key], Join(path, f.key)));
    // Bounded so that products of dimensions (MACs, bytes) stay far inside int64.
    for (int64_t v : *f.target) {
      if (v > kMaxDimension) {
        return Invalid(Join(path, f.key), absl::StrCat(v, " is beyond ", kMaxDimension));
      }
    }
    if (std::string(f.key) == "glb_mib") {
      for (int64_t& v : *f.target) v *= kMiB;
    }
  }
  if (node["hbm_stack"]) {
    PHAZE_ASSIGN_OR_RETURN(
        s.hbm_stack_types,
        DistinctList<std::string>(
            node["hbm_stack"], Join(path, "hbm_stack"), true,
            [](const YAML::Node& n, const Path& at) -> absl::StatusOr<std::string> {
              PHAZE_ASSIGN_OR_RETURN(std::string type, String(n, at));
              if (absl::StatusOr<arch::HbmStackType> t = arch::FindHbmStack(type); !t.ok()) {
                return Invalid(at, std::string(t.status().message()));
              }
              return type;
            },
            [](const std::string& type) { return type; }));
  }
  if (node["vc_width"]) {
    const YAML::Node v = node["vc_width"];
    if (!(v.IsScalar() && v.Scalar() == "tied")) {
      PHAZE_ASSIGN_OR_RETURN(s.vc_width, IntRange(v, Join(path, "vc_width")));
    }
  }
  if (node["max_area_mm2"] && node["max_area_preset"]) {
    return Invalid(Join(path, "max_area_mm2"), "give max_area_mm2 or max_area_preset, not both");
  }
  if (node["max_area_mm2"]) {
    PHAZE_ASSIGN_OR_RETURN(double mm2,
                           PositiveNumber(node["max_area_mm2"], Join(path, "max_area_mm2")));
    s.max_area_um2 = mm2 * 1e6;
  }
  if (node["max_area_preset"]) {
    PHAZE_ASSIGN_OR_RETURN(std::string name,
                           String(node["max_area_preset"], Join(path, "max_area_preset")));
    absl::StatusOr<Architecture> preset = FindPreset(name);
    if (!preset.ok()) {
      return Invalid(Join(path, "max_area_preset"), std::string(preset.status().message()));
    }
    s.max_area_um2 = AreaUm2(*preset);
  }
  for (const auto& [key, target] : std::vector<std::pair<const char*, double*>>{
           {"min_area_fraction", &s.min_area_fraction},
           {"single_core_min_area_fraction", &s.single_core_min_area_fraction}}) {
    if (!node[key]) continue;
    PHAZE_ASSIGN_OR_RETURN(*target, Number(node[key], Join(path, key)));
  }
  absl::Status valid = ValidateSpaceSpec(s);
  if (!valid.ok()) return Invalid(path, std::string(valid.message()));
  return s;
}

absl::Status ParseArchitecture(const YAML::Node& node, const Path& path, JobSpec& job) {
  std::set<std::string> keys = kChipKeys;
  keys.insert({"preset", "fixed", "space", "hbm_gib"});
  PHAZE_RETURN_IF_ERROR(CheckKeys(node, path, keys));
  Architecture shared;
  PHAZE_RETURN_IF_ERROR(ParseChipShared(node, path, shared));
  const int kinds = (node["preset"] ? 1 : 0) + (node["fixed"] ? 1 : 0) + (node["space"] ? 1 : 0);
  if (kinds != 1) return Invalid(path, "give exactly one of preset, fixed or space");
  if (node["preset"]) {
    PHAZE_ASSIGN_OR_RETURN(
        Architecture a, ParseFixedArch(node["preset"], Join(path, "preset"), shared, node, path));
    job.fixed_architectures.push_back(a);
  } else if (node["fixed"]) {
    const YAML::Node list = node["fixed"];
    if (list.IsSequence()) {
      if (list.size() == 0) return Invalid(Join(path, "fixed"), "must not be empty");
      for (size_t i = 0; i < list.size(); ++i) {
        PHAZE_ASSIGN_OR_RETURN(
            Architecture a,
            ParseFixedArch(list[i], absl::StrCat(path, ".fixed[", i, "]"), shared, node, path));
        job.fixed_architectures.push_back(a);
      }
    } else {
      PHAZE_ASSIGN_OR_RETURN(Architecture a,
                             ParseFixedArch(list, Join(path, "fixed"), shared, node, path));
      job.fixed_architectures.push_back(a);
    }
  } else {
    PHAZE_ASSIGN_OR_RETURN(job.space, ParseSpace(node["space"], Join(path, "space"), shared));
  }
  for (size_t i = 0; i < job.fixed_architectures.size(); ++i) {
    absl::Status st = ValidateArchitecture(job.fixed_architectures[i]);
    if (!st.ok()) return Invalid(absl::StrCat(path, ".fixed[", i, "]"), std::string(st.message()));
  }
  if (node["hbm_gib"]) {
    PHAZE_ASSIGN_OR_RETURN(std::vector<int64_t> gib,
                           IntRange(node["hbm_gib"], Join(path, "hbm_gib")));
    job.hbm_bytes.clear();
    for (int64_t g : gib) {
      if (g > 1 << 20) return Invalid(Join(path, "hbm_gib"), "is beyond 1 PiB");
      job.hbm_bytes.push_back(g * kGiB);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<JobSpec> ParseRoot(const YAML::Node& root) {
  PHAZE_RETURN_IF_ERROR(
      CheckKeys(root, "",
                {"name", "model", "training", "architecture", "budget", "chip_model", "objectives",
                 "cost_model", "solver", "search", "limits"}));
  JobSpec job;
  std::optional<eval::AreaModel> area_model;  // default: by cost_model.mode, below
  if (!root["name"]) return Invalid("name", "is required");
  PHAZE_ASSIGN_OR_RETURN(job.name, String(root["name"], "name"));
  if (job.name.empty()) return Invalid("name", "must not be empty");
  if (!root["model"]) return Invalid("model", "is required");
  PHAZE_ASSIGN_OR_RETURN(job.model, ParseModel(root["model"], "model"));
  if (root["training"]) {
    PHAZE_RETURN_IF_ERROR(ParseTraining(root["training"], "training", job.model, job.training));
  }
  if (!root["architecture"]) return Invalid("architecture", "is required");
  PHAZE_RETURN_IF_ERROR(ParseArchitecture(root["architecture"], "architecture", job));
  if (root["chip_model"]) {
    const YAML::Node m = root["chip_model"];
    arch::ChipModelScales& c = job.chip_model;
    const std::vector<std::pair<const char*, double*>> scales = {
        {"mac_area_scale", &c.mac_area},
        {"sram_area_scale", &c.sram_area},
        {"glb_bank_port_scale", &c.glb_bank_port},
        {"noc_port_scale", &c.noc_port},
        {"hbm_interface_scale", &c.hbm_interface},
        {"hbm_edge_scale", &c.hbm_edge},
        {"serdes_lane_scale", &c.serdes_lane},
        {"uncore_scale", &c.uncore},
        {"leakage_scale", &c.leakage}};
    std::set<std::string> keys = {"area_model"};
    for (const auto& [key, target] : scales) keys.insert(key);
    PHAZE_RETURN_IF_ERROR(CheckKeys(m, "chip_model", keys));
    if (m["area_model"]) {
      PHAZE_ASSIGN_OR_RETURN(std::string model, String(m["area_model"], "chip_model.area_model"));
      if (model == "chip") {
        area_model = eval::AreaModel::kChip;
      } else if (model == "original") {
        area_model = eval::AreaModel::kOriginal;
      } else {
        return Invalid("chip_model.area_model",
                       absl::StrCat("'", model, "' is not chip or original"));
      }
    }
    for (const auto& [key, target] : scales) {
      if (!m[key]) continue;
      PHAZE_ASSIGN_OR_RETURN(*target, PositiveNumber(m[key], Join("chip_model", key)));
      if (*target > 1e3) return Invalid(Join("chip_model", key), "is beyond 1000");
    }
  }
  if (root["budget"]) {
    const YAML::Node b = root["budget"];
    PHAZE_RETURN_IF_ERROR(
        CheckKeys(b, "budget", {"chip_area_mm2", "tdp_w", "shoreline", "reticle"}));
    if (b["chip_area_mm2"]) {
      PHAZE_ASSIGN_OR_RETURN(job.budget.chip_area_mm2,
                             PositiveNumber(b["chip_area_mm2"], "budget.chip_area_mm2"));
    }
    if (b["tdp_w"]) {
      PHAZE_ASSIGN_OR_RETURN(job.budget.tdp_w, PositiveNumber(b["tdp_w"], "budget.tdp_w"));
    }
    if (b["shoreline"]) {
      PHAZE_ASSIGN_OR_RETURN(job.budget.shoreline, Bool(b["shoreline"], "budget.shoreline"));
    }
    if (b["reticle"]) {
      PHAZE_ASSIGN_OR_RETURN(job.budget.reticle, Bool(b["reticle"], "budget.reticle"));
    }
  }
  if (root["cost_model"]) {
    const YAML::Node c = root["cost_model"];
    PHAZE_RETURN_IF_ERROR(CheckKeys(c, "cost_model", {"mode", "compat_backward"}));
    if (c["mode"]) {
      PHAZE_ASSIGN_OR_RETURN(std::string mode, String(c["mode"], "cost_model.mode"));
      if (mode == "improved")
        job.cost.mode = CostMode::kImproved;
      else if (mode == "compat")
        job.cost.mode = CostMode::kCompat;
      else
        return Invalid("cost_model.mode", absl::StrCat("'", mode, "' is not improved or compat"));
    }
    if (c["compat_backward"]) {
      PHAZE_ASSIGN_OR_RETURN(job.compat_backward,
                             Bool(c["compat_backward"], "cost_model.compat_backward"));
    }
  }
  // The front's area model: the chip model unless asked, or unless the whole job reproduces the
  // original (cost_model.mode: compat), whose area model has free bandwidth and no power.
  job.objectives.area_model = area_model.value_or(
      job.cost.mode == CostMode::kCompat ? eval::AreaModel::kOriginal : eval::AreaModel::kChip);
  job.objectives.power = job.objectives.area_model == eval::AreaModel::kChip;
  if (root["objectives"]) {
    const YAML::Node o = root["objectives"];
    if (!o.IsSequence()) {
      return Invalid("objectives", "must be a list of area, power and energy (besides throughput)");
    }
    job.objectives.area = job.objectives.power = job.objectives.energy = false;
    for (size_t i = 0; i < o.size(); ++i) {
      const Path path = absl::StrCat("objectives[", i, "]");
      PHAZE_ASSIGN_OR_RETURN(std::string name, String(o[i], path));
      bool* flag = name == "area"     ? &job.objectives.area
                   : name == "power"  ? &job.objectives.power
                   : name == "energy" ? &job.objectives.energy
                                      : nullptr;
      if (name == "throughput") continue;  // always
      if (flag == nullptr) {
        return Invalid(path, absl::StrCat("'", name, "' is not throughput, area, power or energy"));
      }
      if (*flag) return Invalid(path, absl::StrCat("'", name, "' is listed twice"));
      *flag = true;
    }
  }
  if (absl::Status s = eval::ValidateObjectives(job.objectives); !s.ok()) {
    return Invalid("objectives",
                   "power needs chip_model.area_model: chip (the original's area "
                   "model has no power)");
  }
  if (root["solver"]) {
    const YAML::Node s = root["solver"];
    PHAZE_RETURN_IF_ERROR(CheckKeys(
        s, "solver", {"time_limit_s", "relative_gap", "max_nodes", "order_search_nodes"}));
    if (s["order_search_nodes"]) {
      PHAZE_ASSIGN_OR_RETURN(job.solver.order_search_nodes,
                             Int(s["order_search_nodes"], "solver.order_search_nodes"));
      if (job.solver.order_search_nodes < 0) {
        return Invalid("solver.order_search_nodes", "must be 0 (off) or positive");
      }
    }
    if (s["max_nodes"]) {
      PHAZE_ASSIGN_OR_RETURN(job.solver.max_nodes, PositiveInt(s["max_nodes"], "solver.max_nodes"));
    }
    if (s["time_limit_s"]) {
      PHAZE_ASSIGN_OR_RETURN(job.solver.time_limit_s,
                             PositiveNumber(s["time_limit_s"], "solver.time_limit_s"));
    }
    if (s["relative_gap"]) {
      PHAZE_ASSIGN_OR_RETURN(job.solver.relative_gap,
                             Number(s["relative_gap"], "solver.relative_gap"));
      if (job.solver.relative_gap < 0 || job.solver.relative_gap >= 1) {
        return Invalid("solver.relative_gap", "must lie in [0, 1)");
      }
    }
  }
  if (root["search"]) {
    const YAML::Node s = root["search"];
    PHAZE_RETURN_IF_ERROR(CheckKeys(s, "search", {"strategy", "bucket_mm2", "bucket_window"}));
    if (s["strategy"]) {
      PHAZE_ASSIGN_OR_RETURN(std::string v, String(s["strategy"], "search.strategy"));
      if (v == "exhaustive")
        job.search.strategy = SearchStrategy::kExhaustive;
      else if (v == "pruned")
        job.search.strategy = SearchStrategy::kPruned;
      else if (v == "area-buckets")
        job.search.strategy = SearchStrategy::kAreaBuckets;
      else
        return Invalid("search.strategy",
                       absl::StrCat("'", v, "' is not exhaustive, pruned or area-buckets"));
    }
    if (s["bucket_mm2"]) {
      PHAZE_ASSIGN_OR_RETURN(double mm2, PositiveNumber(s["bucket_mm2"], "search.bucket_mm2"));
      job.search.bucket_um2 = mm2 * 1e6;
    }
    if (s["bucket_window"]) {
      PHAZE_ASSIGN_OR_RETURN(job.search.bucket_window,
                             PositiveInt(s["bucket_window"], "search.bucket_window"));
    }
  }
  if (root["limits"]) {
    const YAML::Node l = root["limits"];
    PHAZE_RETURN_IF_ERROR(CheckKeys(l, "limits", {"max_space_size"}));
    if (l["max_space_size"]) {
      PHAZE_ASSIGN_OR_RETURN(job.limits.max_space_size,
                             PositiveInt(l["max_space_size"], "limits.max_space_size"));
    }
  }
  const int64_t points = CandidateSpace(job).Size();  // O(dimensions), saturating
  if (points > job.limits.max_space_size) {
    return Invalid("architecture.space",
                   absl::StrCat(eval::CandidateCountText(points),
                                " candidates (architectures x micro-batch sizes) exceed "
                                "limits.max_space_size ",
                                job.limits.max_space_size));
  }
  return job;
}

// The byte offset of the first byte that breaks UTF-8 (overlong forms, surrogates and code
// points beyond U+10FFFF included), or npos.
size_t InvalidUtf8At(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    size_t n = 0;
    uint32_t cp = 0, min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return i;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= text.size() || (byte(i + k) & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return std::string::npos;
}

// The line (1-based) of a document marker ("---" or "..." at column 0) after the first
// document's content, or 0. At column 0 such a line cannot be inside a block scalar of a job (a
// block scalar's lines are indented deeper than its key).
int SecondDocumentLine(const std::string& text) {
  bool content = false;
  int line = 0;
  for (absl::string_view row : absl::StrSplit(text, '\n')) {
    ++line;
    const bool marker = (absl::StartsWith(row, "---") || absl::StartsWith(row, "...")) &&
                        (row.size() == 3 || row[3] == ' ' || row[3] == '\t' || row[3] == '\r');
    if (marker && content) return line;
    const absl::string_view stripped = absl::StripLeadingAsciiWhitespace(row);
    if (!marker && !stripped.empty() && stripped[0] != '#' && stripped[0] != '%') content = true;
  }
  return 0;
}

// yaml-cpp keeps a key given twice in a mapping (and reads the first): refuse it, naming it.
absl::Status CheckNoDuplicateKeys(const YAML::Node& node, const Path& path) {
  if (node.IsMap()) {
    std::set<std::string> keys;
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
      const Path at = Join(path, key);
      if (!keys.insert(key).second) return Invalid(at, "is given twice");
      PHAZE_RETURN_IF_ERROR(CheckNoDuplicateKeys(kv.second, at));
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      PHAZE_RETURN_IF_ERROR(CheckNoDuplicateKeys(node[i], absl::StrCat(path, "[", i, "]")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<JobSpec> ParseJobYaml(const std::string& yaml_text) {
  if (yaml_text.size() > kMaxJobBytes) {
    return Invalid("job", absl::StrCat(yaml_text.size(), " bytes of YAML, at most ", kMaxJobBytes));
  }
  if (const size_t nul = yaml_text.find('\0'); nul != std::string::npos) {
    return Invalid("job", absl::StrCat("the YAML holds a NUL byte at offset ", nul));
  }
  if (const size_t bad = InvalidUtf8At(yaml_text); bad != std::string::npos) {
    return Invalid("job", absl::StrCat("the YAML is not valid UTF-8 (byte offset ", bad, ")"));
  }
  if (const int line = SecondDocumentLine(yaml_text); line > 0) {
    return Invalid("job", absl::StrCat("a second YAML document starts at line ", line,
                                       "; a job is one document"));
  }
  try {
    // YAML::Load, not LoadAll: yaml-cpp 0.7's LoadAll never returns on some malformed input
    // (found by job_fuzz); SecondDocumentLine has refused several documents already.
    const YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsDefined() || root.IsNull()) return Invalid("job", "the file is empty");
    PHAZE_RETURN_IF_ERROR(CheckNoDuplicateKeys(root, ""));
    return ParseRoot(root);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("job: malformed YAML at line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1, ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("job: ", e.what()));
  }
}
}  // namespace phaze::job
