// Transformer workloads described by hyper-parameters, and the built-in model zoo.
//
// A ModelSpec is what a job file names: layer count, hidden size, heads, FFN, norm, vocabulary,
// sequence length. Operator graphs are derived from it analytically (see layer_graph.h); nothing
// is traced from a framework.
//
//   absl::StatusOr<ModelSpec> m = FindModel("llama2");
//   int64_t n = ParameterCount(*m);   // 6.74e9
#ifndef PHAZE_COMMON_WORKLOAD_MODEL_H_
#define PHAZE_COMMON_WORKLOAD_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace phaze::workload {

enum class FfnKind { kGeluMlp, kReluMlp, kSwiGlu };
enum class NormKind { kLayerNorm, kRmsNorm };
enum class NormPosition { kPre, kPost };
// How positions enter the model: learned absolute table (GPT-2, BERT, OPT) or rotary (Llama).
enum class PositionKind { kLearned, kRotary };

struct ModelSpec {
  std::string name;
  std::string description;
  int64_t num_layers = 0;
  int64_t hidden = 0;    // h
  int64_t heads = 0;     // a
  int64_t kv_heads = 0;  // grouped-query attention; == heads for multi-head attention
  int64_t head_dim = 0;  // d_h; 0 means hidden / heads
  int64_t ffn = 0;       // f, the FFN inner size
  FfnKind ffn_kind = FfnKind::kGeluMlp;
  NormKind norm = NormKind::kLayerNorm;
  NormPosition norm_position = NormPosition::kPre;
  PositionKind positions = PositionKind::kLearned;
  int64_t max_positions = 0;        // rows of the learned position table (0 with rotary)
  int64_t vocab = 0;                // V, as published (before padding)
  int64_t vocab_pad_multiple = 1;   // Megatron pads V to a multiple of this times t
  int64_t seq_len = 0;              // s, the training sequence length
  bool tied_embedding = true;       // LM head shares the embedding matrix
  bool biases = true;               // GEMMs and norms carry biases
  bool dropout = true;              // dropout layers present in training
  int64_t token_types = 0;          // BERT's segment embeddings
  int64_t embed_proj_dim = 0;       // OPT-350m: embeddings of this width, projected in/out of h
  bool mlm_head_transform = false;  // BERT: dense + GELU + LN before the decoder
  bool embedding_norm = false;      // BERT: LayerNorm right after the embeddings
  int64_t published_params = 0;     // published parameter count, for reference and tests
  std::string published_source;

  int64_t HeadDim() const { return head_dim > 0 ? head_dim : hidden / heads; }
  int64_t KvHeads() const { return kv_heads > 0 ? kv_heads : heads; }
};

// Checks that every field is positive and consistent. The error names the field, e.g.
// "model.heads: 25 does not divide hidden 1000". Returns kInvalidArgument.
absl::Status ValidateModel(const ModelSpec& model);

// Whether tensor-parallel width t is allowed: t >= 1, and t divides heads, kv heads and ffn.
absl::Status CheckTensorParallelWidth(const ModelSpec& model, int64_t t);

// The tensor-parallel widths 1, 2, 4, ... up to max_t that the model allows.
std::vector<int64_t> AllowedTensorWidths(const ModelSpec& model, int64_t max_t);

// Vocabulary rows after padding for tensor width t (Megatron pads to vocab_pad_multiple * t).
int64_t PaddedVocab(const ModelSpec& model, int64_t t);

// Parameter counts (elements) at t = 1 with the unpadded vocabulary.
struct ParameterBreakdown {
  int64_t embedding = 0;       // token, position and type tables, embedding norm, projections
  int64_t blocks = 0;          // all transformer blocks
  int64_t final_norm = 0;      // the norm after the last block (pre-LN models)
  int64_t head_transform = 0;  // BERT's MLM transform (dense + LN)
  int64_t lm_head = 0;         // untied LM head matrix and decoder bias
  int64_t Total() const { return embedding + blocks + final_norm + head_transform + lm_head; }
  // "Non-embedding" parameters in the sense of Kaplan et al. 2020.
  int64_t NonEmbedding() const { return blocks + final_norm + head_transform; }
};
ParameterBreakdown CountParameters(const ModelSpec& model);
inline int64_t ParameterCount(const ModelSpec& model) { return CountParameters(model).Total(); }

// The built-in zoo, in a fixed order.
const std::vector<ModelSpec>& ModelZoo();

// Looks a zoo model up by name (case-sensitive). kNotFound names the known models.
absl::StatusOr<ModelSpec> FindModel(const std::string& name);

const char* FfnKindName(FfnKind k);
const char* NormKindName(NormKind k);

}  // namespace phaze::workload

#endif  // PHAZE_COMMON_WORKLOAD_MODEL_H_
