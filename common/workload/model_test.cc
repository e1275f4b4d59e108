#include "common/workload/model.h"

#include <cmath>
#include <cstdint>

#include "common/workload/layer_graph.h"
#include "gtest/gtest.h"

namespace phaze::workload {
namespace {

int64_t GemmMacs(const std::vector<Operator>& ops) {
  int64_t macs = 0;
  for (const Operator& op : ops) {
    if (op.kind == OpKind::kGemm) macs += op.gemm.Macs();
  }
  return macs;
}

int64_t AllReduceBytes(const std::vector<Operator>& ops, int* count) {
  int64_t bytes = 0;
  *count = 0;
  for (const Operator& op : ops) {
    if (op.kind == OpKind::kAllReduce) {
      bytes += op.allreduce_bytes;
      ++*count;
    }
  }
  return bytes;
}

TEST(ModelZooTest, HoldsThePaperModelsAndLlama) {
  for (const char* name : {"bertlarge", "gpt2", "opt", "llama2", "megatrongpt2-54",
                           "megatrongpt2-72", "megatrongpt3", "llama2-13b", "llama2-70b"}) {
    absl::StatusOr<ModelSpec> m = FindModel(name);
    ASSERT_TRUE(m.ok()) << name;
    EXPECT_TRUE(ValidateModel(*m).ok()) << name;
  }
  absl::StatusOr<ModelSpec> missing = FindModel("gpt5");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("megatrongpt3"), std::string::npos);
}

TEST(ModelZooTest, ParameterCountsMatchPublishedWithinOnePercent) {
  for (const ModelSpec& m : ModelZoo()) {
    const double ours = static_cast<double>(ParameterCount(m));
    const double published = static_cast<double>(m.published_params);
    EXPECT_NEAR(ours / published, 1.0, 0.01) << m.name << ": ours " << ours << " vs published "
                                             << published << " (" << m.published_source << ")";
  }
}

TEST(ModelZooTest, ExactCountsOfWellKnownCheckpoints) {
  // Counts of the released checkpoints, parameter by parameter.
  EXPECT_EQ(ParameterCount(*FindModel("llama2")), 6'738'415'616);
  EXPECT_EQ(ParameterCount(*FindModel("llama2-13b")), 13'015'864'320);
  EXPECT_EQ(ParameterCount(*FindModel("llama2-70b")), 68'976'648'192);
  EXPECT_EQ(ParameterCount(*FindModel("gpt2")), 1'557'611'200);
  EXPECT_EQ(ParameterCount(*FindModel("opt")), 331'196'416);
}

// 6 x non-embedding parameters + 12 L s h per token (Kaplan et al. 2020; Narayanan et al. 2021),
// for the blocks; the LM head adds 6 e V.
TEST(LayerGraphTest, GemmFlopsPerTokenMatchTheClosedForm) {
  for (const ModelSpec& m : ModelZoo()) {
    absl::StatusOr<ModelGraph> g = BuildModelGraph(m, 2, 1, {});
    ASSERT_TRUE(g.ok()) << g.status();
    const double tokens = 2.0 * static_cast<double>(m.seq_len);
    const double block_flops =
        2.0 * static_cast<double>(GemmMacs(g->block.forward) + GemmMacs(g->block.backward)) *
        static_cast<double>(m.num_layers) / tokens;
    const ParameterBreakdown p = CountParameters(m);
    const double closed =
        6.0 * static_cast<double>(p.blocks) +
        12.0 * static_cast<double>(m.num_layers * m.seq_len * m.heads * m.HeadDim());
    EXPECT_NEAR(block_flops / closed, 1.0, 0.01) << m.name;
    const int64_t e = m.embed_proj_dim > 0 ? m.embed_proj_dim : m.hidden;
    const double head_flops =
        2.0 * static_cast<double>(GemmMacs(g->head.forward) + GemmMacs(g->head.backward)) / tokens;
    const double head_closed = 6.0 * static_cast<double>(e * PaddedVocab(m, 1)) +
                               6.0 * static_cast<double>(p.head_transform) +
                               (m.embed_proj_dim > 0 ? 6.0 * static_cast<double>(e * m.hidden) : 0);
    EXPECT_NEAR(head_flops / head_closed, 1.0, 0.01) << m.name;
  }
}

TEST(LayerGraphTest, BackwardGemmWorkIsTwiceForward) {
  const ModelGraph g = *BuildModelGraph(*FindModel("megatrongpt3"), 1, 8, {});
  EXPECT_EQ(GemmMacs(g.block.backward), 2 * GemmMacs(g.block.forward));
  GraphOptions compat;
  compat.compat_backward = true;
  const ModelGraph c = *BuildModelGraph(*FindModel("megatrongpt3"), 1, 8, compat);
  EXPECT_EQ(GemmMacs(c.block.backward), GemmMacs(c.block.forward));
}

// Every weight gradient is added into the step's gradient buffer once per micro-batch by its own
// pass (6 B per parameter: two 16-bit reads, one write), after its weight-gradient GEMM; so is
// the embedding's table gradient. Together they cover every parameter of the rank but the O(h)
// biases and norm weights. The original's backward (compat) and the option off have none.
TEST(LayerGraphTest, EveryWeightGradientIsAccumulatedOncePerMicroBatch) {
  for (const char* name : {"megatrongpt3", "llama2-70b", "bertlarge"}) {
    const ModelSpec m = *FindModel(name);
    for (bool sp : {false, true}) {
      GraphOptions options;
      options.sequence_parallel = sp;
      const int64_t t = 4;
      const ModelGraph g = *BuildModelGraph(m, 2, t, options);
      for (const LayerGraph* layer : {&g.embedding, &g.block, &g.head}) {
        int64_t weights = 0, accumulated = 0;
        for (size_t i = 0; i < layer->backward.size(); ++i) {
          const Operator& op = layer->backward[i];
          if (op.kind == OpKind::kGemm && op.name.size() > 3 &&
              op.name.compare(op.name.size() - 3, 3, ".dW") == 0) {
            weights += op.gemm.m * op.gemm.n;  // dW = X^T dY: the weight's shape
            // Its accumulation comes later and waits for it alone.
            bool found = false;
            for (size_t j = i + 1; j < layer->backward.size(); ++j) {
              const Operator& acc = layer->backward[j];
              if (acc.deps == std::vector<int>{static_cast<int>(i)} &&
                  acc.name.find("grad_accumulate") != std::string::npos) {
                found = true;
                EXPECT_EQ(acc.elements, op.gemm.m * op.gemm.n) << acc.name;
              }
            }
            EXPECT_TRUE(found) << name << " " << op.name;
          }
          if (op.name.find("grad_accumulate") != std::string::npos) {
            EXPECT_EQ(op.kind, OpKind::kVector);
            EXPECT_EQ(op.fn, VectorFn::kAdd);
            EXPECT_EQ(op.bytes_in + op.bytes_out, 6 * op.elements) << op.name;
            EXPECT_FALSE(op.deps.empty()) << op.name;
            accumulated += op.elements;
          }
        }
        if (layer->kind == LayerKind::kEmbedding) {
          // The tables (and a projection's weight, if any) are accumulated.
          EXPECT_GT(accumulated, 0) << name;
          EXPECT_LE(accumulated * kBytesPerElement, layer->param_bytes) << name;
          EXPECT_GT(accumulated * kBytesPerElement, layer->param_bytes * 99 / 100) << name;
        } else {
          EXPECT_EQ(accumulated, weights) << name << " " << layer->name;
          // Every parameter but biases and norm weights, which are O(h).
          EXPECT_LE(accumulated * kBytesPerElement, layer->param_bytes) << name;
          EXPECT_LE(layer->param_bytes - accumulated * kBytesPerElement,
                    kBytesPerElement * 16 * m.hidden)
              << name << " " << layer->name;
        }
      }
    }
    // fp32 main gradients: the pass reads 2 + 4 B and writes 4 B per parameter.
    GraphOptions fp32;
    fp32.fp32_main_grads = true;
    const ModelGraph wide = *BuildModelGraph(m, 2, 4, fp32);
    for (const LayerGraph* layer : {&wide.embedding, &wide.block, &wide.head}) {
      for (const Operator& op : layer->backward) {
        if (op.name.find("grad_accumulate") == std::string::npos) continue;
        EXPECT_EQ(op.bytes_in, 6 * op.elements) << op.name;
        EXPECT_EQ(op.bytes_out, 4 * op.elements) << op.name;
      }
    }
    GraphOptions compat, off;
    compat.compat_backward = true;
    off.grad_accumulation = false;
    for (const GraphOptions& o : {compat, off}) {
      const ModelGraph g = *BuildModelGraph(m, 2, 4, o);
      for (const LayerGraph* layer : {&g.embedding, &g.block, &g.head}) {
        for (const Operator& op : layer->backward) {
          EXPECT_EQ(op.name.find("grad_accumulate"), std::string::npos) << op.name;
        }
      }
    }
  }
}

TEST(LayerGraphTest, TensorRanksTogetherDoTheWorkOfOne) {
  for (const char* name : {"megatrongpt3", "llama2-70b", "megatrongpt2-72"}) {
    const ModelSpec m = *FindModel(name);
    const ModelGraph one = *BuildModelGraph(m, 2, 1, {});
    for (int64_t t : AllowedTensorWidths(m, 8)) {
      const ModelGraph g = *BuildModelGraph(m, 2, t, {});
      EXPECT_EQ(t * GemmMacs(g.block.forward), GemmMacs(one.block.forward)) << name << " t=" << t;
      EXPECT_EQ(t * GemmMacs(g.block.backward), GemmMacs(one.block.backward)) << name << " t=" << t;
    }
  }
}

TEST(LayerGraphTest, AllReducesFollowMegatron) {
  const ModelSpec m = *FindModel("megatrongpt3");
  const int64_t b = 2, t = 4;
  const ModelGraph g = *BuildModelGraph(m, b, t, {});
  const int64_t activation = b * m.seq_len * m.hidden * kBytesPerElement;
  int fwd_count = 0, bwd_count = 0;
  EXPECT_EQ(AllReduceBytes(g.block.forward, &fwd_count), 2 * activation);
  EXPECT_EQ(fwd_count, 2);
  EXPECT_EQ(AllReduceBytes(g.block.backward, &bwd_count), 2 * activation);
  EXPECT_EQ(bwd_count, 2);
  // No collectives at all with t = 1.
  const ModelGraph single = *BuildModelGraph(m, b, 1, {});
  EXPECT_EQ(AllReduceBytes(single.block.forward, &fwd_count), 0);
  EXPECT_EQ(AllReduceBytes(single.block.backward, &bwd_count), 0);
  // Embedding: one forward all-reduce; head: three small forward ones, one backward of [s,b,h].
  int count = 0;
  EXPECT_EQ(AllReduceBytes(g.embedding.forward, &count), activation);
  EXPECT_EQ(count, 1);
  AllReduceBytes(g.head.forward, &count);
  EXPECT_EQ(count, 3);
  EXPECT_EQ(AllReduceBytes(g.head.backward, &count), activation);
  EXPECT_EQ(count, 1);
}

// Korthikanti et al. 2022, eq. 2 (tensor parallel, no sequence parallelism):
// s b h (10 + 24/t + 5 a s / (h t)) bytes per layer.
TEST(LayerGraphTest, ActivationStashMatchesKorthikanti) {
  const ModelSpec m = *FindModel("megatrongpt3");
  for (int64_t t : {1, 2, 4, 8}) {
    const int64_t b = 2;
    const ModelGraph g = *BuildModelGraph(m, b, t, {});
    const double s = static_cast<double>(m.seq_len), h = static_cast<double>(m.hidden),
                 a = static_cast<double>(m.heads), td = static_cast<double>(t);
    const double expected = s * static_cast<double>(b) * h * (10 + 24 / td + 5 * a * s / (h * td));
    EXPECT_DOUBLE_EQ(static_cast<double>(g.block.stash_bytes), expected) << "t=" << t;
    EXPECT_EQ(g.block.input_bytes, static_cast<int64_t>(s) * b * m.hidden * 2);
  }
}

TEST(LayerGraphTest, ParameterBytesPerRankSumToTheModel) {
  const ModelSpec m = *FindModel("megatrongpt3");
  const ModelGraph g = *BuildModelGraph(m, 1, 1, {});
  const ParameterBreakdown p = CountParameters(m);
  EXPECT_EQ(g.block.param_bytes * m.num_layers, p.blocks * kBytesPerElement);
  // The tied LM head is held by the head layer too (a copy when the stages differ).
  EXPECT_EQ(g.head.tied_param_bytes, PaddedVocab(m, 1) * m.hidden * kBytesPerElement);
}

TEST(LayerGraphTest, GraphsAreTopologicallyOrdered) {
  for (const ModelSpec& m : ModelZoo()) {
    const ModelGraph g = *BuildModelGraph(m, 1, 1, {});
    for (const LayerGraph* layer : {&g.embedding, &g.block, &g.head}) {
      for (const auto* ops : {&layer->forward, &layer->backward}) {
        for (size_t i = 0; i < ops->size(); ++i) {
          for (int d : (*ops)[i].deps) {
            EXPECT_GE(d, 0);
            EXPECT_LT(static_cast<size_t>(d), i) << m.name << " " << (*ops)[i].name;
          }
        }
      }
    }
  }
}

TEST(LayerGraphTest, RefusesWidthsThatDoNotDivideTheHeads) {
  absl::StatusOr<ModelGraph> g = BuildModelGraph(*FindModel("gpt2"), 1, 2, {});  // 25 heads
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("heads"), std::string::npos);
  EXPECT_FALSE(BuildModelGraph(*FindModel("gpt2"), 0, 1, {}).ok());
  EXPECT_EQ(AllowedTensorWidths(*FindModel("megatrongpt3"), 8), (std::vector<int64_t>{1, 2, 4, 8}));
  EXPECT_EQ(AllowedTensorWidths(*FindModel("gpt2"), 8), (std::vector<int64_t>{1}));
}

TEST(LayerGraphTest, GroupedQueryAttentionShrinksTheKvProjection) {
  const ModelSpec m = *FindModel("llama2-70b");
  const ModelGraph g = *BuildModelGraph(m, 1, 8, {});
  const Operator& qkv = g.block.forward[1];
  ASSERT_EQ(qkv.name, "qkv");
  EXPECT_EQ(qkv.gemm.n, (64 + 2 * 8) * 128 / 8);
}

// Korthikanti et al. 2022, Table 2, on the GPT-3 block at t = 8, b = 1: the stash of one layer
// is sbh(10 + 24/t + 5as/(ht)) with TP, sbh(34 + 5as/h)/t with TP + SP, and selective recompute
// drops the 5as/h term; SP moves the same collective bytes as TP (four all-gathers and four
// reduce-scatters per layer, forward and backward, instead of four all-reduces), plus the two
// re-gathers of the weight gradients.
TEST(LayerGraphTest, SequenceParallelMatchesKorthikantiTable2) {
  const ModelSpec m = *FindModel("megatrongpt3");
  const int64_t t = 8, s = m.seq_len, h = m.hidden, a = m.heads;
  const int64_t sbh = s * h;
  GraphOptions tp;
  GraphOptions sp;
  sp.sequence_parallel = true;
  const ModelGraph g_tp = *BuildModelGraph(m, 1, t, tp);
  const ModelGraph g_sp = *BuildModelGraph(m, 1, t, sp);
  const int64_t quadratic = 5 * a * s * s / t;  // 5as^2b/t
  EXPECT_EQ(g_tp.block.stash_bytes, sbh * 10 + sbh * 24 / t + quadratic);
  EXPECT_EQ(g_tp.block.stash_selective_bytes, sbh * 10 + sbh * 24 / t);
  EXPECT_EQ(g_sp.block.stash_bytes, sbh * 34 / t + quadratic);
  EXPECT_EQ(g_sp.block.stash_selective_bytes, sbh * 34 / t);
  EXPECT_EQ(g_sp.block.input_bytes, 2 * sbh / t);
  auto collective_bytes = [](const std::vector<Operator>& ops, Collective c, int* n) {
    int64_t bytes = 0;
    *n = 0;
    for (const Operator& op : ops) {
      if (op.kind == OpKind::kAllReduce && op.collective == c) {
        bytes += op.allreduce_bytes;
        ++*n;
      }
    }
    return bytes;
  };
  int n = 0;
  EXPECT_EQ(collective_bytes(g_tp.block.forward, Collective::kAllReduce, &n), 2 * 2 * sbh);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(collective_bytes(g_sp.block.forward, Collective::kAllGather, &n), 2 * 2 * sbh);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(collective_bytes(g_sp.block.forward, Collective::kReduceScatter, &n), 2 * 2 * sbh);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(collective_bytes(g_sp.block.forward, Collective::kAllReduce, &n), 0);
  EXPECT_EQ(collective_bytes(g_sp.block.backward, Collective::kReduceScatter, &n), 2 * 2 * sbh);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(collective_bytes(g_sp.block.backward, Collective::kAllGather, &n), 4 * 2 * sbh);
  EXPECT_EQ(n, 4);  // two for the reduce-scatters' gradients, two re-gathers
  // Norms and residual adds work on s/t tokens.
  for (const Operator& op : g_sp.block.forward) {
    if (op.fn == VectorFn::kLayerNorm) {
      EXPECT_EQ(op.elements, sbh / t) << op.name;
    }
  }
}

// Without overlap a backward tensor-parallel all-reduce waits for the weight-gradient GEMM.
TEST(LayerGraphTest, TensorParallelOverlapIsAnOption) {
  const ModelSpec m = *FindModel("megatrongpt3");
  GraphOptions serial, overlap;
  overlap.tp_overlap = true;
  for (const GraphOptions& o : {serial, overlap}) {
    const ModelGraph g = *BuildModelGraph(m, 1, 4, o);
    const std::vector<Operator>& bwd = g.block.backward;
    bool found = false;
    for (const Operator& op : bwd) {
      if (op.kind != OpKind::kAllReduce) continue;
      bool waits_for_dw = false;
      for (int dep : op.deps)
        waits_for_dw |= bwd[static_cast<size_t>(dep)].name.find(".dW") != std::string::npos;
      EXPECT_EQ(waits_for_dw, !o.tp_overlap) << op.name;
      found = true;
    }
    EXPECT_TRUE(found);
  }
}

}  // namespace
}  // namespace phaze::workload
