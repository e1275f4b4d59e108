#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/cost/cost.h"
#include "common/place/place.h"

namespace phaze::place {

using cost::RingAllReduceS;
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double TransferS(int64_t bytes, const PlacementInput& in) {
  return static_cast<double>(bytes) / in.link_bandwidth_bytes_per_s + in.link_latency_s;
}

int64_t StateBytesPerParamByte(Optimizer optimizer) {
  // Per 2-byte parameter: fp16 weight + fp16 gradient (4 B), plus fp32 master weight and two fp32
  // moments (12 B) with Adam: 16 B per parameter in all (Rajbhandari et al. 2020).
  return optimizer == Optimizer::kAdam ? 8 : 2;
}

// Prefix sums and a range-maximum table over the chain, so that any stage costs O(1).
class ChainIndex {
 public:
  ChainIndex(const Chain& chain, const PlacementInput& in) : chain_(chain), in_(in) {
    const size_t n = chain.layers.size();
    work_.assign(n + 1, 0.0);
    fwd_.assign(n + 1, 0.0);
    params_.assign(n + 1, 0);
    stash_.assign(n + 1, 0);
    inputs_.assign(n + 1, 0);
    for (size_t l = 0; l < n; ++l) {
      const LayerCost& c = chain.layers[l];
      work_[l + 1] = work_[l] + c.fwd_s + c.bwd_s;
      fwd_[l + 1] = fwd_[l] + c.fwd_s;
      params_[l + 1] = params_[l] + c.param_bytes;
      stash_[l + 1] = stash_[l] + c.stash_bytes;
      inputs_[l + 1] = inputs_[l] + c.input_bytes;
    }
    // Sparse table of max stash_bytes.
    levels_.push_back({});
    for (const LayerCost& c : chain.layers) levels_[0].push_back(c.stash_bytes);
    for (size_t width = 1; 2 * width <= n; width *= 2) {
      const std::vector<int64_t>& prev = levels_.back();
      std::vector<int64_t> next(n - 2 * width + 1);
      for (size_t i = 0; i < next.size(); ++i) next[i] = std::max(prev[i], prev[i + width]);
      levels_.push_back(std::move(next));
    }
  }

  int size() const { return static_cast<int>(chain_.layers.size()); }

  double Load(int first, int last) const {
    const bool is_last = last == size();
    const bool recompute = in_.recompute && !is_last;
    double s = work_[last] - work_[first];
    if (recompute) s += fwd_[last] - fwd_[first];
    if (first > 0) s += TransferS(chain_.layers[first - 1].output_bytes, in_);
    if (!is_last) s += TransferS(chain_.layers[last - 1].output_bytes, in_);
    return s;
  }

  int64_t Params(int first, int last) const {
    int64_t p = params_[last] - params_[first];
    // A tied LM head shares the embedding's matrix when both sit in the same stage.
    if (first == 0 && last == size()) p -= chain_.layers.back().tied_param_bytes;
    return p;
  }

  int64_t Memory(int first, int last, int64_t in_flight) const {
    const bool recompute = in_.recompute && last != size();
    int64_t bytes = Params(first, last) * StateBytesPerParamByte(in_.optimizer);
    if (recompute) {
      bytes += in_flight * (inputs_[last] - inputs_[first]) + MaxStash(first, last);
    } else {
      bytes += in_flight * (stash_[last] - stash_[first]);
    }
    return bytes;
  }

  bool Fits(int first, int last, int64_t in_flight) const {
    return Memory(first, last, in_flight) <= in_.hbm_bytes;
  }

 private:
  int64_t MaxStash(int first, int last) const {
    const size_t len = static_cast<size_t>(last - first);
    size_t level = 0;
    while ((size_t{2} << level) <= len) ++level;
    const std::vector<int64_t>& row = levels_[level];
    return std::max(row[static_cast<size_t>(first)],
                    row[static_cast<size_t>(last) - (size_t{1} << level)]);
  }

