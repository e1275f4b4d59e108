// Per-layer operator graphs for forward and backward, built analytically from a ModelSpec.
//
// For a micro-batch size b and tensor-parallel width t, BuildModelGraph() returns the distinct
// layers of one pipeline replica (embedding, transformer block, head) with Megatron
// tensor-parallel semantics for rank 0 of t: column-parallel GEMMs divide their output features
// by t, row-parallel GEMMs their reduction, attention keeps a/t heads, norms and residual adds are
// replicated, and the all-reduces the split implies appear where Megatron puts them (after each
// row-parallel GEMM in forward, before each column-parallel GEMM's input gradient in backward).
// The backward graph is derived from the forward one: weight GEMMs give an input-gradient GEMM and
// a weight-gradient GEMM, activation-activation GEMMs give both operand gradients.
//
//   PHAZE_ASSIGN_OR_RETURN(ModelGraph g, BuildModelGraph(model, /*micro_batch=*/4, /*t=*/8, {}));
//   for (const Operator& op : g.block.forward) ...
#ifndef PHAZE_COMMON_WORKLOAD_LAYER_GRAPH_H_
#define PHAZE_COMMON_WORKLOAD_LAYER_GRAPH_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/workload/model.h"

namespace phaze::workload {

inline constexpr int64_t kBytesPerElement = 2;  // fp16/bf16 activations and weights

enum class OpKind { kGemm, kVector, kAllReduce };
enum class Engine { kTensor, kVector, kLink };
enum class Direction { kForward, kBackward };
// The tensor-parallel collective of a kAllReduce operator: an all-reduce, or with sequence
// parallelism the reduce-scatter and all-gather pair that replaces it.
enum class Collective { kAllReduce, kReduceScatter, kAllGather };

// What a vector-core operator computes; the cost model maps it to cycles per element.
enum class VectorFn {
  kAdd,             // residual add / gradient accumulation
  kBiasDropoutAdd,  // bias + dropout + residual add, as Megatron fuses it
  kDropout,
  kGelu,
  kRelu,
  kSiluMul,  // SwiGLU's silu(gate) * up
  kLayerNorm,
  kRmsNorm,
  kSoftmax,       // scale + mask + softmax over rows of row_length
  kRotary,        // rotary position embedding on q and k
  kGather,        // embedding lookup (forward) / scatter-add of its gradient (backward)
  kCrossEntropy,  // softmax cross-entropy over the vocabulary shard (fp32)
};

struct GemmShape {
  int64_t batch = 1;  // independent GEMMs of the same shape (attention heads x micro-batch)
  int64_t m = 0;      // rows of the output
  int64_t k = 0;      // reduction
  int64_t n = 0;      // columns of the output
  int64_t Macs() const { return batch * m * k * n; }
};

struct Operator {
  std::string name;  // e.g. "fc1", "fc1.dW", "attn.softmax"
  OpKind kind = OpKind::kVector;
  Direction direction = Direction::kForward;
  // kGemm
  GemmShape gemm;
  bool has_weight = false;       // second operand is a parameter (it gets a weight gradient)
  bool column_parallel = false;  // Megatron column-parallel: its input gradient is all-reduced
  // kVector
  VectorFn fn = VectorFn::kAdd;
  int64_t elements = 0;    // output elements
  int64_t row_length = 0;  // softmax / norm / cross-entropy reduction length
  int64_t inputs = 1;      // tensors read of `elements` size (2 for a residual add)
  // kAllReduce
  int64_t allreduce_bytes = 0;  // the full buffer per rank (all-gather: its output)
  int64_t group_size = 1;       // ranks in the ring (t)
  Collective collective = Collective::kAllReduce;
  // Memory traffic and storage.
  int64_t bytes_in = 0;         // bytes read
  int64_t bytes_out = 0;        // bytes written
  int64_t saved_bytes = 0;      // forward only: activation bytes kept for backward
  bool attention_core = false;  // QK^T, softmax, dropout, PV: what selective recompute redoes
  std::vector<int> deps;        // indices of the operators this one waits for (same graph)

