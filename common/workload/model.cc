#include "common/workload/model.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace phaze::workload {
namespace {

ModelSpec Megatron(std::string name, std::string description, int64_t layers, int64_t hidden,
                   int64_t heads, int64_t seq_len, int64_t published, std::string source) {
  ModelSpec m;
  m.name = std::move(name);
  m.description = std::move(description);
  m.num_layers = layers;
  m.hidden = hidden;
  m.heads = heads;
  m.kv_heads = heads;
  m.ffn = 4 * hidden;
  m.ffn_kind = FfnKind::kGeluMlp;
  m.norm = NormKind::kLayerNorm;
  m.norm_position = NormPosition::kPre;
  m.positions = PositionKind::kLearned;
  m.max_positions = seq_len;
  m.vocab = 50257;
  m.vocab_pad_multiple = 128;
  m.seq_len = seq_len;
  m.tied_embedding = true;
  m.published_params = published;
  m.published_source = std::move(source);
  return m;
}

ModelSpec Llama(std::string name, std::string description, int64_t layers, int64_t hidden,
                int64_t heads, int64_t kv_heads, int64_t ffn, int64_t published) {
  ModelSpec m;
  m.name = std::move(name);
  m.description = std::move(description);
  m.num_layers = layers;
  m.hidden = hidden;
  m.heads = heads;
  m.kv_heads = kv_heads;
  m.ffn = ffn;
  m.ffn_kind = FfnKind::kSwiGlu;
  m.norm = NormKind::kRmsNorm;
  m.norm_position = NormPosition::kPre;
  m.positions = PositionKind::kRotary;
  m.vocab = 32000;
  m.seq_len = 4096;
  m.tied_embedding = false;
  m.biases = false;
  m.dropout = false;
  m.published_params = published;
  m.published_source = "Touvron et al. 2023 (Llama 2), parameter count of the released checkpoint";
  return m;
}

std::vector<ModelSpec> BuildZoo() {
  std::vector<ModelSpec> zoo;
  {
    ModelSpec m;
    m.name = "bertlarge";
    m.description = "BERT-large (uncased), post-LN encoder";
    m.num_layers = 24;
    m.hidden = 1024;
    m.heads = 16;
    m.ffn = 4096;
    m.ffn_kind = FfnKind::kGeluMlp;
    m.norm_position = NormPosition::kPost;
    m.max_positions = 512;
    m.vocab = 30522;
    m.seq_len = 512;
    m.token_types = 2;
    m.embedding_norm = true;
    m.mlm_head_transform = true;
    m.published_params = 336'000'000;
    m.published_source = "Hugging Face model card bert-large-uncased (336M)";
    zoo.push_back(m);
  }
  {
    ModelSpec m;
    m.name = "gpt2";
    m.description = "GPT2-XL 1.5B, pre-LN decoder";
    m.num_layers = 48;
    m.hidden = 1600;
    m.heads = 25;
    m.ffn = 6400;
    m.max_positions = 1024;
    m.vocab = 50257;
    m.seq_len = 1024;
    m.published_params = 1'558'000'000;
    m.published_source = "Hugging Face model card gpt2-xl (1.56B); Radford et al. 2019 (1542M)";
    zoo.push_back(m);
  }
  {
    ModelSpec m;
    m.name = "opt";
    m.description = "OPT-350m, post-LN decoder with 512-wide embeddings";
    m.num_layers = 24;
    m.hidden = 1024;
    m.heads = 16;
    m.ffn = 4096;
    m.ffn_kind = FfnKind::kReluMlp;
    m.norm_position = NormPosition::kPost;
    m.max_positions = 2050;  // 2048 positions plus OPT's offset of 2
    m.vocab = 50272;
    m.seq_len = 2048;
    m.embed_proj_dim = 512;
    m.published_params = 331'000'000;
    m.published_source = "Hugging Face model card facebook/opt-350m (331M); Zhang et al. 2022";
    zoo.push_back(m);
  }
  zoo.push_back(Llama("llama2", "Llama2-7B", 32, 4096, 32, 32, 11008, 6'738'415'616));
  zoo.push_back(Megatron("megatrongpt2-54", "Megatron GPT-2 2.5B (54 layers)", 54, 1920, 20, 1024,
                         2'500'000'000, "Shoeybi et al. 2019 (Megatron-LM), Table 2: 2.5B"));
  zoo.push_back(Megatron("megatrongpt2-72", "Megatron GPT-2 8.3B (72 layers)", 72, 3072, 24, 1024,
                         8'300'000'000, "Shoeybi et al. 2019 (Megatron-LM), Table 2: 8.3B"));
  zoo.push_back(Megatron("megatrongpt3", "GPT-3 175B (Megatron)", 96, 12288, 96, 2048,
                         175'000'000'000, "Brown et al. 2020, Table 2.1: 175.0B"));
  zoo.push_back(Llama("llama2-13b", "Llama2-13B", 40, 5120, 40, 40, 13824, 13'015'864'320));
  zoo.push_back(Llama("llama2-70b", "Llama2-70B (grouped-query attention, 8 KV heads)", 80, 8192,
                      64, 8, 28672, 68'976'648'192));
  return zoo;
}

absl::Status Positive(const char* field, int64_t value) {
  if (value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.", field, ": must be positive, got ", value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateModel(const ModelSpec& m) {
  if (m.name.empty()) return absl::InvalidArgumentError("model.name: must not be empty");
  for (const auto& [field, value] :
       std::vector<std::pair<const char*, int64_t>>{{"layers", m.num_layers},
                                                    {"hidden", m.hidden},
                                                    {"heads", m.heads},
                                                    {"ffn", m.ffn},
                                                    {"vocab", m.vocab},
                                                    {"seq_len", m.seq_len},
                                                    {"vocab_pad_multiple", m.vocab_pad_multiple}}) {
    if (absl::Status s = Positive(field, value); !s.ok()) return s;
  }
  if (m.kv_heads < 0 || m.head_dim < 0 || m.embed_proj_dim < 0 || m.token_types < 0 ||
      m.max_positions < 0) {
    return absl::InvalidArgumentError(
        "model: kv_heads, head_dim, embed_proj_dim, token_types and max_positions must not be "
        "negative");
  }
  if (m.head_dim == 0 && m.hidden % m.heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("model.heads: ", m.heads,
                                                   " does not divide hidden ", m.hidden,
                                                   " (set head_dim explicitly)"));
  }
  if (m.heads % m.KvHeads() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.kv_heads: ", m.KvHeads(), " does not divide heads ", m.heads));
  }
  if (m.positions == PositionKind::kLearned && m.max_positions < m.seq_len) {
    return absl::InvalidArgumentError(absl::StrCat("model.seq_len: ", m.seq_len,
                                                   " exceeds the learned position table (",
                                                   "max_positions ", m.max_positions, ")"));
  }
  // Guard the int64 arithmetic downstream: T*V*t-sized products must not overflow.
  if (m.hidden > (1 << 20) || m.ffn > (1 << 22) || m.seq_len > (1 << 20) || m.vocab > (1 << 24) ||
      m.num_layers > 4096 || m.heads > 4096) {
    return absl::InvalidArgumentError(
        "model: a size is beyond the supported range (hidden <= 2^20, ffn <= 2^22, "
        "seq_len <= 2^20, vocab <= 2^24, layers <= 4096, heads <= 4096)");
  }
  return absl::OkStatus();
}

absl::Status CheckTensorParallelWidth(const ModelSpec& m, int64_t t) {
  if (t < 1) return absl::InvalidArgumentError(absl::StrCat("tensor width ", t, " must be >= 1"));
  if (m.heads % t != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor width ", t, " does not divide the ", m.heads, " heads of ", m.name));
  }
  if (m.KvHeads() % t != 0) {
    return absl::InvalidArgumentError(absl::StrCat("tensor width ", t, " does not divide the ",
                                                   m.KvHeads(), " KV heads of ", m.name));
  }
  if (m.ffn % t != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor width ", t, " does not divide ffn ", m.ffn, " of ", m.name));
  }
  return absl::OkStatus();
}

std::vector<int64_t> AllowedTensorWidths(const ModelSpec& m, int64_t max_t) {
  std::vector<int64_t> widths;
  for (int64_t t = 1; t <= max_t; t *= 2) {
    if (CheckTensorParallelWidth(m, t).ok()) widths.push_back(t);
  }
  return widths;
}

int64_t PaddedVocab(const ModelSpec& m, int64_t t) {
  const int64_t multiple = m.vocab_pad_multiple * (m.vocab_pad_multiple > 1 ? t : 1);
  return (m.vocab + multiple - 1) / multiple * multiple;
}

ParameterBreakdown CountParameters(const ModelSpec& m) {
  const int64_t h = m.hidden;
  const int64_t dh = m.HeadDim();
  const int64_t q_width = m.heads * dh;
  const int64_t kv_width = m.KvHeads() * dh;
  const int64_t norm_params = (m.norm == NormKind::kLayerNorm ? 2 : 1) * h;
  const int64_t bias = m.biases ? 1 : 0;
  const int64_t e = m.embed_proj_dim > 0 ? m.embed_proj_dim : h;

  ParameterBreakdown p;
  p.embedding = m.vocab * e + m.max_positions * h + m.token_types * h;
  if (m.embedding_norm) p.embedding += norm_params;
  if (m.embed_proj_dim > 0) p.embedding += 2 * e * h;  // project_in and project_out, no bias

  int64_t block = 2 * norm_params;
  block += h * (q_width + 2 * kv_width) + bias * (q_width + 2 * kv_width);
  block += q_width * h + bias * h;
  if (m.ffn_kind == FfnKind::kSwiGlu) {
    block += 3 * h * m.ffn + bias * (2 * m.ffn + h);
  } else {
    block += 2 * h * m.ffn + bias * (m.ffn + h);
  }
  p.blocks = m.num_layers * block;
  if (m.norm_position == NormPosition::kPre) p.final_norm = norm_params;
  if (m.mlm_head_transform) p.head_transform = h * h + bias * h + norm_params;
  if (!m.tied_embedding) p.lm_head += e * m.vocab;
  if (m.mlm_head_transform) p.lm_head += m.vocab;  // BERT's decoder bias
  return p;
}

const std::vector<ModelSpec>& ModelZoo() {
  static const std::vector<ModelSpec>* const kZoo = new std::vector<ModelSpec>(BuildZoo());
  return *kZoo;
}

absl::StatusOr<ModelSpec> FindModel(const std::string& name) {
  std::vector<std::string> names;
  for (const ModelSpec& m : ModelZoo()) {
    if (m.name == name) return m;
    names.push_back(m.name);
  }
  return absl::NotFoundError(
      absl::StrCat("unknown model '", name, "'; the zoo has: ", absl::StrJoin(names, ", ")));
}

const char* FfnKindName(FfnKind k) {
  switch (k) {
    case FfnKind::kGeluMlp: return "gelu";
    case FfnKind::kReluMlp: return "relu";
    case FfnKind::kSwiGlu: return "swiglu";
  }
  return "?";
}

const char* NormKindName(NormKind k) { return k == NormKind::kLayerNorm ? "layernorm" : "rmsnorm"; }

}  // namespace phaze::workload