  const Chain& chain_;
  const PlacementInput& in_;
  std::vector<double> work_, fwd_;
  std::vector<int64_t> params_, stash_, inputs_;
  std::vector<std::vector<int64_t>> levels_;
};

// best[k][i]: the smallest slowest-stage time covering layers [i, n) with exactly k stages, the
// first of which is k-th from the end (k micro-batches in flight); cut[k][i] its end.
struct ChainDp {
  std::vector<std::vector<double>> best;
  std::vector<std::vector<int>> cut;
};

ChainDp SolveChain(const ChainIndex& ix, int max_stages) {
  const int n = ix.size();
  ChainDp dp;
  dp.best.assign(static_cast<size_t>(max_stages) + 1, std::vector<double>(n + 1, kInf));
  dp.cut.assign(static_cast<size_t>(max_stages) + 1, std::vector<int>(n + 1, -1));
  for (int i = 0; i < n; ++i) {
    if (ix.Fits(i, n, 1)) {
      dp.best[1][i] = ix.Load(i, n);
      dp.cut[1][i] = n;
    }
  }
  for (int k = 2; k <= max_stages; ++k) {
    const std::vector<double>& rest = dp.best[static_cast<size_t>(k) - 1];
    // Two pointers, amortised O(n) per k: the longest stage that fits (j_max) never shrinks as
    // its start i moves right (a sub-interval fits wherever the interval does), and neither, in
    // practice, does the crossing of Load(i, j) (rising in j) and rest[j] (falling in j). The
    // crossing pointer is checked, and found by binary search where the guess is wrong, so the
    // result is exact either way.
    int j_max = 0;
    int cross = 0;
    for (int i = 0; i + k <= n; ++i) {
      const int j_hi = n - k + 1;
      if (!ix.Fits(i, i + 1, k)) continue;
      j_max = std::max(j_max, i + 1);
      while (j_max < j_hi && ix.Fits(i, j_max + 1, k)) ++j_max;
      // First j in [i + 1, j_max + 1) with Load(i, j) >= rest[j]; j_max + 1 if none.
      auto crossed = [&](int j) { return ix.Load(i, j) >= rest[j]; };
      int lo = std::max(i + 1, std::min(cross, j_max + 1));
      if (lo > i + 1 && crossed(lo - 1)) {
        int a = i + 1, b = lo - 1;  // the crossing is at or before lo - 1
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
        const double v = std::max(ix.Load(i, j), rest[j]);
        if (v < value) {
          value = v;
          at = j;
        }
      }
      dp.best[k][i] = value;
      dp.cut[k][i] = value < kInf ? at : -1;
    }
  }
  return dp;
}

std::vector<int64_t> Partition(const ChainDp& dp, int stages) {
  std::vector<int64_t> sizes;
  int i = 0;
  for (int k = stages; k >= 1; --k) {
    const int j = dp.cut[static_cast<size_t>(k)][static_cast<size_t>(i)];
    sizes.push_back(j - i);
    i = j;
  }
  return sizes;
}

const Chain* FindChain(const PlacementInput& in, int64_t t) {
  for (const Chain& c : in.chains) {
    if (c.tensor_width == t) return &c;
  }
  return nullptr;
}

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

double StageLoadS(const Chain& chain, int first, int last, const PlacementInput& in) {
  return ChainIndex(chain, in).Load(first, last);
}

int64_t StageMemoryBytes(const Chain& chain, int first, int last, int64_t in_flight,
                         const PlacementInput& in) {
  return ChainIndex(chain, in).Memory(first, last, in_flight);
}

void Finish(const Chain& chain, const PlacementInput& in, Placement& pl) {
  const ChainIndex ix(chain, in);
  const Strategy& s = pl.strategy;
  const int64_t p = static_cast<int64_t>(pl.stage_layers.size());
  pl.feasible = p == s.pipeline && p >= 1 && s.data >= 1 &&
                s.pipeline * s.tensor * s.data <= in.accelerators &&
                s.data * in.micro_batch <= in.global_batch;
  pl.micro_batches = CeilDiv(in.global_batch, s.data * in.micro_batch);
  pl.bottleneck_s = 0;
  pl.memory_per_device_bytes = 0;
  int64_t max_params = 0;
  double energy = 0;
  int first = 0;
  for (int64_t k = 0; k < p; ++k) {
    const int last = first + static_cast<int>(pl.stage_layers[static_cast<size_t>(k)]);
    if (last > ix.size() || last <= first) {
      pl.feasible = false;
      return;
    }
    const int64_t in_flight = p - k;
    pl.bottleneck_s = std::max(pl.bottleneck_s, ix.Load(first, last));
    const int64_t memory = ix.Memory(first, last, in_flight);
    pl.memory_per_device_bytes = std::max(pl.memory_per_device_bytes, memory);
    pl.feasible = pl.feasible && memory <= in.hbm_bytes;
    max_params = std::max(max_params, ix.Params(first, last));
    const bool recompute = in.recompute && last != ix.size();
    for (int l = first; l < last; ++l) {
      const LayerCost& c = chain.layers[static_cast<size_t>(l)];
      energy += c.fwd_energy_j + c.bwd_energy_j + (recompute ? c.fwd_energy_j : 0.0);
    }
    first = last;
  }
  pl.feasible = pl.feasible && first == ix.size();
  // Gradients are fp16: as many bytes as the parameters.
  pl.sync_s = RingAllReduceS(max_params, s.data, in.link_bandwidth_bytes_per_s, in.link_latency_s);
  const double m = static_cast<double>(pl.micro_batches);
  const double stages = static_cast<double>(p);
  pl.time_per_batch_s = (m + stages - 1) * pl.bottleneck_s + pl.sync_s;
  pl.throughput_samples_per_s =
      pl.time_per_batch_s > 0 ? static_cast<double>(in.global_batch) / pl.time_per_batch_s : 0;
  pl.bubble_fraction = (stages - 1) / (m + stages - 1);
  pl.energy_per_sample_j =
      energy * static_cast<double>(s.tensor) / static_cast<double>(in.micro_batch);
}

Placement Place(const PlacementInput& in) {
  Placement best;
  for (const Chain& chain : in.chains) {
    const int64_t t = chain.tensor_width;
    const ChainIndex ix(chain, in);
    const int n = ix.size();
    const int max_stages = static_cast<int>(std::min<int64_t>(n, in.accelerators / t));
    if (max_stages < 1) continue;
    const ChainDp dp = SolveChain(ix, max_stages);
    for (int p = 1; p <= max_stages; ++p) {
      const double bottleneck = dp.best[static_cast<size_t>(p)][0];
      if (!(bottleneck < kInf)) continue;
      const std::vector<int64_t> stages = Partition(dp, p);
      int64_t max_params = 0;
      int first = 0;
      for (int64_t len : stages) {
        max_params = std::max(max_params, ix.Params(first, first + static_cast<int>(len)));
        first += static_cast<int>(len);
      }
      const int64_t d_max = std::min(in.accelerators / (p * t), in.global_batch / in.micro_batch);
      // Only the smallest d of each distinct micro-batch count can win: a larger d with the same
      // count only adds to the gradient all-reduce.
      const int64_t samples = in.global_batch;
      for (int64_t d = 1; d <= d_max;) {
        const int64_t m = CeilDiv(samples, d * in.micro_batch);
        const double tpb =
            static_cast<double>(m + p - 1) * bottleneck +
            RingAllReduceS(max_params, d, in.link_bandwidth_bytes_per_s, in.link_latency_s);
        if (!best.feasible || tpb < best.time_per_batch_s) {
          best.feasible = true;
          best.time_per_batch_s = tpb;
          best.strategy = {p, d, t};
          best.stage_layers = stages;
        }
        if (m <= 1) break;
        d = std::max(d + 1, CeilDiv(samples, (m - 1) * in.micro_batch));
      }
    }
  }
  if (best.feasible) {
    const Chain* chain = FindChain(in, best.strategy.tensor);
    Finish(*chain, in, best);
  }
  return best;
}

Placement PlaceFixed(const PlacementInput& in, const Strategy& s) {
  Placement pl;
  pl.strategy = s;
  const Chain* chain = FindChain(in, s.tensor);
  if (chain == nullptr || s.pipeline < 1 || s.data < 1) return pl;
  const ChainIndex ix(chain[0], in);
  if (s.pipeline > ix.size()) return pl;
  const ChainDp dp = SolveChain(ix, static_cast<int>(s.pipeline));
  if (!(dp.best[static_cast<size_t>(s.pipeline)][0] < kInf)) return pl;
  pl.stage_layers = Partition(dp, static_cast<int>(s.pipeline));
  Finish(*chain, in, pl);
  return pl;
}

}  // namespace phaze::place
