#include "common/workload/layer_graph.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace phaze::workload {

namespace {

// Appends forward operators; every add returns the new operator's index.
class ForwardBuilder {
 public:
  int Gemm(std::string name, GemmShape shape, bool has_weight, bool column_parallel,
           int64_t saved_bytes, std::vector<int> deps) {
    Operator op;
    op.name = std::move(name);
    op.kind = OpKind::kGemm;
    op.gemm = shape;
    op.has_weight = has_weight;
    op.column_parallel = column_parallel;
    const int64_t second_operand = has_weight ? shape.k * shape.n : shape.batch * shape.k * shape.n;
    op.bytes_in = (shape.batch * shape.m * shape.k + second_operand) * kBytesPerElement;
    op.bytes_out = shape.batch * shape.m * shape.n * kBytesPerElement;
    op.saved_bytes = saved_bytes;
    op.deps = std::move(deps);
    return Push(std::move(op));
  }

  int Vector(std::string name, VectorFn fn, int64_t elements, int64_t row_length, int64_t inputs,
             int64_t saved_bytes, std::vector<int> deps) {
    Operator op;
    op.name = std::move(name);
    op.kind = OpKind::kVector;
    op.fn = fn;
    op.elements = elements;
    op.row_length = row_length;
    op.inputs = inputs;
    op.bytes_in = inputs * elements * kBytesPerElement;
    op.bytes_out = elements * kBytesPerElement;
    op.saved_bytes = saved_bytes;
    op.deps = std::move(deps);
    return Push(std::move(op));
  }

  // A forward collective over t ranks; returns `input` unchanged when t == 1 (none).
  int AllReduce(std::string name, int64_t bytes, int64_t t, int input,
                Collective collective = Collective::kAllReduce) {
    if (t <= 1) return input;
    Operator op;
    op.name = std::move(name);
    op.kind = OpKind::kAllReduce;
    op.collective = collective;
    op.allreduce_bytes = bytes;
    op.group_size = t;
    op.bytes_in = bytes;
    op.bytes_out = bytes;
    op.deps = input < 0 ? std::vector<int>{} : std::vector<int>{input};
    return Push(std::move(op));
  }

  void MarkAttentionCore(int i) { ops_[static_cast<size_t>(i)].attention_core = true; }
  std::vector<Operator> Take() { return std::move(ops_); }
  const std::vector<Operator>& ops() const { return ops_; }

