#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <optional>
#include <vector>

#include "common/place/place.h"

namespace phaze::place {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Bytes of state per byte of 2-byte weights: weights 1, gradients 1 (2 with fp32 main gradients),
// and with Adam 6 (12 B of fp32 master weight and moments per parameter), divided over d where
// the scheme shards them.
struct StateFactors {
  double weights = 1;
  double gradients = 1;
  double optimizer = 0;
  double Total() const { return weights + gradients + optimizer; }
};

// Bytes of gradient per byte of 2-byte weights: 1, or 2 with fp32 main gradients.
double GradientBytesPerWeightByte(bool fp32_grads) { return fp32_grads ? 2.0 : 1.0; }

StateFactors StateOf(Optimizer optimizer, Sharding sharding, int64_t d, bool fp32_grads) {
  StateFactors f;
  f.gradients = GradientBytesPerWeightByte(fp32_grads);
  f.optimizer = optimizer == Optimizer::kAdam ? 6.0 : 0.0;
  const double dd = static_cast<double>(d);
  switch (sharding) {
    case Sharding::kNone: break;
    case Sharding::kZero3: f.weights /= dd; [[fallthrough]];
    case Sharding::kZero2: f.gradients /= dd; [[fallthrough]];
    case Sharding::kZero1: f.optimizer /= dd; break;
  }
  return f;
}

// Bytes the optimizer step streams per byte of weights it owns: mixed-precision Adam in one
// fused pass reads the fp16 gradient, fp32 master and both moments (14 B per parameter) and
// writes master, moments and the fp16 weight (14 B): 28 B per parameter. SGD reads gradient
// and weight and writes the weight: 6 B (reference training-model.md section 8, a derived count).
// The gradient read is counted apart (GradientBytesPerWeightByte): fp32 main gradients read 2 B
// more per parameter.
double OptimizerBytesPerWeightByte(Optimizer optimizer, bool fp32_grads) {
  return (optimizer == Optimizer::kAdam ? 13.0 : 2.0) + GradientBytesPerWeightByte(fp32_grads);
}

// What one layer adds under a recompute mode: the recomputed forward's time and energy per
// micro-batch, and the activation bytes it keeps for backward.
struct Recomputed {
  double time_s = 0;
  double energy_j = 0;
  int64_t kept_bytes = 0;
};

Recomputed RecomputedOf(const LayerCost& c, Recompute mode) {
  switch (mode) {
    case Recompute::kNone: return {0.0, 0.0, c.stash_bytes};
    case Recompute::kSelective:
      return {c.recompute_selective_s, c.recompute_selective_energy_j, c.stash_selective_bytes};
    case Recompute::kFull:
      return {c.recompute_full_s, c.recompute_full_energy_j, c.stash_full_bytes};
  }
  return {};
}

// A rank's compute per micro-batch is at least the chain's total over p and at least its
// largest layer (forward, backward and the recompute mode's share; collectives included).
struct ChainCompute {
  double total_s = 0;
  double largest_s = 0;
};

ChainCompute ComputeOf(const Chain& chain, Recompute mode) {
  ChainCompute c;
  for (const LayerCost& l : chain.layers) {
    const double layer_s = l.fwd_s + l.bwd_s + RecomputedOf(l, mode).time_s;
    c.total_s += layer_s;
    c.largest_s = std::max(c.largest_s, layer_s);
  }
  return c;
}

// A lower bound on the time per step of any placement with p stages, v virtual stages and m
// micro-batches: (m + (p - 1) / v) x the slowest rank's least compute; pipeline messages,
// synchronisation and memory left out.
double StepLowerBoundS(const ChainCompute& c, int64_t p, int64_t v, int64_t m) {
  const double slowest_s = std::max(c.total_s / static_cast<double>(p), c.largest_s);
  return (static_cast<double>(m) + static_cast<double>(p - 1) / static_cast<double>(v)) * slowest_s;
}

struct Groups {
  net::Group dp;
  int64_t pp_stride = 1;
};

Groups GroupsOf(RankOrder order, int64_t t, int64_t d, int64_t p) {
  Groups g;
  if (order == RankOrder::kTensorDataPipeline) {
    g.dp = {d, t};
    g.pp_stride = t * d;
  } else {
    g.dp = {d, t * p};
    g.pp_stride = t;
  }
  return g;
}

// Largest value over [first, last) of a per-layer quantity in O(1).
class RangeMax {
 public:
  explicit RangeMax(std::vector<int64_t> values) {
    const size_t n = values.size();
    levels_.push_back(std::move(values));
    for (size_t width = 1; 2 * width <= n; width *= 2) {
      const std::vector<int64_t>& prev = levels_.back();
      std::vector<int64_t> next(n - 2 * width + 1);
      for (size_t i = 0; i < next.size(); ++i) next[i] = std::max(prev[i], prev[i + width]);
      levels_.push_back(std::move(next));
    }
  }
  int64_t Max(int first, int last) const {
    const size_t len = static_cast<size_t>(last - first);
    size_t level = 0;
    while ((size_t{2} << level) <= len) ++level;
    const std::vector<int64_t>& row = levels_[level];
    return std::max(row[static_cast<size_t>(first)],
                    row[static_cast<size_t>(last) - (size_t{1} << level)]);
  }

