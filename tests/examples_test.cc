// Every job file in examples/ parses, builds its evaluator, and describes the space it says.
#include <fstream>
#include <sstream>
#include <string>

#include "common/eval/eval.h"
#include "common/job/job.h"
#include "gtest/gtest.h"

namespace phaze {

using arch::ArchSpace;
using eval::Evaluator;
using job::JobSpec;
using job::ParseJobYaml;
namespace {

JobSpec Load(const std::string& name) {
  std::ifstream in(std::string(PHAZE_SOURCE_DIR) + "/examples/" + name);
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<JobSpec> job = ParseJobYaml(text.str());
  EXPECT_TRUE(job.ok()) << name << ": " << job.status();
  return job.ok() ? *job : JobSpec();
}

TEST(ExamplesTest, PaperModelJobsUseThePapersSetting) {
  for (const char* model : {"bertlarge", "gpt2", "opt", "llama2", "megatrongpt2-54",
                            "megatrongpt2-72", "megatrongpt3"}) {
    const JobSpec job = Load(std::string(model) + ".yaml");
    EXPECT_EQ(job.model.name, model);
    EXPECT_EQ(job.training.accelerators, 1024);
    EXPECT_EQ(job.training.global_batch, 4096);
    EXPECT_EQ(job.hbm_bytes, (std::vector<int64_t>{32 * kGiB, 64 * kGiB, 80 * kGiB}));
    ASSERT_TRUE(job.space.has_value());
    EXPECT_EQ(ArchSpace(*job.space).Size(), 75'712);
    ASSERT_TRUE(job.training.fixed_strategy.has_value());
    EXPECT_TRUE(Evaluator::Create(job).ok()) << model;
  }
  EXPECT_EQ(Load("megatrongpt3.yaml").model.seq_len, 2048);
  EXPECT_EQ(Load("llama2.yaml").model.seq_len, 4096);
  EXPECT_EQ(Load("bertlarge.yaml").model.seq_len, 512);
}

TEST(ExamplesTest, SpaceExampleIsTheOriginalSpace) {
  const JobSpec job = Load("phaze-space.yaml");
  ASSERT_TRUE(job.space.has_value());
  const ArchSpace space(*job.space);
  EXPECT_EQ(space.Size(), 75'712);
  EXPECT_EQ(space.CountValid(), 29'360);
}

TEST(ExamplesTest, QuickstartIsSmall) {
  const JobSpec job = Load("quickstart.yaml");
  auto evaluator = Evaluator::Create(job);
  ASSERT_TRUE(evaluator.ok());
  EXPECT_LE((*evaluator)->NumCandidates(), 500);
}

}  // namespace
}  // namespace phaze