 private:
  int Push(Operator op) {
    ops_.push_back(std::move(op));
    return static_cast<int>(ops_.size()) - 1;
  }
  std::vector<Operator> ops_;
};

std::vector<int> Deps(int i) { return i < 0 ? std::vector<int>{} : std::vector<int>{i}; }

// The element-wise pass that adds a fresh 16-bit gradient of `elements` into the step's gradient
// buffer (GraphOptions::grad_accumulation; 16-bit, or fp32 main gradients): reads both, writes
// one.
Operator GradAccumulation(std::string name, int64_t elements, const GraphOptions& options,
                          std::vector<int> deps) {
  const int64_t main_bytes = options.fp32_main_grads ? 4 : kBytesPerElement;
  Operator op;
  op.name = std::move(name);
  op.kind = OpKind::kVector;
  op.direction = Direction::kBackward;
  op.fn = VectorFn::kAdd;
  op.elements = elements;
  op.inputs = 2;
  op.bytes_in = elements * (kBytesPerElement + main_bytes);
  op.bytes_out = elements * main_bytes;
  op.deps = std::move(deps);
  return op;
}

// Derives the backward graph by walking the forward graph in reverse topological order. The
// gradient of an operator's output is ready when every consumer has produced its input gradient;
// an output consumed by a column-parallel GEMM is all-reduced over the t ranks first (Megatron's
// copy_to region). Forward all-reduces are identities in backward (reduce_from region).
std::vector<Operator> DeriveBackward(const std::vector<Operator>& fwd, int64_t t,
                                     const GraphOptions& options) {
  const bool compat = options.compat_backward;
  const int n = static_cast<int>(fwd.size());
  std::vector<std::vector<int>> consumers(n);
  for (int j = 0; j < n; ++j) {
    for (int d : fwd[j].deps) consumers[d].push_back(j);
  }
  std::vector<Operator> bwd;
  std::vector<std::vector<int>> input_grad(n);  // bwd ops that produce grads of op i's inputs
  std::vector<std::vector<int>> all_grads(n);   // every bwd op derived from op i (dX and dW)
  auto push = [&bwd](Operator op) {
    op.direction = Direction::kBackward;
    op.saved_bytes = 0;
    bwd.push_back(std::move(op));
    return static_cast<int>(bwd.size()) - 1;
  };
  auto accumulate = [&](const std::string& weight, int64_t elements, std::vector<int> deps) {
    if (!compat && options.grad_accumulation) {
      push(GradAccumulation(absl::StrCat(weight, ".grad_accumulate"), elements, options,
                            std::move(deps)));
    }
  };
  for (int i = n - 1; i >= 0; --i) {
    const Operator& f = fwd[i];
    std::vector<int> ready;
    bool needs_allreduce = false;
    std::vector<int> everything;  // with the weight gradients of the consumers
    for (int c : consumers[i]) {
      ready.insert(ready.end(), input_grad[c].begin(), input_grad[c].end());
      everything.insert(everything.end(), all_grads[c].begin(), all_grads[c].end());
      needs_allreduce |= fwd[c].kind == OpKind::kGemm && fwd[c].column_parallel;
    }
    if (needs_allreduce && t > 1) {
      Operator ar;
      ar.name = absl::StrCat(f.name, ".grad_allreduce");
      ar.kind = OpKind::kAllReduce;
      ar.allreduce_bytes = f.bytes_out;
      ar.group_size = t;
      ar.bytes_in = ar.bytes_out = f.bytes_out;
      ar.deps = options.tp_overlap ? ready : everything;
      ready = {push(std::move(ar))};
    }
    const size_t first_of_i = bwd.size();
    switch (f.kind) {
      case OpKind::kAllReduce: {
        if (f.collective == Collective::kAllReduce) {
          input_grad[i] = ready;  // identity in backward
          break;
        }
        // Sequence parallelism: an all-gather's gradient is a reduce-scatter and vice versa.
        Operator op = f;
        op.name = absl::StrCat(f.name, ".bwd");
        op.collective = f.collective == Collective::kAllGather ? Collective::kReduceScatter
                                                               : Collective::kAllGather;
        op.deps = ready;
        input_grad[i] = {push(std::move(op))};
        break;
      }
      case OpKind::kGemm: {
        const GemmShape& s = f.gemm;
        auto gemm = [&](std::string suffix, GemmShape shape, bool weight_operand) {
          Operator op = f;
          op.name = absl::StrCat(f.name, suffix);
          op.gemm = shape;
          op.has_weight = weight_operand;
          const int64_t b = weight_operand ? 1 : shape.batch;
          op.bytes_in =
              (shape.batch * shape.m * shape.k + b * shape.k * shape.n) * kBytesPerElement;
          op.bytes_out = shape.batch * shape.m * shape.n * kBytesPerElement;
          op.deps = ready;
          return push(std::move(op));
        };
        if (compat) {
          // PHAZE: one GEMM with the output-feature and reduction dims swapped.
          input_grad[i] = {gemm(".bwd", {s.batch, s.m, s.n, s.k}, f.has_weight)};
        } else if (f.has_weight) {
          // Y[m,n] = X[m,k] W[k,n]:  dX = dY W^T (m x n -> k),  dW = X^T dY (k x m -> n).
          const int dx = gemm(".dX", {s.batch, s.m, s.n, s.k}, true);
          input_grad[i] = {dx};
          if (options.sequence_parallel && f.column_parallel && t > 1) {
            // The sequence-sharded input is gathered again for the weight gradient, under the
            // input-gradient GEMM when overlap is allowed.
            Operator ag;
            ag.name = absl::StrCat(f.name, ".regather");
            ag.kind = OpKind::kAllReduce;
            ag.collective = Collective::kAllGather;
            ag.allreduce_bytes = s.batch * s.m * s.k * kBytesPerElement;
            ag.group_size = t;
            ag.bytes_in = ag.allreduce_bytes / t;
            ag.bytes_out = ag.allreduce_bytes;
            ag.deps = options.tp_overlap ? ready : std::vector<int>{dx};
            const int regather = push(std::move(ag));
            const std::vector<int> keep = ready;
            ready.push_back(regather);
            const int dw = gemm(".dW", {1, s.k, s.batch * s.m, s.n}, false);
            ready = keep;
            accumulate(f.name, s.k * s.n, {dw});
          } else {
            const int dw = gemm(".dW", {1, s.k, s.batch * s.m, s.n}, false);
            accumulate(f.name, s.k * s.n, {dw});
          }
        } else {
          // C = A B with both operands activations: dA = dC B^T, dB = A^T dC.
          input_grad[i] = {gemm(".dA", {s.batch, s.m, s.n, s.k}, false),
                           gemm(".dB", {s.batch, s.k, s.m, s.n}, false)};
        }
        break;
      }
      case OpKind::kVector: {
        Operator op = f;
        op.name = absl::StrCat(f.name, ".bwd");
        op.bytes_in = 2 * f.bytes_out;  // upstream gradient plus the saved tensor
        op.bytes_out = f.bytes_in;      // one gradient per input
        op.deps = ready;
        input_grad[i] = {push(std::move(op))};
        break;
      }
    }
    for (size_t b = first_of_i; b < bwd.size(); ++b) all_grads[i].push_back(static_cast<int>(b));
    if (all_grads[i].empty()) all_grads[i] = input_grad[i];
  }
  return bwd;
}

struct Dims {
  int64_t b, s, t, T, h, dh, heads_t, q_t, kv_t, f_t, e, vocab_t;
  bool sp;
  int64_t Tsp;  // tokens per rank outside the tensor-parallel regions (T / t with SP)
  int64_t norm_params;
  int64_t bias;
};

Dims MakeDims(const ModelSpec& m, int64_t b, int64_t t, bool sp) {
  Dims d{};
  d.sp = sp && t > 1;
  d.b = b;
  d.s = m.seq_len;
  d.t = t;
  d.T = b * m.seq_len;
  d.h = m.hidden;
  d.dh = m.HeadDim();
  d.heads_t = m.heads / t;
  d.q_t = m.heads * d.dh / t;
  d.kv_t = m.KvHeads() * d.dh / t;
  d.f_t = m.ffn / t;
  d.e = m.embed_proj_dim > 0 ? m.embed_proj_dim : m.hidden;
  d.vocab_t = PaddedVocab(m, t) / t;
  d.norm_params = (m.norm == NormKind::kLayerNorm ? 2 : 1) * m.hidden;
  d.bias = m.biases ? 1 : 0;
  d.Tsp = d.sp ? d.T / t : d.T;
  return d;
}

VectorFn NormFn(const ModelSpec& m) {
  return m.norm == NormKind::kLayerNorm ? VectorFn::kLayerNorm : VectorFn::kRmsNorm;
}

LayerGraph BuildBlock(const ModelSpec& m, const Dims& d) {
  constexpr int64_t B = kBytesPerElement;
  ForwardBuilder fb;
  const int64_t Th = d.T * d.h;
  const int64_t Ts = d.Tsp * d.h;  // elements per rank outside the tensor-parallel regions
  const Collective reduce = d.sp ? Collective::kReduceScatter : Collective::kAllReduce;
  // With SP the input of a column-parallel region is all-gathered first (and kept sharded).
  auto gather = [&](const char* name, int input) {
    return d.sp ? fb.AllReduce(name, Th * B, d.t, input, Collective::kAllGather) : input;
  };
  const int64_t attn_batch = d.b * d.heads_t;
  const int64_t scores = attn_batch * d.s * d.s;
  const bool pre = m.norm_position == NormPosition::kPre;
  const VectorFn residual_fn = m.dropout ? VectorFn::kBiasDropoutAdd : VectorFn::kAdd;
  const int64_t residual_mask = m.dropout ? Ts : 0;  // 1-byte dropout mask

  int x = -1;  // the layer input
  int attn_in = pre ? fb.Vector("ln1", NormFn(m), Ts, d.h, 1, Ts * B, Deps(x)) : x;
  if (d.sp) attn_in = gather("attn.allgather", attn_in);
  int qkv = fb.Gemm("qkv", {1, d.T, d.h, d.q_t + 2 * d.kv_t}, true, true, Ts * B, Deps(attn_in));
  int qk_in = qkv;
  if (m.positions == PositionKind::kRotary) {
    qk_in = fb.Vector("rotary", VectorFn::kRotary, d.T * (d.q_t + d.kv_t), 0, 1, 0, {qkv});
  }
  int qk = fb.Gemm("attn.qk", {attn_batch, d.s, d.dh, d.s}, false, false,
                   d.T * (d.q_t + d.kv_t) * B, {qk_in});
  int probs = fb.Vector("attn.softmax", VectorFn::kSoftmax, scores, d.s, 1, scores * B, {qk});
  int64_t pv_saved = d.T * d.kv_t * B;  // V
  // Selective recompute keeps Q, K and V and drops what is quadratic in s (Korthikanti Table 2).
  int64_t quadratic_saved = scores * B;
  if (m.dropout) {
    probs = fb.Vector("attn.dropout", VectorFn::kDropout, scores, 0, 1, scores, {probs});
    pv_saved += scores * B;  // the dropped-out probabilities
    quadratic_saved += scores + scores * B;
  }
  int pv = fb.Gemm("attn.pv", {attn_batch, d.s, d.s, d.dh}, false, false, pv_saved, {probs});
  for (int i = qk; i <= pv; ++i) fb.MarkAttentionCore(i);
  int out = fb.Gemm("attn.out", {1, d.T, d.q_t, d.h}, true, false, d.T * d.q_t * B, {pv});
  out = fb.AllReduce(d.sp ? "attn.reduce_scatter" : "attn.allreduce", Th * B, d.t, out, reduce);
  std::vector<int> res1_deps = {out};
  if (x >= 0) res1_deps.push_back(x);
  int res1 = fb.Vector("attn.residual", residual_fn, Ts, 0, 2, residual_mask, res1_deps);
  int mlp_in = fb.Vector(pre ? "ln2" : "ln1", NormFn(m), Ts, d.h, 1, Ts * B, {res1});
  mlp_in = gather("mlp.allgather", mlp_in);
  int mlp_out;
  if (m.ffn_kind == FfnKind::kSwiGlu) {
    int gate = fb.Gemm("mlp.gate", {1, d.T, d.h, d.f_t}, true, true, Ts * B, {mlp_in});
    int up = fb.Gemm("mlp.up", {1, d.T, d.h, d.f_t}, true, true, 0, {mlp_in});
    int act = fb.Vector("mlp.silu_mul", VectorFn::kSiluMul, d.T * d.f_t, 0, 2, 2 * d.T * d.f_t * B,
                        {gate, up});
    mlp_out = fb.Gemm("mlp.down", {1, d.T, d.f_t, d.h}, true, false, d.T * d.f_t * B, {act});
  } else {
    int fc1 = fb.Gemm("mlp.fc1", {1, d.T, d.h, d.f_t}, true, true, Ts * B, {mlp_in});
    const VectorFn act_fn = m.ffn_kind == FfnKind::kGeluMlp ? VectorFn::kGelu : VectorFn::kRelu;
    int act = fb.Vector(m.ffn_kind == FfnKind::kGeluMlp ? "mlp.gelu" : "mlp.relu", act_fn,
                        d.T * d.f_t, 0, 1, d.T * d.f_t * B, {fc1});
    mlp_out = fb.Gemm("mlp.fc2", {1, d.T, d.f_t, d.h}, true, false, d.T * d.f_t * B, {act});
  }
  mlp_out =
      fb.AllReduce(d.sp ? "mlp.reduce_scatter" : "mlp.allreduce", Th * B, d.t, mlp_out, reduce);
  int res2 = fb.Vector("mlp.residual", residual_fn, Ts, 0, 2, residual_mask, {mlp_out, res1});
  if (!pre) fb.Vector("ln2", NormFn(m), Ts, d.h, 1, Ts * B, {res2});

  LayerGraph layer;
  layer.kind = LayerKind::kBlock;
  layer.name = "block";
  layer.forward = fb.Take();
  const int64_t qkv_out = d.q_t + 2 * d.kv_t;
  int64_t params = 2 * d.norm_params;
  params += d.h * qkv_out + d.bias * qkv_out + d.q_t * d.h + d.bias * d.h;
  if (m.ffn_kind == FfnKind::kSwiGlu) {
    params += 3 * d.h * d.f_t + d.bias * (2 * d.f_t + d.h);
  } else {
    params += 2 * d.h * d.f_t + d.bias * (d.f_t + d.h);
  }
  layer.param_bytes = params * B;
  layer.input_bytes = Ts * B;  // the layer input, sequence-sharded with SP
  layer.output_bytes = Th * B;
  layer.stash_selective_bytes = -quadratic_saved;  // Finish adds the stash
  return layer;
}

LayerGraph BuildEmbedding(const ModelSpec& m, const Dims& d) {
  constexpr int64_t B = kBytesPerElement;
  constexpr int64_t kTokenIdBytes = 4;
  ForwardBuilder fb;
  const int64_t Th = d.T * d.h;
  int x = fb.Vector("embed.gather", VectorFn::kGather, d.T * d.e, 0, 1, d.T * kTokenIdBytes, {});
  const int64_t Ts = d.Tsp * d.h;
  x = fb.AllReduce(d.sp ? "embed.reduce_scatter" : "embed.allreduce", d.T * d.e * B, d.t, x,
                   d.sp ? Collective::kReduceScatter : Collective::kAllReduce);
  int64_t params = d.vocab_t * d.e + m.max_positions * d.h + m.token_types * d.h;
  if (m.embed_proj_dim > 0) {
    x = fb.Gemm("embed.project_in", {1, d.T, d.e, d.h}, true, false, d.T * d.e * B, {x});
    params += d.e * d.h;
  }
  const int64_t addends =
      1 + (m.positions == PositionKind::kLearned ? 1 : 0) + (m.token_types > 0 ? 1 : 0);
  if (addends > 1) {
    x = fb.Vector("embed.positions", VectorFn::kAdd, Ts, 0, addends, 0, {x});
  }
  if (m.embedding_norm) {
    x = fb.Vector("embed.norm", NormFn(m), Ts, d.h, 1, Ts * B, {x});
    params += d.norm_params;
  }
  if (m.dropout) fb.Vector("embed.dropout", VectorFn::kDropout, Ts, 0, 1, Ts, {x});

  LayerGraph layer;
  layer.kind = LayerKind::kEmbedding;
  layer.name = "embedding";
  layer.forward = fb.Take();
  layer.param_bytes = params * B;
  layer.input_bytes = d.T * kTokenIdBytes;
  layer.output_bytes = Th * B;
  return layer;
}

LayerGraph BuildHead(const ModelSpec& m, const Dims& d) {
  constexpr int64_t B = kBytesPerElement;
  constexpr int64_t kLogitBytes = 4;  // the loss works on fp32 logits
  ForwardBuilder fb;
  const int64_t Th = d.T * d.h;
  int64_t params = 0;
  int x = -1;
  if (m.norm_position == NormPosition::kPre) {
    x = fb.Vector("head.final_norm", NormFn(m), d.Tsp * d.h, d.h, 1, d.Tsp * d.h * B, Deps(x));
    params += d.norm_params;
  }
  if (d.sp) x = fb.AllReduce("head.allgather", Th * B, d.t, x, Collective::kAllGather);
  if (m.mlm_head_transform) {
    x = fb.Gemm("head.transform", {1, d.T, d.h, d.h}, true, false, Th * B, Deps(x));
    x = fb.Vector("head.gelu", VectorFn::kGelu, Th, 0, 1, Th * B, {x});
    x = fb.Vector("head.norm", NormFn(m), Th, d.h, 1, Th * B, {x});
    params += d.h * d.h + d.bias * d.h + d.norm_params;
  }
  if (m.embed_proj_dim > 0) {
    x = fb.Gemm("head.project_out", {1, d.T, d.h, d.e}, true, false, Th * B, Deps(x));
    params += d.h * d.e;
  }
  const int64_t logits = d.T * d.vocab_t;
  x = fb.Gemm("head.logits", {1, d.T, d.e, d.vocab_t}, true, true, d.T * d.e * B, Deps(x));
  x = fb.Vector("head.cross_entropy", VectorFn::kCrossEntropy, logits, d.vocab_t, 1,
                logits * kLogitBytes, {x});
  // Vocab-parallel cross-entropy: max, target logit and sum of exponentials are all-reduced.
  for (const char* what : {"head.ce_max", "head.ce_target", "head.ce_sum"}) {
    x = fb.AllReduce(what, d.T * kLogitBytes, d.t, x);
  }
  const int64_t lm_head = d.vocab_t * d.e;
  params += lm_head;
  if (m.mlm_head_transform) params += d.vocab_t;  // decoder bias

  LayerGraph layer;
  layer.kind = LayerKind::kHead;
  layer.name = "head";
  layer.forward = fb.Take();
  layer.param_bytes = params * B;
  layer.tied_param_bytes = m.tied_embedding ? lm_head * B : 0;
  layer.input_bytes = d.Tsp * d.h * B;
  layer.output_bytes = 0;
  return layer;
}

void Finish(LayerGraph& layer, int64_t t, const GraphOptions& options) {
  layer.stash_bytes = 0;
  for (const Operator& op : layer.forward) layer.stash_bytes += op.saved_bytes;
  layer.stash_selective_bytes += layer.stash_bytes;
  layer.backward = DeriveBackward(layer.forward, t, options);
}

}  // namespace