 private:
  std::vector<std::vector<int64_t>> levels_;
};

std::vector<int64_t> Column(const Chain& chain, int64_t LayerCost::*field) {
  std::vector<int64_t> v;
  v.reserve(chain.layers.size());
  for (const LayerCost& c : chain.layers) v.push_back(c.*field);
  return v;
}

// Prefix sums over the chain under one (recompute, sharding, d), so that any stage costs O(1).
class ChainIndex {
 public:
  ChainIndex(const Chain& chain, const PlacementInput& in, Sharding sharding, int64_t d,
             net::Group dp)
      : chain_(chain),
        in_(in),
        sharding_(sharding),
        dp_(dp),
        state_(StateOf(in.optimizer, sharding, d, in.fp32_main_grads)) {
    // The range maxima only where Transient reads them.
    if (in.recompute == Recompute::kFull)
      max_stash_.emplace(Column(chain, &LayerCost::stash_bytes));
    if (sharding == Sharding::kZero3) max_params_.emplace(Column(chain, &LayerCost::param_bytes));
    const size_t n = chain.layers.size();
    compute_.assign(n + 1, 0.0);
    fwd_.assign(n + 1, 0.0);
    bwd_.assign(n + 1, 0.0);
    re_.assign(n + 1, 0.0);
    tp_fwd_.assign(n + 1, 0.0);
    tp_bwd_.assign(n + 1, 0.0);
    params_.assign(n + 1, 0);
    kept_.assign(n + 1, 0);
    for (size_t l = 0; l < n; ++l) {
      const LayerCost& c = chain.layers[l];
      const Recomputed r = RecomputedOf(c, in.recompute);
      const double re = r.time_s;
      const int64_t kept = r.kept_bytes;
      compute_[l + 1] = compute_[l] + c.fwd_s + c.bwd_s + re;
      fwd_[l + 1] = fwd_[l] + c.fwd_s;
      bwd_[l + 1] = bwd_[l] + c.bwd_s;
      re_[l + 1] = re_[l] + re;
      tp_fwd_[l + 1] = tp_fwd_[l] + c.fwd_tp_comm_s;
      tp_bwd_[l + 1] = tp_bwd_[l] + c.bwd_tp_comm_s;
      params_[l + 1] = params_[l] + c.param_bytes;
      kept_[l + 1] = kept_[l] + kept;
      if (l + 1 < n) max_boundary_ = std::max(max_boundary_, c.output_bytes);
    }
  }

  int size() const { return static_cast<int>(chain_.layers.size()); }
  // The micro-batches per step m, which no stage can hold more of (Fits; none until set). The d
  // that share an index (nothing sharded) may differ in m.
  void set_in_flight_cap(int64_t cap) { in_flight_cap_ = cap; }
  int64_t max_boundary_bytes() const { return max_boundary_; }
  const StateFactors& state() const { return state_; }

  int64_t Params(int first, int last) const {
    int64_t p = params_[last] - params_[first];
    // A tied LM head shares the embedding's matrix when both sit in the same stage.
    if (first == 0 && last == size()) p -= chain_.layers.back().tied_param_bytes;
    return p;
  }
  // ZeRO-3: the stage's parameters all-gathered for forward and again for backward.
  double GatherS(int first, int last) const {
    if (sharding_ != Sharding::kZero3) return 0;
    return 2.0 * net::AllGatherS(in_.network, dp_, static_cast<double>(Params(first, last)));
  }
  // Per micro-batch, without pipeline messages.
  double Compute(int first, int last) const {
    return compute_[last] - compute_[first] + GatherS(first, last);
  }
  double Forward(int first, int last) const { return fwd_[last] - fwd_[first]; }
  double Backward(int first, int last) const { return bwd_[last] - bwd_[first]; }
  double Recompute(int first, int last) const { return re_[last] - re_[first]; }
  double TpForward(int first, int last) const { return tp_fwd_[last] - tp_fwd_[first]; }
  double TpBackward(int first, int last) const { return tp_bwd_[last] - tp_bwd_[first]; }

  // Activations of one micro-batch kept by [first, last), and the transient extras held once.
  int64_t Kept(int first, int last) const { return kept_[last] - kept_[first]; }
  int64_t Transient(int first, int last) const {
    int64_t bytes = 0;
    if (max_stash_) bytes += max_stash_->Max(first, last);
    if (max_params_) bytes += max_params_->Max(first, last);
    return bytes;
  }
  double Memory(int first, int last, double in_flight) const {
    return static_cast<double>(Params(first, last)) * state_.Total() +
           in_flight * static_cast<double>(Kept(first, last)) +
           static_cast<double>(Transient(first, last));
  }
  // Stage k-th from the end of a 1F1B pipeline (k micro-batches in flight, at most m), its
  // parameters at most `cap`.
  bool Fits(int first, int last, int64_t k, int64_t cap) const {
    return Params(first, last) <= cap &&
           Memory(first, last, static_cast<double>(std::min(k, in_flight_cap_))) <=
               static_cast<double>(in_.hbm_bytes);
  }

