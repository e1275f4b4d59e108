#include "common/job/job.h"

#include "gtest/gtest.h"

namespace phaze::job {

using eval::CandidateSpace;
using place::Optimizer;
namespace {

void ExpectInvalid(const std::string& yaml, const std::string& field) {
  absl::StatusOr<JobSpec> job = ParseJobYaml(yaml);
  ASSERT_FALSE(job.ok()) << yaml;
  EXPECT_EQ(job.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(job.status().message().find(field), std::string::npos)
      << "message '" << job.status().message() << "' does not name " << field;
}

// Input hygiene: what would be silently misread is refused, naming what is wrong.
TEST(JobTest, HostileTextIsRefusedNamingWhy) {
  const std::string good =
      "name: x\nmodel: bertlarge\ntraining: {accelerators: 8, global_batch: 8}\n"
      "architecture: {preset: tpuv4, hbm_gib: [80]}\n";
  ASSERT_TRUE(ParseJobYaml(good).ok());
  ExpectInvalid(std::string("name: x\0y\n", 10) + good.substr(8), "NUL byte at offset 7");
  ExpectInvalid("name: caf\xe9\n" + good.substr(8), "not valid UTF-8 (byte offset 9)");
  ExpectInvalid("name: \xc0\xafx\n" + good.substr(8), "not valid UTF-8");  // overlong '/'
  ExpectInvalid("name: \"a\\e[31mred\"\n" + good.substr(8),
                "name: holds the control character 0x1b");
  ExpectInvalid(good + "name: y\n", "name: is given twice");
  ExpectInvalid(good + "---\n" + good, "a second YAML document starts at line 5");
  ExpectInvalid(good + "...\n", "a second YAML document starts at line 5");
  EXPECT_TRUE(ParseJobYaml("# a job\n---\n" + good).ok());  // an explicit start is one document
  ExpectInvalid("name: " + std::string(300, 'n') + "\n" + good.substr(8), "name: 300 bytes");
  ExpectInvalid(good + "# " + std::string(2 << 20, 'c') + "\n", "bytes of YAML, at most");
  // UTF-8 itself is fine.
  EXPECT_TRUE(ParseJobYaml("name: café-\xe2\x9c\x93\n" + good.substr(8)).ok());
}

TEST(JobTest, SingleStreamComesFromThePresetAndCanBeSet) {
  const std::string base = R"(
name: x
model: bertlarge
training: {accelerators: 8, global_batch: 8}
architecture:
  hbm_gib: [80]
)";
  absl::StatusOr<JobSpec> gpu = ParseJobYaml(base + "  preset: a100\n");
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  EXPECT_TRUE(gpu->fixed_architectures[0].single_stream);
  absl::StatusOr<JobSpec> tpu = ParseJobYaml(base + "  preset: tpuv4\n");
  ASSERT_TRUE(tpu.ok()) << tpu.status();
  EXPECT_FALSE(tpu->fixed_architectures[0].single_stream);
  absl::StatusOr<JobSpec> set = ParseJobYaml(base + "  preset: tpuv4\n  single_stream: true\n");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->fixed_architectures[0].single_stream);
  ExpectInvalid(base + "  preset: a100\n  single_stream: 3\n", "architecture.single_stream");
}

TEST(JobTest, ParsesAPresetJob) {
  absl::StatusOr<JobSpec> job = ParseJobYaml(R"(
name: gpt3-on-tpu
model: megatrongpt3
training:
  accelerators: 1024
  global_batch: 4096
  micro_batch_sizes: [1, 2]
  recompute: [false, true]
  optimizer: sgd
  fixed_strategy: {pipeline: 32, data: 8, tensor: 4}
architecture:
  preset: tpuv4
  hbm_gib: [32, 64, 80]
  link_bandwidth_gb_per_s: 50
)");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->model.num_layers, 96);
  EXPECT_EQ(job->training.micro_batch_sizes, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(job->training.optimizer, Optimizer::kSgd);
  ASSERT_EQ(job->fixed_architectures.size(), 1u);
  EXPECT_DOUBLE_EQ(job->fixed_architectures[0].link_bandwidth_bytes_per_s, 50e9);
  EXPECT_EQ(job->hbm_bytes[2], 80 * kGiB);
  EXPECT_EQ(job->training.fixed_strategy->pipeline, 32);
  EXPECT_EQ(CandidateSpace(*job).NumArchitectures(), 1);
}

TEST(JobTest, ParsesASpaceAndACustomModel) {
  absl::StatusOr<JobSpec> job = ParseJobYaml(R"(
name: small
model:
  base: llama2
  name: llama-mini
  layers: 4
  seq_len: 1024
architecture:
  space:
    num_tc: {pow2: [1, 16]}
    num_vc: [1, 2]
    tc_width: [64, 128]
    tc_depth: [64, 128]
    glb_mib: [32]
)");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->model.name, "llama-mini");
  EXPECT_EQ(job->model.num_layers, 4);
  EXPECT_EQ(job->model.hidden, 4096);
  ASSERT_TRUE(job->space.has_value());
  EXPECT_EQ(CandidateSpace(*job).NumArchitectures(), 5 * 2 * 2 * 2 * 1);
}

TEST(JobTest, ChipResourcesAndBudgetsAreParsed) {
  absl::StatusOr<JobSpec> job = ParseJobYaml(R"(
name: codesign
model: gpt2
architecture:
  space:
    num_tc: [4, 16]
    num_vc: [2]
    tc_width: [128]
    tc_depth: [128]
    glb_mib: [32]
    glb_banks: [16, 64]
    hbm_stacks: [2, 4, 6]
    link_ports: [4]
    scale_up_domain: [8]
  hbm_stack: hbm3
  tech_node_nm: 5
budget: {chip_area_mm2: 500, tdp_w: 300, shoreline: true, reticle: true}
chip_model: {serdes_lane_scale: 2, mac_area_scale: 0.5}
)");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->space->base.hbm_stack, "hbm3");
  EXPECT_EQ(job->space->base.tech_node_nm, 5);
  EXPECT_EQ(job->space->hbm_stacks.size(), 3u);
  EXPECT_EQ(CandidateSpace(*job).NumArchitectures(), 2 * 2 * 3);
  EXPECT_EQ(job->budget.chip_area_mm2, 500);
  EXPECT_EQ(job->budget.tdp_w, 300);
  EXPECT_TRUE(job->budget.shoreline);
  EXPECT_TRUE(job->budget.reticle);
  EXPECT_EQ(job->chip_model.serdes_lane, 2);
  EXPECT_EQ(job->chip_model.mac_area, 0.5);
  EXPECT_EQ(job->chip_model.sram_area, 1);
  // The stack type as a dimension of the space, in the job's order.
  absl::StatusOr<JobSpec> types = ParseJobYaml(
      "name: x\nmodel: gpt2\narchitecture:\n  space: {num_tc: [4], num_vc: [2], tc_width: [128], "
      "tc_depth: [128], glb_mib: [32], hbm_stacks: [4], hbm_stack: [hbm3, hbm2e]}\n");
  ASSERT_TRUE(types.ok()) << types.status();
  EXPECT_EQ(types->space->hbm_stack_types, (std::vector<std::string>{"hbm3", "hbm2e"}));
  EXPECT_EQ(CandidateSpace(*types).NumArchitectures(), 2);
  ExpectInvalid(
      "name: x\nmodel: gpt2\narchitecture:\n  space: {num_tc: [4], num_vc: [2], tc_width: [128], "
      "tc_depth: [128], glb_mib: [32], hbm_stack: [hbm3, hbm7]}\n",
      "architecture.space.hbm_stack[1]");
  // The a100 preset buys HBM2e stacks.
  EXPECT_EQ(ParseJobYaml("name: x\nmodel: gpt2\narchitecture: {preset: a100}\n")
                ->fixed_architectures[0]
                .hbm_stack,
            "hbm2e");
}

TEST(JobTest, ObjectivesAndTheAreaModelAreTheJobsChoice) {
  const std::string head = "name: x\nmodel: gpt2\narchitecture: {preset: tpuv4}\n";
  // Default: every objective, by the chip model.
  absl::StatusOr<JobSpec> job = ParseJobYaml(head);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->objectives.area_model, eval::AreaModel::kChip);
  EXPECT_TRUE(job->objectives.area && job->objectives.power && job->objectives.energy);
  // The original's whole model (compat) brings its area model, which has no power.
  job = ParseJobYaml(head + "cost_model: {mode: compat}\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->objectives.area_model, eval::AreaModel::kOriginal);
  EXPECT_FALSE(job->objectives.power);
  EXPECT_TRUE(job->objectives.area && job->objectives.energy);
  // Either explicitly, and a chosen list.
  job = ParseJobYaml(head + "chip_model: {area_model: original}\nobjectives: [area]\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->objectives.area_model, eval::AreaModel::kOriginal);
  EXPECT_TRUE(job->objectives.area);
  EXPECT_FALSE(job->objectives.power || job->objectives.energy);
  job = ParseJobYaml(head + "objectives: [throughput, power]\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_TRUE(job->objectives.power);
  EXPECT_FALSE(job->objectives.area || job->objectives.energy);
  ExpectInvalid(head + "objectives: [area, cost]\n", "objectives[1]");
  ExpectInvalid(head + "objectives: [area, area]\n", "objectives[1]");
  ExpectInvalid(head + "objectives: area\n", "objectives");
  ExpectInvalid(head + "chip_model: {area_model: free}\n", "chip_model.area_model");
  ExpectInvalid(head + "chip_model: {area_model: original}\nobjectives: [power]\n", "objectives");
}

TEST(JobTest, ErrorsNameTheField) {
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {preset: tpuv4, hbm_stack: hbm9}\n",
                "architecture.hbm_stack");
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {preset: tpuv4, tech_node_nm: 8}\n",
                "architecture.tech_node_nm");
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {space: {glb_banks: [0]}}\n",
                "architecture.space.glb_banks[0]");
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {preset: tpuv4}\nbudget: {tdp_w: -1}\n",
                "budget.tdp_w");
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {preset: tpuv4}\nbudget: {power: 1}\n",
                "budget.power");
  ExpectInvalid(
      "name: x\nmodel: gpt2\narchitecture: {preset: tpuv4}\nchip_model: {uncore_scale: 0}\n",
      "chip_model.uncore_scale");
  ExpectInvalid("name: x\nmodel: gpt9\narchitecture: {preset: tpuv4}\n", "model");
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {preset: tpuv9}\n", "architecture.preset");
  ExpectInvalid(
      "name: x\nmodel: gpt2\narchitecture: {preset: tpuv4}\ntraining: {micro_batch_sizes: [1, "
      "0]}\n",
      "training.micro_batch_sizes[1]");
  ExpectInvalid(
      "name: x\nmodel: gpt2\narchitecture: {preset: tpuv4}\ntraining: {fixed_strategy: {pipeline: "
      "2, data: 2, tensor: 2}}\n",
      "training.fixed_strategy.tensor");
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {preset: tpuv4}\ncolour: blue\n", "colour");
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {preset: tpuv4, hbm_gb: [1]}\n",
                "architecture.hbm_gb");
  ExpectInvalid("name: x\nmodel: {base: gpt2, heads: 7}\narchitecture: {preset: tpuv4}\n", "heads");
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {space: {tc_width: [-2]}}\n",
                "architecture.space.tc_width[0]");
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {space: {}}\nlimits: {max_space_size: 100}\n",
                "limits.max_space_size");
  ExpectInvalid(
      "name: x\nmodel: gpt2\narchitecture: {preset: tpuv4}\nsolver: {order_search_nodes: -1}\n",
      "solver.order_search_nodes");
  ExpectInvalid("name: x\nmodel: [gpt2\n", "malformed YAML");
  ExpectInvalid("", "empty");
  ExpectInvalid("name: x\nmodel: gpt2\narchitecture: {fixed: {num_tc: 4, tc_width: 128}}\n",
                "architecture.fixed.tc_depth");
}

}  // namespace
}  // namespace phaze::job