absl::StatusOr<ModelGraph> BuildModelGraph(const ModelSpec& model, int64_t micro_batch, int64_t t,
                                           const GraphOptions& options) {
  PHAZE_RETURN_IF_ERROR(ValidateModel(model));
  if (micro_batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("micro_batch: must be positive, got ", micro_batch));
  }
  PHAZE_RETURN_IF_ERROR(CheckTensorParallelWidth(model, t));
  const Dims d = MakeDims(model, micro_batch, t, options.sequence_parallel);
  ModelGraph g;
  g.micro_batch = micro_batch;
  g.tensor_width = t;
  g.sequence_parallel = d.sp;
  g.num_blocks = model.num_layers;
  g.embedding = BuildEmbedding(model, d);
  g.block = BuildBlock(model, d);
  g.head = BuildHead(model, d);
  for (LayerGraph* layer : {&g.embedding, &g.block, &g.head}) Finish(*layer, t, options);
  if (options.grad_accumulation && !options.compat_backward) {
    // The lookup's gradient is a dense table gradient (token and position tables), accumulated
    // like a weight's once the scatter-add has produced it.
    std::vector<Operator>& bwd = g.embedding.backward;
    std::vector<int> after;
    for (size_t i = 0; i < bwd.size(); ++i) {
      if (bwd[i].fn == VectorFn::kGather && bwd[i].kind == OpKind::kVector) {
        after.push_back(static_cast<int>(i));
      }
    }
    const int64_t table = d.vocab_t * d.e + model.max_positions * d.h + model.token_types * d.h;
    bwd.push_back(
        GradAccumulation("embed.tables.grad_accumulate", table, options, std::move(after)));
  }
  return g;
}