 private:
  const Chain& chain_;
  const PlacementInput& in_;
  Sharding sharding_;
  net::Group dp_;
  int64_t in_flight_cap_ = std::numeric_limits<int64_t>::max();
  StateFactors state_;
  std::optional<RangeMax> max_stash_, max_params_;
  std::vector<double> compute_, fwd_, bwd_, re_, tp_fwd_, tp_bwd_;
  std::vector<int64_t> params_, kept_;
  int64_t max_boundary_ = 0;
};

// The slowest stage's compute and the largest stage's parameters of a split (v = 1).
struct SplitMaxima {
  double compute_s = 0;
  int64_t params = 0;
};

SplitMaxima MaximaOf(const ChainIndex& ix, const std::vector<int64_t>& sizes) {
  SplitMaxima m;
  int first = 0;
  for (int64_t len : sizes) {
    const int last = first + static_cast<int>(len);
    m.compute_s = std::max(m.compute_s, ix.Compute(first, last));
    m.params = std::max(m.params, ix.Params(first, last));
    first = last;
  }
  return m;
}

// best(k, i): the smallest slowest-stage compute covering layers [i, n) with exactly k stages,
// the first of which is k-th from the end (k micro-batches in flight), every stage's parameters
// at most `cap`; cut(k, i) its end. Flat, and refilled in place by SolveChain: the search solves
// many of these and its inner loop allocates nothing once the storage has grown.
class ChainDp {
 public:
  void Reset(int max_stages, int n) {
    width_ = static_cast<size_t>(n) + 1;
    best_.assign((static_cast<size_t>(max_stages) + 1) * width_, kInf);
    cut_.assign(best_.size(), -1);
  }
  double& best(int k, int i) { return best_[Index(k, i)]; }
  double best(int k, int i) const { return best_[Index(k, i)]; }
  int& cut(int k, int i) { return cut_[Index(k, i)]; }
  int cut(int k, int i) const { return cut_[Index(k, i)]; }

 private:
  size_t Index(int k, int i) const {
    return static_cast<size_t>(k) * width_ + static_cast<size_t>(i);
  }
  size_t width_ = 0;
  std::vector<double> best_;
  std::vector<int> cut_;
};

void SolveChain(const ChainIndex& ix, int max_stages, int64_t cap, ChainDp& dp) {
  const int n = ix.size();
  dp.Reset(max_stages, n);
  for (int i = 0; i < n; ++i) {
    if (ix.Fits(i, n, 1, cap)) {
      dp.best(1, i) = ix.Compute(i, n);
      dp.cut(1, i) = n;
    }
  }
  for (int k = 2; k <= max_stages; ++k) {
    const double* rest = &dp.best(k - 1, 0);
    // Two pointers, amortised O(n) per k: the longest stage that fits (j_max) never shrinks as
    // its start i moves right (a sub-interval fits wherever the interval does), and neither, in
    // practice, does the crossing of Compute(i, j) (rising in j) and rest[j] (falling in j).
    // The crossing pointer is checked, and found by binary search where the guess is wrong, so
    // the result is exact either way.
    int j_max = 0;
    int cross = 0;
    for (int i = 0; i + k <= n; ++i) {
      const int j_hi = n - k + 1;
      if (!ix.Fits(i, i + 1, k, cap)) continue;
      j_max = std::max(j_max, i + 1);
      while (j_max < j_hi && ix.Fits(i, j_max + 1, k, cap)) ++j_max;
      auto crossed = [&](int j) { return ix.Compute(i, j) >= rest[j]; };
      int lo = std::max(i + 1, std::min(cross, j_max + 1));
      if (lo > i + 1 && crossed(lo - 1)) {
        int a = i + 1, b = lo - 1;
        while (a < b) {
          const int mid = a + (b - a) / 2;
          if (crossed(mid))
            b = mid;
          else
            a = mid + 1;
        }
        lo = a;
      } else {
        while (lo <= j_max && !crossed(lo)) ++lo;
      }
      cross = lo;
      double value = kInf;
      int at = -1;
      for (int j : {lo - 1, lo}) {
        if (j < i + 1 || j > j_max) continue;
        const double v = std::max(ix.Compute(i, j), rest[j]);
        if (v < value) {
          value = v;
          at = j;
        }
      }
      dp.best(k, i) = value;
      dp.cut(k, i) = value < kInf ? at : -1;
    }
  }
}

std::vector<int64_t> Partition(const ChainDp& dp, int stages) {
  std::vector<int64_t> sizes;
  int i = 0;
  for (int k = stages; k >= 1; --k) {
    const int j = dp.cut(k, i);
    sizes.push_back(j - i);
    i = j;
  }
  return sizes;
}

const Chain* FindChain(const PlacementInput& in, int64_t t, bool sp) {
  for (const Chain& c : in.chains) {
    if (c.tensor_width == t && c.sequence_parallel == sp) return &c;
  }
  return nullptr;
}

// The terms of T that depend on the strategy but not on the split.
struct StepCosts {
  const PlacementInput* in = nullptr;
  Strategy s;
  int64_t m = 0;
  Groups groups;
  double pipeline_s = 0;  // per micro-batch, every rank