  Engine engine() const {
    return kind == OpKind::kGemm     ? Engine::kTensor
           : kind == OpKind::kVector ? Engine::kVector
                                     : Engine::kLink;
  }
  int64_t Flops() const { return kind == OpKind::kGemm ? 2 * gemm.Macs() : 0; }
};

enum class LayerKind { kEmbedding, kBlock, kHead };

struct LayerGraph {
  LayerKind kind = LayerKind::kBlock;
  std::string name;
  std::vector<Operator> forward;   // topologically ordered: deps point to lower indices
  std::vector<Operator> backward;  // topologically ordered
  int64_t param_bytes = 0;         // parameters held by one tensor-parallel rank
  int64_t tied_param_bytes = 0;    // of which shared with the embedding (tied LM head)
  int64_t stash_bytes = 0;         // activations one micro-batch keeps for backward (no recompute)
  int64_t stash_selective_bytes = 0;  // ... when the attention core is recomputed
  int64_t input_bytes = 0;            // the layer's input activation (what full recompute keeps)
  int64_t output_bytes = 0;           // activation sent to the next layer (pipeline edge)
};

struct GraphOptions {
  // The original PHAZE backward: the forward graph reversed with one GEMM per GEMM (no weight
  // gradients), for reproducing its numbers only.
  bool compat_backward = false;
  // Backward tensor-parallel all-reduces may run under the weight-gradient GEMMs (Megatron's
  // async all-reduce). Off: each waits for both GEMMs of its layer (fully exposed).
  bool tp_overlap = false;
  // Megatron's sequence parallelism (Korthikanti et al. 2022): norms, dropouts and residual adds
  // on s/t tokens per rank, all-gather before and reduce-scatter after each tensor-parallel
  // region, the layer inputs stored sharded and re-gathered for the weight gradients.
  bool sequence_parallel = false;
  // Gradient accumulation over micro-batches as the frameworks of the validated runs do it: every
  // weight gradient is added into the step's gradient buffer by its own element-wise pass after
  // its weight-gradient GEMM (Megatron-LM's `param.main_grad.add_(param.grad)` hook, PyTorch's
  // AccumulateGrad, DeepSpeed), reading both 16-bit gradients and writing one: 6 B per
  // parameter per micro-batch. The embedding table gets one such pass too. Biases and norm
  // parameters (O(h) per layer) are left out. Ignored under compat_backward (the original has
  // no weight gradients).
  bool grad_accumulation = true;
  // The gradient buffer is fp32 (Megatron's main_grad in bf16 training): the pass reads 2 + 4 B
  // and writes 4 B per parameter, 10 B in all.
  bool fp32_main_grads = false;
};

// The distinct layers of a model at (micro-batch, t). The layer chain of one pipeline replica is
// embedding, block x num_blocks, head.
struct ModelGraph {
  int64_t micro_batch = 0;
  int64_t tensor_width = 0;
  bool sequence_parallel = false;
  int64_t num_blocks = 0;
  LayerGraph embedding;
  LayerGraph block;
  LayerGraph head;
};

// The chain's distinct layers with how often each occurs in it: the embedding once, the block
// num_blocks times, the head once.
struct RepeatedLayer {
  const LayerGraph* layer = nullptr;
  double count = 1;
};
std::array<RepeatedLayer, 3> RepeatedLayers(const ModelGraph& g);

// Errors: kInvalidArgument if the model is invalid, micro_batch < 1, or t does not divide the
// heads, KV heads or FFN size (the message names which).
absl::StatusOr<ModelGraph> BuildModelGraph(const ModelSpec& model, int64_t micro_batch, int64_t t,
                                           const GraphOptions& options);

const char* VectorFnName(VectorFn fn);
const char* LayerKindName(LayerKind kind);

}  // namespace phaze::workload

#endif  // PHAZE_COMMON_WORKLOAD_LAYER_GRAPH_H_