std::array<RepeatedLayer, 3> RepeatedLayers(const ModelGraph& g) {
  return {{{&g.embedding, 1.0}, {&g.block, static_cast<double>(g.num_blocks)}, {&g.head, 1.0}}};
}

const char* VectorFnName(VectorFn fn) {
  switch (fn) {
    case VectorFn::kAdd: return "add";
    case VectorFn::kBiasDropoutAdd: return "bias_dropout_add";
    case VectorFn::kDropout: return "dropout";
    case VectorFn::kGelu: return "gelu";
    case VectorFn::kRelu: return "relu";
    case VectorFn::kSiluMul: return "silu_mul";
    case VectorFn::kLayerNorm: return "layernorm";
    case VectorFn::kRmsNorm: return "rmsnorm";
    case VectorFn::kSoftmax: return "softmax";
    case VectorFn::kRotary: return "rotary";
    case VectorFn::kGather: return "gather";
    case VectorFn::kCrossEntropy: return "cross_entropy";
  }
  return "?";
}

const char* LayerKindName(LayerKind kind) {
  switch (kind) {
    case LayerKind::kEmbedding: return "embedding";
    case LayerKind::kBlock: return "block";
    case LayerKind::kHead: return "head";
  }
  return "?";
}

}  // namespace phaze::workload