  StepCosts(const PlacementInput& input, const Strategy& strategy, int64_t boundary_bytes)
      : in(&input), s(strategy) {
    m = CeilDiv(input.global_batch, s.data * input.micro_batch);
    groups = GroupsOf(input.rank_order, s.tensor, s.data, s.pipeline);
    pipeline_s = s.pipeline >= 2 ? 2.0 * static_cast<double>(s.virtual_stages) *
                                       net::SendS(input.network, groups.pp_stride, s.pipeline - 1,
                                                  static_cast<double>(boundary_bytes))
                                 : 0.0;
  }
  double A() const {
    return static_cast<double>(m) +
           static_cast<double>(s.pipeline - 1) / static_cast<double>(s.virtual_stages);
  }
  // The gradient reduction of a stage's gradients (fp16, or fp32 main gradients: twice the
  // bytes): what dp_overlap may hide.
  double GradientReduceS(int64_t params) const {
    const double bytes =
        static_cast<double>(params) * GradientBytesPerWeightByte(in->fp32_main_grads);
    const net::Network& net = in->network;
    return s.sharding == Sharding::kNone ? net::AllReduceS(net, groups.dp, bytes)
                                         : net::ReduceScatterS(net, groups.dp, bytes);
  }
  // ZeRO-1/2: the updated fp16 parameters all-gathered after the optimizer step.
  double ParamGatherS(int64_t params) const {
    return s.sharding == Sharding::kZero1 || s.sharding == Sharding::kZero2
               ? net::AllGatherS(in->network, groups.dp, static_cast<double>(params))
               : 0.0;
  }
  double DataCommS(int64_t params) const { return GradientReduceS(params) + ParamGatherS(params); }
  // What a stage's synchronisation exposes after its last backward pass of `window_s`.
  double ExposedDataCommS(int64_t params, double window_s) const {
    const double reduce_s = GradientReduceS(params);
    return (in->dp_overlap ? std::max(0.0, reduce_s - window_s) : reduce_s) + ParamGatherS(params);
  }
  double OptimizerS(int64_t params) const {
    const double owned = static_cast<double>(params) /
                         (s.sharding == Sharding::kNone ? 1.0 : static_cast<double>(s.data));
    return owned * OptimizerBytesPerWeightByte(in->optimizer, in->fp32_main_grads) /
           in->hbm_bandwidth_bytes_per_s;
  }
  double SyncS(int64_t max_params) const { return DataCommS(max_params) + OptimizerS(max_params); }
  double TimeS(double max_compute, int64_t max_params) const {
    return A() * (max_compute + pipeline_s) + SyncS(max_params);
  }
};

bool WithinLimits(const PlacementInput& in, const Strategy& s) {
  return s.pipeline >= 1 && s.data >= 1 && s.tensor >= 1 && s.virtual_stages >= 1 &&
         s.pipeline * s.tensor * s.data <= in.accelerators &&
         s.data * in.micro_batch <= in.global_batch;
}

// Rank r's chunks under interleaving: r, r + p, r + 2p, ...; with v = 1 its one stage.
// `index`, if given, was built for this chain, recompute mode and sharding (and d where the
// state is sharded), and the gathers are not ZeRO-3's: then it costs the same as a fresh one.
Placement EvaluateOn(const Chain& chain, const PlacementInput& in, const Strategy& s,
                     const std::vector<int64_t>& sizes, const ChainIndex* index = nullptr) {
  Placement pl;
  pl.strategy = s;
  pl.recompute = in.recompute;
  pl.stage_layers = sizes;
  const int64_t p = s.pipeline, v = s.virtual_stages;
  if (!WithinLimits(in, s) || static_cast<int64_t>(sizes.size()) != p * v) return pl;
  if (v > 1 && p < 2) return pl;  // interleaving needs a pipeline
  std::optional<ChainIndex> fresh;
  if (index == nullptr) {
    fresh.emplace(chain, in, s.sharding, s.data, GroupsOf(in.rank_order, s.tensor, s.data, p).dp);
  }
  const ChainIndex& ix = index != nullptr ? *index : *fresh;
  const StepCosts step(in, s, ix.max_boundary_bytes());
  if (v > 1 && step.m % p != 0) return pl;  // Megatron's interleaved schedule
  std::vector<int> starts(sizes.size() + 1, 0);
  for (size_t c = 0; c < sizes.size(); ++c) {
    if (sizes[c] < 1) return pl;
    starts[c + 1] = starts[c] + static_cast<int>(sizes[c]);
  }
  if (starts.back() != ix.size()) return pl;
  bool fits = true;
  double max_compute = -1;
  double max_tail = -1, tail_comm = 0, tail_optimizer = 0;  // synchronisation + optimizer step
  double max_memory = -1;
  int64_t bottleneck = 0;
  for (int64_t r = 0; r < p; ++r) {
    double compute = 0, backward = 0;
    int64_t params = 0, kept = 0, transient = 0;
    for (int64_t c = r; c < p * v; c += p) {
      const int first = starts[static_cast<size_t>(c)], last = starts[static_cast<size_t>(c) + 1];
      compute += ix.Compute(first, last);
      backward += ix.Backward(first, last) + ix.Recompute(first, last);
      params += ix.Params(first, last);
      kept += ix.Kept(first, last);
      transient = std::max(transient, ix.Transient(first, last));
    }
    // Without overlap the tail rises with the parameters, so it is the largest stage's.
    const double comm = step.ExposedDataCommS(params, backward);
    const double optimizer = step.OptimizerS(params);
    if (comm + optimizer > max_tail) {
      max_tail = comm + optimizer;
      tail_comm = comm;
      tail_optimizer = optimizer;
    }
    const double in_flight = v == 1
                                 ? static_cast<double>(std::min(p - r, step.m))
                                 : std::min(static_cast<double>(step.m),
                                            static_cast<double>(2 * (p - r - 1) + (v - 1) * p + 1) /
                                                static_cast<double>(v));
    const double memory = static_cast<double>(params) * ix.state().Total() +
                          in_flight * static_cast<double>(kept) + static_cast<double>(transient);
    fits = fits && memory <= static_cast<double>(in.hbm_bytes);
    if (compute > max_compute) {
      max_compute = compute;
      bottleneck = r;
    }
    if (memory > max_memory) {
      max_memory = memory;
      const StateFactors& f = ix.state();
      pl.memory.weights_bytes =
          static_cast<int64_t>(std::ceil(static_cast<double>(params) * f.weights));
      pl.memory.gradients_bytes =
          static_cast<int64_t>(std::ceil(static_cast<double>(params) * f.gradients));
      pl.memory.optimizer_bytes =
          static_cast<int64_t>(std::ceil(static_cast<double>(params) * f.optimizer));
      pl.memory.activations_bytes = static_cast<int64_t>(
          std::ceil(in_flight * static_cast<double>(kept) + static_cast<double>(transient)));
    }
  }
  pl.feasible = fits;
  pl.micro_batches = step.m;
  pl.bottleneck_s = max_compute + step.pipeline_s;
  pl.time_per_batch_s = step.A() * (max_compute + step.pipeline_s) + max_tail;
  pl.throughput_samples_per_s =
      pl.time_per_batch_s > 0 ? static_cast<double>(in.global_batch) / pl.time_per_batch_s : 0;
  pl.bubble_fraction = (step.A() - static_cast<double>(step.m)) / step.A();
  pl.memory_per_device_bytes = static_cast<int64_t>(std::ceil(max_memory));
  // The breakdown of the slowest rank.
  const double m = static_cast<double>(step.m);
  TimeBreakdown& t = pl.time;
  for (int64_t c = bottleneck; c < p * v; c += p) {
    const int first = starts[static_cast<size_t>(c)], last = starts[static_cast<size_t>(c) + 1];
    t.forward_s += m * (ix.Forward(first, last) - ix.TpForward(first, last));
    t.backward_s += m * (ix.Backward(first, last) - ix.TpBackward(first, last));
    t.recompute_s += m * ix.Recompute(first, last);
    t.tp_comm_s += m * (ix.TpForward(first, last) + ix.TpBackward(first, last));
    t.zero3_gather_s += m * ix.GatherS(first, last);
  }
  t.pipeline_comm_s = m * step.pipeline_s;
  t.bubble_s = (step.A() - m) * pl.bottleneck_s;
  t.data_comm_s = tail_comm;
  t.optimizer_s = tail_optimizer;
  pl.sync_s = t.data_comm_s + t.optimizer_s;
  double energy = 0;
  for (const LayerCost& c : chain.layers) {
    energy += c.fwd_energy_j + c.bwd_energy_j + RecomputedOf(c, in.recompute).energy_j;
  }
  pl.energy_per_sample_j =
      energy * static_cast<double>(s.tensor) / static_cast<double>(in.micro_batch);
  return pl;
}

// Keeps the fastest feasible placement; ties keep the first found (the loops run in a fixed
// order, so the answer is deterministic).
struct Best {
  Placement placement;
  void Offer(Placement p) {
    if (!p.feasible) return;
    if (!placement.feasible || p.time_per_batch_s < placement.time_per_batch_s) {
      placement = std::move(p);
    }
  }
  double Bound() const { return placement.feasible ? placement.time_per_batch_s : kInf; }
};

// The d a pipeline of p stages of width t may use, optionally only one.
std::vector<int64_t> DataDegrees(const PlacementInput& in, int64_t p, int64_t t, int64_t only) {
  std::vector<int64_t> ds;
  const int64_t d_max = std::min(in.accelerators / (p * t), in.global_batch / in.micro_batch);
  for (int64_t d = 1; d <= d_max; ++d) {
    if (only == 0 || d == only) ds.push_back(d);
  }
  return ds;
}

// Every p (or only `fixed_p`) with the uniform split, for the given v, sharding and chain.
void SearchUniform(const Chain& chain, const PlacementInput& in, Strategy s, int64_t fixed_p,
                   int64_t fixed_d, Best& best) {
  const int64_t n = static_cast<int64_t>(chain.layers.size());
  const int64_t p_max = std::min(n, in.accelerators / s.tensor);
  for (int64_t p = fixed_p > 0 ? fixed_p : 1; p <= (fixed_p > 0 ? fixed_p : p_max); ++p) {
    const std::vector<int64_t> sizes = UniformSplit(n, p * s.virtual_stages);
    if (sizes.empty()) continue;
    if (s.virtual_stages > 1 && (n - 2) % (p * s.virtual_stages) != 0) continue;
    s.pipeline = p;
    for (int64_t d : DataDegrees(in, p, s.tensor, fixed_d)) {
      s.data = d;
      best.Offer(EvaluateOn(chain, in, s, sizes));
    }
  }
}

// The DP tables one search reuses.
struct DpWork {
  ChainDp free, capped;
};

// The exact best split for v = 1 over every p (or `fixed_p`) and every d of `ds`, which share
// one memory model (all d when nothing is sharded; one d otherwise) and the index `ix`.
void SearchBestSplit(const Chain& chain, ChainIndex& ix, const PlacementInput& in, Strategy s,
                     int64_t fixed_p, const std::vector<int64_t>& ds, Best& best, DpWork& work) {
  if (ds.empty()) return;
  const int64_t t = s.tensor;
  const int n = static_cast<int>(chain.layers.size());
  const int p_cap = static_cast<int>(std::min<int64_t>(n, in.accelerators / (t * ds.front())));
  const int p_lo = fixed_p > 0 ? static_cast<int>(fixed_p) : 1;
  int p_hi = fixed_p > 0 ? static_cast<int>(std::min<int64_t>(fixed_p, p_cap)) : p_cap;
  // Before any DP: the p whose StepLowerBoundS at their largest d cannot beat the best found
  // need no row of it (the rows of smaller p are needed anyway), and a call none of whose p can
  // needs none at all. The bound is shaved by 1e-12 against rounding: it sums in another order.
  // The end of the d of ds (ascending) that fit p stages: p t d devices at most.
  auto fitting_end = [&](int p) {
    return std::upper_bound(ds.begin(), ds.end(), in.accelerators / (p * t));
  };
  const ChainCompute least = ComputeOf(chain, in.recompute);
  int p_alive = 0;
  for (int p = p_lo; p <= p_hi; ++p) {
    const auto end = fitting_end(p);
    if (end == ds.begin()) break;
    const int64_t m = CeilDiv(in.global_batch, *std::prev(end) * in.micro_batch);
    if (StepLowerBoundS(least, p, 1, m) * (1 - 1e-12) < best.Bound()) p_alive = p;
  }
  p_hi = std::min(p_hi, p_alive);
  if (p_hi < p_lo) return;
  // Fewer micro-batches than stages caps what a stage holds in flight at m; the d that share
  // this DP share their cap (SearchChain groups them so).
  ix.set_in_flight_cap(CeilDiv(in.global_batch, ds.front() * in.micro_batch));
  s.virtual_stages = 1;
  s.split = Split::kBest;

  // Every d of ds that fits p stages, from the largest down: T is at least (m + p - 1) x the
  // slowest compute, which only grows as d falls (m = ceil(B / (d b))), so the d below one whose
  // bound reaches `limit` need no look. `visit` gets each strategy that may beat `limit()`.
  auto descending = [&](int p, double compute, auto limit, auto visit) {
    for (auto it = fitting_end(p); it != ds.begin();) {
      const int64_t d = *--it;
      const double m = static_cast<double>(CeilDiv(in.global_batch, d * in.micro_batch));
      if ((m + p - 1) * compute >= limit()) break;
      Strategy sd = s;
      sd.pipeline = p;
      sd.data = d;
      visit(sd);
    }
  };
  // T of a split for one p over every d; the best placement is rebuilt by EvaluateOn, on this
  // index unless ZeRO-3's gathers need the group of each (p, d).
  const ChainIndex* reusable = s.sharding == Sharding::kZero3 ? nullptr : &ix;
  auto offer = [&](int p, const std::vector<int64_t>& sizes, const SplitMaxima& split) {
    descending(
        p, split.compute_s, [&] { return best.Bound(); },
        [&](const Strategy& sd) {
          const StepCosts step(in, sd, ix.max_boundary_bytes());
          if (step.TimeS(split.compute_s, split.params) < best.Bound()) {
            best.Offer(EvaluateOn(chain, in, sd, sizes, reusable));
          }
        });
  };
  // Lower bound on T for p over the d, given a lower bound on the slowest compute and on the
  // largest stage's parameters.
  auto lower_bound = [&](int p, double compute, int64_t params) {
    double lb = kInf;
    descending(
        p, compute, [&] { return lb; },
        [&](const Strategy& sd) {
          lb = std::min(lb, StepCosts(in, sd, ix.max_boundary_bytes()).TimeS(compute, params));
        });
    return lb;
  };

  constexpr int64_t kNoCap = std::numeric_limits<int64_t>::max();
  ChainDp& free = work.free;
  SolveChain(ix, p_hi, kNoCap, free);
  int64_t total = 0, largest = 0;
  for (const LayerCost& c : chain.layers) {
    total += c.param_bytes;
    largest = std::max(largest, c.param_bytes);
  }
  // Per p: the split without a cap (its largest stage P_U) and the smallest possible largest
  // stage P_lo; a cap helps p only in [P_lo, P_U).
  std::vector<int64_t> p_upper(static_cast<size_t>(p_hi) + 1, -1), p_lower(p_upper);
  std::vector<bool> alive(static_cast<size_t>(p_hi) + 1, false);
  std::vector<double> p_bound(static_cast<size_t>(p_hi) + 1, kInf);
  for (int p = p_lo; p <= p_hi; ++p) {
    const double u = free.best(p, 0);
    if (!(u < kInf)) continue;
    const std::vector<int64_t> sizes = Partition(free, p);
    const SplitMaxima split = MaximaOf(ix, sizes);
    offer(p, sizes, split);
    const size_t pi = static_cast<size_t>(p);
    p_upper[pi] = split.params;
    p_lower[pi] = p == 1 ? split.params : std::max(largest, CeilDiv(total, p));
    alive[pi] = p > 1 && p_lower[pi] < split.params;
    // Below P_U the slowest compute is at least the free optimum and the largest stage at least
    // P_lo: a bound on every capped split of p, whatever the cap.
    if (alive[pi]) p_bound[pi] = lower_bound(p, u, p_lower[pi]);
  }
  // The caps worth trying: the parameter sizes of every possible stage inside some p's window,
  // tried in descending order. A smaller cap never lowers the slowest stage (fewer splits
  // qualify), so once p's capped optimum, with its largest stage at its smallest possible
  // P_lo, cannot beat the best found, no smaller cap can either: p is done. The optimum is
  // usually close to the unconstrained split, so most caps are never solved.
  int64_t window_lo = std::numeric_limits<int64_t>::max(), window_hi = 0;
  for (int p = p_lo; p <= p_hi; ++p) {
    const size_t pi = static_cast<size_t>(p);
    if (alive[pi] && p_bound[pi] < best.Bound()) {
      window_lo = std::min(window_lo, p_lower[pi]);
      window_hi = std::max(window_hi, p_upper[pi]);
    }
  }
  if (window_hi == 0) return;
  // Params(i, j) rises with j (the one exception, the whole chain with a tied head, is checked
  // on its own), so each start's stages in the window are a run of ends, found by bisection.
  std::vector<int64_t> caps;
  auto add_cap = [&](int64_t cap) {
    if (cap >= window_lo && cap < window_hi) caps.push_back(cap);
  };
  add_cap(ix.Params(0, n));
  for (int i = 0; i < n; ++i) {
    const int last_end = i == 0 ? n - 1 : n;
    int lo = i + 1, hi = last_end + 1;  // the first end whose stage reaches window_lo
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      if (ix.Params(i, mid) >= window_lo)
        hi = mid;
      else
        lo = mid + 1;
    }
    for (int j = lo; j <= last_end && ix.Params(i, j) < window_hi; ++j) add_cap(ix.Params(i, j));
  }
  std::sort(caps.rbegin(), caps.rend());
  caps.erase(std::unique(caps.begin(), caps.end()), caps.end());
  for (int64_t cap : caps) {
    int k_max = 0;
    for (int p = p_lo; p <= p_hi; ++p) {
      const size_t pi = static_cast<size_t>(p);
      if (!alive[pi] || cap < p_lower[pi] || cap >= p_upper[pi]) continue;
      if (p_bound[pi] >= best.Bound()) {
        alive[pi] = false;
        continue;
      }
      k_max = p;
    }
    if (k_max == 0) continue;
    ChainDp& capped = work.capped;
    SolveChain(ix, k_max, cap, capped);
    for (int p = p_lo; p <= k_max; ++p) {
      const size_t pi = static_cast<size_t>(p);
      if (!alive[pi] || cap < p_lower[pi] || cap >= p_upper[pi]) continue;
      const double compute = capped.best(p, 0);
      if (!(compute < kInf)) {
        alive[pi] = false;  // no split of p fits this cap, nor any smaller one
        continue;
      }
      const std::vector<int64_t> sizes = Partition(capped, p);
      offer(p, sizes, MaximaOf(ix, sizes));
      p_bound[pi] = lower_bound(p, compute, p_lower[pi]);
    }
  }
}

void SearchChain(const Chain& chain, const PlacementInput& in, const Strategy& fixed, bool is_fixed,
                 Best& best) {
  const std::vector<int64_t> vs =
      is_fixed ? std::vector<int64_t>{fixed.virtual_stages} : in.virtual_stages;
  const std::vector<Sharding> shardings =
      is_fixed ? std::vector<Sharding>{fixed.sharding} : in.shardings;
  const int64_t fixed_p = is_fixed ? fixed.pipeline : 0;
  const int64_t fixed_d = is_fixed ? fixed.data : 0;
  DpWork work;
  for (Sharding sharding : shardings) {
    for (int64_t v : vs) {
      Strategy s;
      s.tensor = chain.tensor_width;
      s.sequence_parallel = chain.sequence_parallel;
      s.sharding = sharding;
      s.virtual_stages = v;
      const bool uniform = v > 1 || in.dp_overlap || (is_fixed && fixed.split == Split::kUniform);
      if (uniform) {
        s.split = Split::kUniform;
        SearchUniform(chain, in, s, fixed_p, fixed_d, best);
        continue;
      }
      if (sharding == Sharding::kNone) {
        // The memory model does not depend on d, except through the in-flight cap m(d) when m
        // is below the deepest pipeline d allows. Ascending d, m never grows: each run of d that
        // share their cap (the same m, or m at least as deep as any pipeline they allow) shares
        // one DP.
        const std::vector<int64_t> ds = DataDegrees(in, 1, s.tensor, fixed_d);
        if (ds.empty()) continue;
        // One index for every d: unsharded, its state and groups do not depend on d.
        ChainIndex ix(chain, in, s.sharding, ds.front(),
                      GroupsOf(in.rank_order, s.tensor, ds.front(), 1).dp);
        const int64_t n = static_cast<int64_t>(chain.layers.size());
        auto cap_of = [&](int64_t d) {
          const int64_t deepest = std::min(n, in.accelerators / (s.tensor * d));
          const int64_t m = CeilDiv(in.global_batch, d * in.micro_batch);
          return m >= deepest ? int64_t{-1} : m;  // -1: the cap never binds
        };
        for (size_t first = 0; first < ds.size();) {
          size_t last = first + 1;
          while (last < ds.size() && cap_of(ds[last]) == cap_of(ds[first])) ++last;
          SearchBestSplit(chain, ix, in, s, fixed_p, {ds.begin() + first, ds.begin() + last}, best,
                          work);
          first = last;
        }
      } else {
        // ZeRO's memory depends on d: one DP per d. (With the tp-pp-dp rank order the ZeRO-3
        // gathers' group also depends on p; the DP then screens with p = 1's group and every
        // offer is re-costed exactly, so only that combination may miss the optimum.)
        for (int64_t d : DataDegrees(in, 1, s.tensor, fixed_d)) {
          ChainIndex ix(chain, in, s.sharding, d, GroupsOf(in.rank_order, s.tensor, d, 1).dp);
          SearchBestSplit(chain, ix, in, s, fixed_p, {d}, best, work);
        }
      }
    }
  }
}

}  // namespace

double DynamicPowerPerDeviceW(const Placement& p) {
  if (!p.feasible) return 0;
  const Strategy& s = p.strategy;
  return p.energy_per_sample_j * p.throughput_samples_per_s /
         static_cast<double>(s.pipeline * s.tensor * s.data);
}

const char* RecomputeName(Recompute r) {
  switch (r) {
    case Recompute::kNone: return "none";
    case Recompute::kSelective: return "selective";
    case Recompute::kFull: return "full";
  }
  return "?";
}

const char* ShardingName(Sharding s) {
  switch (s) {
    case Sharding::kNone: return "none";
    case Sharding::kZero1: return "zero1";
    case Sharding::kZero2: return "zero2";
    case Sharding::kZero3: return "zero3";
  }
  return "?";
}

const char* SplitName(Split s) { return s == Split::kBest ? "best" : "uniform"; }

const char* RankOrderName(RankOrder o) {
  return o == RankOrder::kTensorDataPipeline ? "tp-dp-pp" : "tp-pp-dp";
}

std::vector<int64_t> UniformSplit(int64_t layers, int64_t pieces) {
  if (pieces < 1 || layers < pieces) return {};
  if (pieces == 1) return {layers};
  const int64_t blocks = layers - 2;
  std::vector<int64_t> sizes(static_cast<size_t>(pieces));
  if (blocks >= pieces && blocks % pieces == 0) {
    // Megatron: blocks / pieces each, the embedding joins the first and the head the last.
    std::fill(sizes.begin(), sizes.end(), blocks / pieces);
    sizes.front() += 1;
    sizes.back() += 1;
    return sizes;
  }
  // The embedding and the head count as one block each (DeepSpeed's type:transformer|embedding
  // partition): layers / pieces each, the remainder one more on the middle pieces.
  const int64_t base = layers / pieces, extra = layers % pieces;
  const int64_t offset = (pieces - extra) / 2;
  for (int64_t c = 0; c < pieces; ++c) {
    sizes[static_cast<size_t>(c)] = base + (c >= offset && c < offset + extra ? 1 : 0);
  }
  return sizes;
}

Placement Evaluate(const PlacementInput& in, const Strategy& s,
                   const std::vector<int64_t>& stage_layers) {
  const Chain* chain = FindChain(in, s.tensor, s.sequence_parallel);
  if (chain == nullptr) {
    Placement pl;
    pl.strategy = s;
    pl.recompute = in.recompute;
    return pl;
  }
  return EvaluateOn(*chain, in, s, stage_layers);
}

Placement Place(const PlacementInput& in) {
  Best best;
  for (const Chain& chain : in.chains) SearchChain(chain, in, Strategy{}, false, best);
  best.placement.recompute = in.recompute;
  return best.placement;
}

double ThroughputUpperBound(const PlacementInput& in) {
  const int64_t v_max = std::max<int64_t>(
      1, in.virtual_stages.empty()
             ? 1
             : *std::max_element(in.virtual_stages.begin(), in.virtual_stages.end()));
  const int64_t d_batch = in.micro_batch > 0 ? in.global_batch / in.micro_batch : 0;
  double best_s = kInf;
  for (const Chain& chain : in.chains) {
    const int64_t t = chain.tensor_width;
    if (t < 1 || t > in.accelerators || chain.layers.empty()) continue;
    const ChainCompute compute = ComputeOf(chain, in.recompute);
    const int64_t n = static_cast<int64_t>(chain.layers.size());
    for (int64_t p = 1; p <= std::min(n, in.accelerators / t); ++p) {
      const int64_t d_max = std::min(in.accelerators / (t * p), d_batch);
      if (d_max < 1) break;
      const int64_t m = CeilDiv(in.global_batch, d_max * in.micro_batch);
      best_s = std::min(best_s, StepLowerBoundS(compute, p, p >= 2 ? v_max : 1, m));
    }
  }
  if (!(best_s < kInf)) return 0;
  return best_s > 0 ? static_cast<double>(in.global_batch) / best_s : kInf;
}

Placement PlaceFixed(const PlacementInput& in, const Strategy& s) {
  Best best;
  const Chain* chain = FindChain(in, s.tensor, s.sequence_parallel);
  if (chain != nullptr && WithinLimits(in, s) &&
      s.pipeline <= static_cast<int64_t>(chain->layers.size())) {
    SearchChain(*chain, in, s, true, best);
  }
  if (!best.placement.feasible) {
    Placement pl;
    pl.strategy = s;
    pl.recompute = in.recompute;
    return pl;
  }
  return best.placement;
}

}  // namespace phaze::place
