#include "common/sched/sched.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "common/sched/internal.h"
#include "common/sched/milp.h"
#include "gtest/gtest.h"

namespace phaze::sched {

using workload::Engine;
namespace {

Task MakeTask(Engine e, double single, double all, std::vector<int> deps) {
  Task t;
  t.engine = e;
  t.single_core_s = single;
  t.all_cores_s = all;
  t.deps = std::move(deps);
  return t;
}

// A random DAG of n tasks; each task depends on each earlier one with probability 0.3.
Problem RandomProblem(std::mt19937& rng, int n) {
  std::uniform_real_distribution<double> latency(1e-6, 1e-3);
  std::uniform_int_distribution<int> engine(0, 5);
  std::uniform_int_distribution<int> cores(1, 3);
  std::bernoulli_distribution edge(0.3);
  Problem p;
  p.num_tc = cores(rng);
  p.num_vc = cores(rng);
  for (int i = 0; i < n; ++i) {
    const int e = engine(rng);
    const Engine kind = e < 3 ? Engine::kTensor : e < 5 ? Engine::kVector : Engine::kLink;
    const double single = latency(rng);
    const int64_t c = kind == Engine::kTensor ? p.num_tc : kind == Engine::kVector ? p.num_vc : 1;
    // Intra-op speed-up between none and perfect.
    std::uniform_real_distribution<double> efficiency(0.3, 1.0);
    const double all = kind == Engine::kLink
                           ? single
                           : single / (1.0 + (static_cast<double>(c) - 1.0) * efficiency(rng));
    std::vector<int> deps;
    for (int j = 0; j < i; ++j) {
      if (edge(rng)) deps.push_back(j);
    }
    p.tasks.push_back(MakeTask(kind, single, all, deps));
  }
  return p;
}

class BackendConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<SchedulerBackend> Make() const {
    if (GetParam() == "cbc") return std::make_unique<CbcBackend>();
    return std::make_unique<EnumerateBackend>();
  }
};

TEST_P(BackendConformanceTest, ChainTakesTheFasterMappingOfEachTask) {
  Problem p;
  p.num_tc = 4;
  p.num_vc = 2;
  p.tasks = {MakeTask(Engine::kTensor, 4e-3, 1.5e-3, {}),
             MakeTask(Engine::kVector, 2e-3, 1.2e-3, {0}), MakeTask(Engine::kLink, 1e-3, 1e-3, {1}),
             MakeTask(Engine::kTensor, 1e-3, 1e-3, {2})};
  absl::StatusOr<Schedule> s = Make()->Solve(p, {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(s->makespan_s, 1.5e-3 + 1.2e-3 + 1e-3 + 1e-3, 1e-12);
  EXPECT_TRUE(CheckSchedule(p, *s).ok());
}

TEST_P(BackendConformanceTest, TwoIndependentGemmsShareTwoCores) {
  Problem p;
  p.num_tc = 2;
  p.num_vc = 1;
  // On one core each they overlap (3 ms); intra-op, one after the other, takes 4 ms.
  p.tasks = {MakeTask(Engine::kTensor, 3e-3, 2e-3, {}), MakeTask(Engine::kTensor, 3e-3, 2e-3, {})};
  absl::StatusOr<Schedule> s = Make()->Solve(p, {});
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s->makespan_s, 3e-3, 1e-12);
  EXPECT_FALSE(s->intra_op[0]);
  EXPECT_NE(s->core[0], s->core[1]);
}

TEST_P(BackendConformanceTest, CollectivesDoNotOverlapEachOther) {
  Problem p;
  p.num_tc = 1;
  p.num_vc = 1;
  p.tasks = {MakeTask(Engine::kLink, 2e-3, 2e-3, {}), MakeTask(Engine::kLink, 1e-3, 1e-3, {}),
             MakeTask(Engine::kTensor, 3e-3, 3e-3, {})};
  absl::StatusOr<Schedule> s = Make()->Solve(p, {});
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s->makespan_s, 3e-3, 1e-12);  // the GEMM overlaps both collectives
}

// The shared suite: random DAGs up to 7 operators; CBC matches the exhaustive optimum within the
// gap, and every schedule passes the independent checker.
TEST_P(BackendConformanceTest, RandomDagsMatchTheExhaustiveOptimum) {
  std::mt19937 rng(2024);
  EnumerateBackend reference;
  SolveOptions options;
  options.relative_gap = 1e-4;
  int list_schedule_suboptimal = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const Problem p = RandomProblem(rng, 2 + trial % 6);
    absl::StatusOr<Schedule> want = reference.Solve(p, options);
    absl::StatusOr<Schedule> got = Make()->Solve(p, options);
    ASSERT_TRUE(want.ok() && got.ok()) << trial;
    EXPECT_TRUE(CheckSchedule(p, *got).ok()) << trial << ": " << CheckSchedule(p, *got);
    EXPECT_LE(got->makespan_s, want->makespan_s * (1 + options.relative_gap) + 1e-12) << trial;
    EXPECT_GE(got->makespan_s, want->makespan_s - 1e-12) << trial;
    EXPECT_GE(got->makespan_s, LowerBound(p) - 1e-12) << trial;
    if (ListSchedule(p).makespan_s > want->makespan_s * (1 + options.relative_gap) + 1e-12) {
      ++list_schedule_suboptimal;
    }
  }
  // The suite has instances where the heuristic start is not optimal, so the backends are
  // really exercised.
  EXPECT_GT(list_schedule_suboptimal, 0);
}

// HBM bandwidth shares on a problem: a single-core run holds at most its fair share (1/cores of
// its kind) as the cost model gives it, an intra-op run up to all of it; a fifth of the tasks
// stream nothing, and collectives hold a share too (the scheduler takes any).
Problem WithHbmShares(std::mt19937& rng, Problem p) {
  std::uniform_real_distribution<double> share(0.05, 1.0);
  std::bernoulli_distribution none(0.2);
  for (Task& t : p.tasks) {
    if (none(rng)) continue;
    t.all_cores_hbm_share = share(rng);
    t.single_core_hbm_share = t.engine == Engine::kLink
                                  ? t.all_cores_hbm_share
                                  : share(rng) / static_cast<double>(CoresOf(p, t.engine));
  }
  return p;
}

Problem WithoutHbm(Problem p) {
  for (Task& t : p.tasks) t.single_core_hbm_share = t.all_cores_hbm_share = 0;
  return p;
}

// Three operators on three separate units, each streaming half of HBM's bandwidth: any two run
// at once, all three never do. Without the shares they would all run at once (1 ms).
Problem ThreeHalfBandwidthOperators() {
  Problem p;
  p.num_tc = 1;
  p.num_vc = 1;
  p.tasks = {MakeTask(Engine::kTensor, 1e-3, 1e-3, {}), MakeTask(Engine::kVector, 1e-3, 1e-3, {}),
             MakeTask(Engine::kLink, 1e-3, 1e-3, {})};
  for (Task& t : p.tasks) t.single_core_hbm_share = t.all_cores_hbm_share = 0.5;
  return p;
}

TEST_P(BackendConformanceTest, OperatorsThatFitTwoByTwoButNotTogetherTakeTwoRounds) {
  const Problem p = ThreeHalfBandwidthOperators();
  absl::StatusOr<Schedule> s = Make()->Solve(p, {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(s->makespan_s, 2e-3, 1e-12);
  EXPECT_TRUE(CheckSchedule(p, *s).ok()) << CheckSchedule(p, *s);
  absl::StatusOr<Schedule> free = Make()->Solve(WithoutHbm(p), {});
  ASSERT_TRUE(free.ok());
  EXPECT_NEAR(free->makespan_s, 1e-3, 1e-12);
}

// The shared suite with HBM shares: CBC (with the resource flow) matches the exhaustive optimum,
// every schedule passes the checker, and the shares really bind on many instances.
TEST_P(BackendConformanceTest, RandomDagsSharingHbmMatchTheExhaustiveOptimum) {
  std::mt19937 rng(99);
  EnumerateBackend reference;
  SolveOptions options;
  options.relative_gap = 1e-4;
  int binds = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const Problem p = WithHbmShares(rng, RandomProblem(rng, 2 + trial % 6));
    absl::StatusOr<Schedule> want = reference.Solve(p, options);
    absl::StatusOr<Schedule> got = Make()->Solve(p, options);
    ASSERT_TRUE(want.ok() && got.ok()) << trial << ": " << want.status() << got.status();
    EXPECT_TRUE(CheckSchedule(p, *got).ok()) << trial << ": " << CheckSchedule(p, *got);
    EXPECT_LE(got->makespan_s, want->makespan_s * (1 + options.relative_gap) + 1e-12) << trial;
    EXPECT_GE(got->makespan_s, want->makespan_s - 1e-12) << trial;
    EXPECT_GE(got->makespan_s, LowerBound(p) - 1e-12) << trial;
    const absl::StatusOr<Schedule> free = reference.Solve(WithoutHbm(p), options);
    ASSERT_TRUE(free.ok());
    EXPECT_GE(want->makespan_s, free->makespan_s - 1e-12) << trial;  // sharing never helps
    if (want->makespan_s > free->makespan_s * (1 + 1e-9)) ++binds;
  }
  EXPECT_GT(binds, 10);
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendConformanceTest, ::testing::Values("cbc", "enumerate"));

TEST_P(BackendConformanceTest, ZeroLatencyTasksAreValidAndScheduled) {
  // A no-op (a reshape costed at zero) between two GEMMs, and a zero-cost vector task beside
  // them: valid, bounded, and free.
  Problem p;
  p.num_tc = 2;
  p.num_vc = 1;
  p.tasks = {MakeTask(Engine::kTensor, 4e-6, 2e-6, {}), MakeTask(Engine::kVector, 0, 0, {0}),
             MakeTask(Engine::kTensor, 4e-6, 2e-6, {1}), MakeTask(Engine::kVector, 0, 0, {})};
  ASSERT_TRUE(ValidateProblem(p).ok());
  EXPECT_DOUBLE_EQ(LowerBound(p), 4e-6);
  const absl::StatusOr<Schedule> s = Make()->Solve(p, SolveOptions{});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(s->makespan_s, 4e-6, 1e-12);
  EXPECT_TRUE(CheckSchedule(p, *s).ok());
}

// A reshape costed at zero on the one tensor core, between two vector operators, while a long
// GEMM holds that core: it holds no core, so the chain runs beside the GEMM (10 ms). The MILP
// once ordered it against the GEMM like any operator (11 ms; the exhaustive backend's check that
// its optimum is a point of the MILP failed).
TEST_P(BackendConformanceTest, AnOperatorOfNoTimeHoldsNoCore) {
  Problem p;
  p.num_tc = 1;
  p.num_vc = 1;
  p.tasks = {MakeTask(Engine::kTensor, 10e-3, 10e-3, {}), MakeTask(Engine::kVector, 1e-3, 1e-3, {}),
             MakeTask(Engine::kTensor, 0, 0, {1}), MakeTask(Engine::kVector, 1e-3, 1e-3, {2})};
  const absl::StatusOr<Schedule> s = Make()->Solve(p, SolveOptions{});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(s->makespan_s, 10e-3, 1e-12);
  EXPECT_TRUE(CheckSchedule(p, *s).ok());
}

// A transformer block's pattern: pairs of GEMMs that both need every tensor core, joined by
// vector operators. Each pair runs one GEMM after the other, so the optimum is the sum of all
// (1 + 5 + 1 + 5 + 1 ms); the critical path (9 ms) and the tensor cores' energetic bound (11 ms)
// each miss one pair's serialisation. Heads and tails tightened by the ancestors' and
// descendants' competition for cores give the optimum.
TEST(LowerBoundTest, SiblingGemmsOnEveryCoreAreSerialisedPairByPair) {
  Problem p;
  p.num_tc = 4;
  p.num_vc = 1;
  auto gemm = [](double all_s, std::vector<int> deps) {
    return MakeTask(Engine::kTensor, 4 * all_s, all_s, std::move(deps));  // perfect intra-op
  };
  p.tasks = {MakeTask(Engine::kVector, 1e-3, 1e-3, {}),     gemm(2e-3, {0}), gemm(3e-3, {0}),
             MakeTask(Engine::kVector, 1e-3, 1e-3, {1, 2}), gemm(2e-3, {3}), gemm(3e-3, {3}),
             MakeTask(Engine::kVector, 1e-3, 1e-3, {4, 5})};
  const absl::StatusOr<Schedule> optimum = EnumerateBackend().Solve(p, SolveOptions{});
  ASSERT_TRUE(optimum.ok());
  EXPECT_NEAR(optimum->makespan_s, 13e-3, 1e-12);
  EXPECT_NEAR(LowerBound(p), 13e-3, 1e-12);
  EXPECT_EQ(BoundLayer(p, SolveOptions{}, nullptr).status, SolveStatus::kOptimal);
}

// Soundness: never above the exhaustive optimum, on random DAGs and on random chains of fork-join
// pairs (the pattern the tightened heads and tails act on).
TEST(LowerBoundTest, NeverExceedsTheExhaustiveOptimum) {
  std::mt19937 rng(7);
  EnumerateBackend reference;
  int tightened = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Problem p = RandomProblem(rng, 2 + trial % 6);
    if (trial % 2 == 1) {
      // Fork-join: task i depends on the two before the previous join.
      for (size_t i = 1; i < p.tasks.size(); ++i) {
        const int join = static_cast<int>(i) - 1 - static_cast<int>((i - 1) % 3);
        p.tasks[i].deps = {std::max(0, join)};
        if (i % 3 == 0 && i >= 2)
          p.tasks[i].deps = {static_cast<int>(i) - 1, static_cast<int>(i) - 2};
      }
    }
    const absl::StatusOr<Schedule> want = reference.Solve(p, SolveOptions{});
    ASSERT_TRUE(want.ok()) << trial << ": " << want.status();
    const double lower = LowerBound(p);
    EXPECT_LE(lower, want->makespan_s * (1 + 1e-12)) << trial;
    if (lower >= want->makespan_s * (1 - 1e-9)) ++tightened;
  }
  // Not vacuous: the bound meets the optimum on a good share of the instances.
  EXPECT_GT(tightened, 100);
}

// With HBM shares the bound stays below the exhaustive optimum and the list schedule respects
// the shares; the bandwidth's own bound is exact on the three half-bandwidth operators.
TEST(LowerBoundTest, HbmSharesKeepTheBoundSoundAndTheListScheduleValid) {
  std::mt19937 rng(17);
  EnumerateBackend reference;
  for (int trial = 0; trial < 200; ++trial) {
    const Problem p = WithHbmShares(rng, RandomProblem(rng, 2 + trial % 6));
    const absl::StatusOr<Schedule> want = reference.Solve(p, SolveOptions{});
    ASSERT_TRUE(want.ok()) << trial << ": " << want.status();
    EXPECT_LE(LowerBound(p), want->makespan_s * (1 + 1e-12)) << trial;
    const Schedule list = ListSchedule(p);
    EXPECT_TRUE(CheckSchedule(p, list).ok()) << trial << ": " << CheckSchedule(p, list);
  }
  // 3 x 0.5 x 1 ms of bandwidth-time: at least 1.5 ms.
  EXPECT_NEAR(LowerBound(ThreeHalfBandwidthOperators()), 1.5e-3, 1e-12);
}

// Two GEMMs that may share the two tensor cores and a vector operator that streams 90% of HBM
// bandwidth beside either: the GEMMs may run together (1 ms on one core each), the vector
// operator beside neither, so the tensor cores idle for all of its 1 ms: 2 ms. The HBM clique
// and the elastic bound see only 1.5 and 1.3 ms.
Problem AGemmStoppingVectorOperator() {
  Problem p;
  p.num_tc = 2;
  p.num_vc = 1;
  p.tasks = {MakeTask(Engine::kTensor, 1e-3, 0.5e-3, {}),
             MakeTask(Engine::kTensor, 1e-3, 0.5e-3, {}),
             MakeTask(Engine::kVector, 1e-3, 1e-3, {})};
  for (int i : {0, 1}) {
    p.tasks[i].single_core_hbm_share = 0.2;
    p.tasks[i].all_cores_hbm_share = 0.4;
  }
  p.tasks[2].single_core_hbm_share = p.tasks[2].all_cores_hbm_share = 0.9;
  return p;
}

TEST(LowerBoundTest, AnOperatorThatStopsEveryGemmAddsToTheTensorCoresMachine) {
  const Problem p = AGemmStoppingVectorOperator();
  const absl::StatusOr<Schedule> best = EnumerateBackend().Solve(p, SolveOptions{});
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_NEAR(best->makespan_s, 2e-3, 1e-12);
  EXPECT_NEAR(LowerBound(p), 2e-3, 1e-12);
  const std::vector<Mappings> all(3, Mappings{true, true});
  EXPECT_EQ(KindExcluders(p, all, {0, 1}), std::vector<int>{2});
  // Each GEMM stops the vector core (0.2 + 0.9 > 1), but the two may run together, so only one
  // of them joins the vector core's machine.
  EXPECT_EQ(KindExcluders(p, all, {2}), std::vector<int>{0});
}

// A GEMM streaming 60% of HBM beside two vector operators that stream a quarter each on one
// core (half each on both): only one of them fits beside the GEMM, so the best is 1.5 ms. The
// one-machine and elastic bounds see 1.1 ms; the configuration program sees how they pack.
TEST(ConfigurationBoundTest, SeesHowOperatorsPackHbmBandwidth) {
  Problem p;
  p.num_tc = 1;
  p.num_vc = 2;
  p.tasks = {MakeTask(Engine::kTensor, 1e-3, 1e-3, {}), MakeTask(Engine::kVector, 1e-3, 0.5e-3, {}),
             MakeTask(Engine::kVector, 1e-3, 0.5e-3, {})};
  p.tasks[0].single_core_hbm_share = p.tasks[0].all_cores_hbm_share = 0.6;
  for (int i : {1, 2}) {
    p.tasks[i].single_core_hbm_share = 0.25;
    p.tasks[i].all_cores_hbm_share = 0.5;
  }
  const absl::StatusOr<Schedule> best = EnumerateBackend().Solve(p, SolveOptions{});
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_NEAR(best->makespan_s, 1.5e-3, 1e-12);
  const double lower = LowerBound(p);
  EXPECT_NEAR(lower, 1.1e-3, 1e-12);
  const double upper = ListSchedule(p).makespan_s;
  const double bound = ConfigurationBound(p, lower, upper, upper);
  EXPECT_LE(bound, 1.5e-3);
  EXPECT_GE(bound, 1.475e-3 * (1 - 1e-9));  // four bisection steps from 1.1 to 1.5 ms
  // Bounds it cannot better come back as they went in.
  EXPECT_EQ(ConfigurationBound(p, 1.5e-3, 1.5e-3, 1.5e-3), 1.5e-3);
  EXPECT_EQ(ConfigurationBound(p, lower, lower, lower), lower);
  // A target the program refutes comes back as it is (the gap it closes).
  EXPECT_EQ(ConfigurationBound(p, lower, 1.49e-3, upper), 1.49e-3);
}

// Thirty independent single-core operators on 64 vector cores all fit together: one maximal set,
// 2^30 subsets. The enumeration gives up at its visit limit and the bound comes back unchanged.
TEST(ConfigurationBoundTest, GivesUpOnTooManySetsAndKeepsTheBoundItHad) {
  Problem p;
  p.num_tc = 1;
  p.num_vc = 64;
  for (int i = 0; i < 30; ++i) p.tasks.push_back(MakeTask(Engine::kVector, 1e-3, 0.1e-3, {}));
  EXPECT_EQ(ConfigurationBound(p, 0.5e-3, 2e-3, 3e-3, 1'000), 0.5e-3);
}

// Sound on random DAGs with HBM shares (some bandwidth-hungry): never above the exhaustive
// optimum, and it raises LowerBound on many.
TEST(ConfigurationBoundTest, NeverExceedsTheOptimumOnRandomDags) {
  std::mt19937 rng(41);
  EnumerateBackend reference;
  int raised = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const Problem p = WithHbmShares(rng, RandomProblem(rng, 2 + trial % 7));
    const absl::StatusOr<Schedule> want = reference.Solve(p, SolveOptions{});
    ASSERT_TRUE(want.ok()) << trial << ": " << want.status();
    const double lower = LowerBound(p);
    const double upper = ListSchedule(p).makespan_s;
    const double bound = ConfigurationBound(p, lower, upper, upper);
    EXPECT_GE(bound, lower) << trial;
    EXPECT_LE(bound, want->makespan_s * (1 + 1e-9)) << trial;
    if (bound > lower * (1 + 1e-3)) ++raised;
  }
  EXPECT_GT(raised, 20);
}

TEST(LowerBoundTest, EveryTaskOfZeroLatencyGivesZero) {
  Problem p;
  p.tasks = {MakeTask(Engine::kTensor, 0, 0, {}), MakeTask(Engine::kVector, 0, 0, {0}),
             MakeTask(Engine::kLink, 0, 0, {1})};
  EXPECT_EQ(LowerBound(p), 0.0);
  const Schedule s = BoundLayer(p, SolveOptions{}, nullptr);
  EXPECT_EQ(s.makespan_s, 0.0);
  EXPECT_EQ(s.status, SolveStatus::kOptimal);
}

// The neutral MILP against schedules known to be valid or invalid: the exhaustive optimum of
// random DAGs is a point of the model with its makespan as the objective, a list schedule is the
// MIP start, and a point that overlaps two tasks on one core is refused, naming a row.
TEST(MilpModelTest, AdmitsEveryValidScheduleAndRefusesAnOverlap) {
  std::mt19937 rng(7);
  EnumerateBackend exhaustive;
  for (int trial = 0; trial < 40; ++trial) {
    const Problem p = RandomProblem(rng, 2 + trial % 5);
    const Schedule list = ListSchedule(p);
    const absl::StatusOr<Schedule> best = exhaustive.Solve(p, SolveOptions{});
    ASSERT_TRUE(best.ok()) << best.status();
    const MilpModel m = BuildSchedulingMilp(p, LowerBound(p), list);
    std::string why;
    for (const Schedule* s : {&list, &*best}) {
      const std::vector<double> x = EncodeSchedule(p, m, *s);
      EXPECT_TRUE(IsFeasible(m, x, 1e-6, &why)) << "trial " << trial << ": " << why;
      EXPECT_NEAR(x[static_cast<size_t>(m.makespan)] * MilpModel::kUnitS, s->makespan_s, 1e-12);
      EXPECT_EQ(DecodeSchedule(p, m, x.data()).makespan_s <= s->makespan_s * (1 + 1e-9), true);
    }
  }
  // Two independent GEMMs on one tensor core cannot both start at 0.
  Problem p;
  p.num_tc = 1;
  p.tasks = {MakeTask(Engine::kTensor, 1e-6, 1e-6, {}), MakeTask(Engine::kTensor, 1e-6, 1e-6, {})};
  Schedule serial = ListSchedule(p);
  const MilpModel m = BuildSchedulingMilp(p, LowerBound(p), serial);
  Schedule overlap = serial;
  overlap.start_s = {0, 0};
  overlap.makespan_s = 2e-6;  // keep T within its bounds: only the ordering can be violated
  std::string why;
  EXPECT_FALSE(IsFeasible(m, EncodeSchedule(p, m, overlap), 1e-9, &why));
  EXPECT_NE(why.find("row"), std::string::npos) << why;
}

// The resource flow: the exhaustive optimum with HBM shares is a point of the model, and three
// operators that fit two by two but all start at once are refused (pairwise disjunctions alone
// would admit them).
TEST(MilpModelTest, HbmFlowAdmitsValidSchedulesAndRefusesAThreeWayOverload) {
  std::mt19937 rng(23);
  EnumerateBackend exhaustive;
  int with_flow = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const Problem p = WithHbmShares(rng, RandomProblem(rng, 2 + trial % 5));
    const Schedule list = ListSchedule(p);
    const absl::StatusOr<Schedule> best = exhaustive.Solve(p, SolveOptions{});
    ASSERT_TRUE(best.ok()) << best.status();
    const MilpModel m = BuildSchedulingMilp(p, LowerBound(p), list);
    with_flow += m.flows.empty() ? 0 : 1;
    std::string why;
    for (const Schedule* s : {&list, &*best}) {
      const std::vector<double> x = EncodeSchedule(p, m, *s);
      EXPECT_TRUE(IsFeasible(m, x, 1e-6, &why)) << "trial " << trial << ": " << why;
      EXPECT_LE(DecodeSchedule(p, m, x.data()).makespan_s, s->makespan_s * (1 + 1e-9));
    }
  }
  EXPECT_GT(with_flow, 20);
  const Problem p = ThreeHalfBandwidthOperators();
  const Schedule serial = ListSchedule(p);
  ASSERT_NEAR(serial.makespan_s, 2e-3, 1e-12);
  const MilpModel m = BuildSchedulingMilp(p, LowerBound(p), serial);
  Schedule overlap = serial;
  overlap.start_s = {0, 0, 0};
  std::string why;
  EXPECT_FALSE(IsFeasible(m, EncodeSchedule(p, m, overlap), 1e-9, &why));
  EXPECT_NE(why.find("row"), std::string::npos) << why;
}

// A random DAG on a large chip: a single-core run takes `cores` times (or more) its intra-op time,
// so on most instances every mapping is settled and each kind of core acts as one machine. Some
// operators take no time (reshapes), a sixth are collectives on the link.
Problem RandomSettledProblem(std::mt19937& rng, int n) {
  std::uniform_real_distribution<double> latency(1e-6, 1e-3);
  std::uniform_int_distribution<int> engine(0, 5);
  std::uniform_int_distribution<int> zero(0, 9);
  std::uniform_real_distribution<double> loss(1.0, 1.5);
  std::bernoulli_distribution edge(0.3);
  const int64_t pools[] = {1, 64, 4096};
  std::uniform_int_distribution<int> pool(0, 2);
  Problem p;
  p.num_tc = pools[pool(rng)];
  p.num_vc = pools[pool(rng)];
  for (int i = 0; i < n; ++i) {
    const int e = engine(rng);
    const Engine kind = e < 3 ? Engine::kTensor : e < 5 ? Engine::kVector : Engine::kLink;
    const double all = zero(rng) == 0 ? 0.0 : latency(rng);
    const int64_t c = kind == Engine::kTensor ? p.num_tc : kind == Engine::kVector ? p.num_vc : 1;
    // (One core: intra-op is that core, L_1 = L_io.)
    const double single = c == 1 ? all : all * static_cast<double>(c) * loss(rng);
    std::vector<int> deps;
    for (int j = 0; j < i; ++j) {
      if (edge(rng)) deps.push_back(j);
    }
    p.tasks.push_back(MakeTask(kind, single, all, deps));
  }
  return p;
}

// An independent reference for settled problems of any size: every precedence-feasible order,
// each operator appended at max(its machine's last finish, its predecessors' finish).
double BruteForceSettledOptimum(const Problem& p) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<double> finish(n, 0);
  std::vector<bool> placed(n, false);
  double free[3] = {0, 0, 0}, best = 1e300;
  auto machine = [](Engine e) { return e == Engine::kTensor ? 0 : e == Engine::kVector ? 1 : 2; };
  auto time = [&](int i) {
    const Task& t = p.tasks[i];
    const bool pooled = t.engine != Engine::kLink && CoresOf(p, t.engine) > 1;
    return pooled ? t.all_cores_s : t.single_core_s;
  };
  std::function<void(int)> go = [&](int depth) {
    if (depth == n) {
      best = std::min(best, *std::max_element(finish.begin(), finish.end()));
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (placed[i]) continue;
      double start = free[machine(p.tasks[i].engine)];
      bool ready = true;
      for (int d : p.tasks[i].deps) {
        ready = ready && placed[d];
        start = std::max(start, finish[d]);
      }
      if (!ready) continue;
      const int m = machine(p.tasks[i].engine);
      const double saved = free[m];
      placed[i] = true;
      finish[i] = start + time(i);
      if (time(i) > 0) free[m] = finish[i];
      go(depth + 1);
      free[m] = saved;
      placed[i] = false;
    }
  };
  go(0);
  return n == 0 ? 0 : best;
}

// The exact order search against the exhaustive backend (up to 8 operators) and against plain
// enumeration of every order (9 and 10 operators): equal to 1e-9 relative, every schedule valid,
// never above the list schedule it starts from. Not vacuous: most instances are settled, and on
// some the list schedule is not optimal.
TEST(UnarySearchTest, FindsTheOptimumWhenEveryMappingIsSettled) {
  std::mt19937 rng(11);
  EnumerateBackend reference;
  int settled = 0, list_suboptimal = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const int n = 2 + trial % 9;
    const Problem p = RandomSettledProblem(rng, n);
    Schedule start = ListSchedule(p);
    SetGap(start, LowerBound(p), 0.01);
    const std::optional<Schedule> got = SearchOrders(p, start, 0.01, 1'000'000);
    if (!got.has_value()) continue;
    ++settled;
    double want = 0;
    if (n <= EnumerateBackend::kMaxTasks) {
      const absl::StatusOr<Schedule> optimum = reference.Solve(p, SolveOptions{});
      ASSERT_TRUE(optimum.ok()) << trial << ": " << optimum.status();
      want = optimum->makespan_s;
      EXPECT_NEAR(BruteForceSettledOptimum(p), want, 1e-9 * want) << trial;
    } else {
      want = BruteForceSettledOptimum(p);
    }
    EXPECT_TRUE(CheckSchedule(p, *got).ok()) << trial << ": " << CheckSchedule(p, *got);
    EXPECT_NEAR(got->makespan_s, want, 1e-9 * want + 1e-15) << trial;
    EXPECT_FALSE(got->hit_time_limit) << trial;
    EXPECT_EQ(got->status, SolveStatus::kOptimal) << trial;
    EXPECT_TRUE(got->order_searched);
    EXPECT_LE(got->makespan_s, start.makespan_s) << trial;
    if (start.makespan_s > want * (1 + 1e-9)) ++list_suboptimal;
  }
  EXPECT_GT(settled, 250);
  EXPECT_GE(list_suboptimal, 5);  // 6 of them with this seed
}

// The order search from the list schedule equals the exhaustive optimum of `p` (to 1e-9), with a
// valid schedule and status optimal; returns whether the list schedule was not optimal.
bool ExpectOrderSearchIsExact(const Problem& p, int trial) {
  Schedule start = ListSchedule(p);
  SetGap(start, LowerBound(p), 0.01);
  const std::optional<Schedule> got = SearchOrders(p, start, 0.01, 1'000'000);
  const absl::StatusOr<Schedule> want = EnumerateBackend().Solve(p, SolveOptions{});
  EXPECT_TRUE(got.has_value()) << trial;
  EXPECT_TRUE(want.ok()) << trial << ": " << want.status();
  if (!got.has_value() || !want.ok()) return false;
  EXPECT_TRUE(CheckSchedule(p, *got).ok()) << trial << ": " << CheckSchedule(p, *got);
  EXPECT_NEAR(got->makespan_s, want->makespan_s, 1e-9 * want->makespan_s + 1e-15) << trial;
  EXPECT_EQ(got->status, SolveStatus::kOptimal) << trial;
  return start.makespan_s > want->makespan_s * (1 + 1e-9);
}

// With real mapping choices (pools of 1 to 3 cores, operators that may run on one core or on
// all): equal to the exhaustive backend on random DAGs up to 8 operators, every schedule valid.
TEST(UnarySearchTest, FindsTheOptimumWithMappingChoicesToo) {
  std::mt19937 rng(5);
  int choices = 0, list_suboptimal = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Problem p = RandomProblem(rng, 2 + trial % 7);
    if (trial % 3 == 0) p.tasks[static_cast<size_t>(trial) % p.tasks.size()].all_cores_s = 0;
    if (trial % 3 == 0) p.tasks[static_cast<size_t>(trial) % p.tasks.size()].single_core_s = 0;
    if (ExpectOrderSearchIsExact(p, trial)) ++list_suboptimal;
    for (size_t i = 0; i < p.tasks.size(); ++i) {
      if (HasChoice(p, static_cast<int>(i))) {
        ++choices;
        break;
      }
    }
  }
  EXPECT_GT(choices, 150);
  EXPECT_GE(list_suboptimal, 5);
}

// The order search with HBM shares: still exact against the exhaustive backend.
TEST(UnarySearchTest, FindsTheOptimumWhenOperatorsShareHbm) {
  std::mt19937 rng(31);
  int list_suboptimal = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const Problem p = WithHbmShares(rng, RandomProblem(rng, 2 + trial % 7));
    if (ExpectOrderSearchIsExact(p, trial)) ++list_suboptimal;
  }
  EXPECT_GE(list_suboptimal, 5);
}

// Vector operators that stream most of HBM's bandwidth beside GEMMs that stream a little: the
// bound stays sound against the exhaustive optimum, and the order search stays exact.
TEST(UnarySearchTest, BandwidthHungryVectorOperatorsKeepTheBoundSoundAndTheSearchExact) {
  std::mt19937 rng(23);
  std::uniform_real_distribution<double> hungry(0.8, 1.0), light(0.1, 0.5);
  EnumerateBackend reference;
  int tight = 0;
  for (int trial = 0; trial < 200; ++trial) {
    Problem p = RandomProblem(rng, 3 + trial % 6);
    for (Task& t : p.tasks) {
      const bool vector = t.engine == Engine::kVector;
      t.all_cores_hbm_share = vector ? hungry(rng) : light(rng);
      t.single_core_hbm_share =
          t.engine == Engine::kLink
              ? 0.0
              : (vector ? hungry(rng) : light(rng)) / static_cast<double>(CoresOf(p, t.engine));
      if (t.engine == Engine::kLink) t.all_cores_hbm_share = 0;
    }
    const absl::StatusOr<Schedule> want = reference.Solve(p, SolveOptions{});
    ASSERT_TRUE(want.ok()) << trial << ": " << want.status();
    const double bound = LowerBound(p);
    EXPECT_LE(bound, want->makespan_s * (1 + 1e-12)) << trial;
    if (bound >= want->makespan_s * (1 - 1e-9)) ++tight;
    ExpectOrderSearchIsExact(p, trial);
  }
  EXPECT_GT(tight, 50);
}

// A budget too small to finish: the best schedule found so far, its gap to the lower bound,
// hit_time_limit set; ScheduleLayer then hands it to the MILP.
TEST(UnarySearchTest, AStoppedSearchSaysSo) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    const Problem p = RandomSettledProblem(rng, 10);
    Schedule start = ListSchedule(p);
    SetGap(start, LowerBound(p), 0.01);
    const std::optional<Schedule> got = SearchOrders(p, start, 0.01, 3);
    if (!got.has_value() || start.makespan_s <= LowerBound(p) * (1 + 1e-9)) continue;
    EXPECT_TRUE(got->hit_time_limit) << trial;
    EXPECT_LE(got->lower_bound_s, BruteForceSettledOptimum(p) * (1 + 1e-12)) << trial;
    EXPECT_TRUE(CheckSchedule(p, *got).ok()) << trial;
  }
}

// The sibling-pair block on a large chip: the front door solves it by the order search, without
// a MILP, and finds the optimum (13 ms: every GEMM pair one after the other).
TEST(ScheduleLayerTest, SettledMappingsAreSolvedByTheOrderSearch) {
  Problem p;
  p.num_tc = 4096;
  p.num_vc = 4096;
  auto op = [](Engine e, double all_s, std::vector<int> deps) {
    return MakeTask(e, 4096 * all_s, all_s, std::move(deps));
  };
  // Vector work beside the GEMMs delays the list schedule's choices; the optimum runs the long
  // GEMM of each pair first, while the vector operator that feeds the next pair needs the other.
  p.tasks = {op(Engine::kVector, 1e-3, {}),  op(Engine::kTensor, 2e-3, {0}),
             op(Engine::kTensor, 3e-3, {0}), op(Engine::kVector, 1e-3, {1}),
             op(Engine::kTensor, 2e-3, {3}), op(Engine::kTensor, 3e-3, {3}),
             op(Engine::kVector, 4e-3, {2}), op(Engine::kVector, 1e-3, {4, 5, 6})};
  CbcBackend cbc;
  const absl::StatusOr<Schedule> s = ScheduleLayer(p, SolveOptions{}, cbc, nullptr);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->mip_built);
  EXPECT_EQ(s->status, SolveStatus::kOptimal);
  EXPECT_NEAR(s->makespan_s, BruteForceSettledOptimum(p), 1e-12);
  EXPECT_TRUE(CheckSchedule(p, *s).ok());
}

// Without the MILP: the best schedule of the bounds and the order search, still open, and not
// cached, so that a later call with the MILP solves it. Random DAGs with real mapping choices.
TEST(ScheduleLayerTest, WithoutTheMilpAnOpenLayerStaysOpenAndUncached) {
  std::mt19937 rng(2024);
  CbcBackend cbc;
  int open = 0;
  for (int trial = 0; trial < 60 && open < 5; ++trial) {
    const Problem p = RandomProblem(rng, 7);
    ScheduleCache cache;
    SolveOptions no_milp;
    no_milp.allow_milp = false;
    no_milp.order_search_nodes = 2;  // stopped before it proves anything
    const absl::StatusOr<Schedule> first = ScheduleLayer(p, no_milp, cbc, &cache);
    ASSERT_TRUE(first.ok());
    if (first->status != SolveStatus::kFeasible) continue;
    ++open;
    EXPECT_FALSE(first->mip_built);
    EXPECT_TRUE(CheckSchedule(p, *first).ok());
    SolveOptions with_milp = no_milp;
    with_milp.allow_milp = true;
    const absl::StatusOr<Schedule> solved = ScheduleLayer(p, with_milp, cbc, &cache);
    ASSERT_TRUE(solved.ok());
    EXPECT_FALSE(solved->from_cache) << trial;
    EXPECT_TRUE(solved->mip_built) << trial;
    EXPECT_LE(solved->makespan_s, first->makespan_s * (1 + 1e-12)) << trial;
  }
  EXPECT_GE(open, 5);
}

TEST(ScheduleLayerTest, BoundsThatMeetSkipTheMip) {
  Problem p;
  p.num_tc = 8;
  p.num_vc = 2;
  p.tasks = {MakeTask(Engine::kTensor, 8e-3, 1e-3, {}), MakeTask(Engine::kVector, 1e-3, 5e-4, {0})};
  CbcBackend cbc;
  absl::StatusOr<Schedule> s = ScheduleLayer(p, {}, cbc, nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->mip_built);
  EXPECT_EQ(s->status, SolveStatus::kOptimal);
  EXPECT_NEAR(s->makespan_s, 1.5e-3, 1e-12);
}

TEST(ScheduleLayerTest, SameProblemIsSolvedOncePerCache) {
  std::mt19937 rng(5);
  const Problem p = RandomProblem(rng, 7);
  CbcBackend cbc;
  ScheduleCache cache;
  absl::StatusOr<Schedule> first = ScheduleLayer(p, {}, cbc, &cache);
  const int64_t entries = cache.size();  // the bounds and the solve
  absl::StatusOr<Schedule> second = ScheduleLayer(p, {}, cbc, &cache);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(first->from_cache);
  EXPECT_TRUE(second->from_cache);
  EXPECT_EQ(first->makespan_s, second->makespan_s);
  EXPECT_EQ(cache.size(), entries);
  EXPECT_LE(entries, 2);
  Problem other = p;
  other.tasks[0].single_core_s *= 2;
  EXPECT_NE(ProblemKey(p, {}), ProblemKey(other, {}));
  Problem streaming = p;
  streaming.tasks[0].all_cores_hbm_share = 0.5;
  EXPECT_NE(ProblemKey(p, {}), ProblemKey(streaming, {}));
}

TEST(ScheduleLayerTest, BoundedCacheStartsAfreshWhenFullAndAnswersTheSame) {
  ScheduleCache cache(/*max_entries=*/3);
  Schedule s;
  for (uint64_t key = 0; key < 3; ++key) {
    s.makespan_s = static_cast<double>(key);
    cache.Insert(key, s);
  }
  EXPECT_EQ(cache.size(), 3);
  s.makespan_s = 7;
  cache.Insert(7, s);  // full: the old entries go
  EXPECT_EQ(cache.size(), 1);
  Schedule out;
  EXPECT_FALSE(cache.Lookup(0, &out));
  ASSERT_TRUE(cache.Lookup(7, &out));
  EXPECT_EQ(out.makespan_s, 7);

  // A tiny cache changes nothing but time.
  std::mt19937 rng(11);
  const Problem p = RandomProblem(rng, 7);
  CbcBackend cbc;
  ScheduleCache tiny(1);
  const absl::StatusOr<Schedule> a = ScheduleLayer(p, {}, cbc, &tiny);
  const absl::StatusOr<Schedule> b = ScheduleLayer(p, {}, cbc, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->makespan_s, b->makespan_s);
  EXPECT_LE(tiny.size(), 1);
}

TEST(ScheduleLayerTest, NonFiniteLatencyIsAnInfeasibleOutcomeNotAnError) {
  Problem p;
  p.tasks = {MakeTask(Engine::kTensor, std::numeric_limits<double>::infinity(), 1.0, {})};
  CbcBackend cbc;
  absl::StatusOr<Schedule> s = ScheduleLayer(p, {}, cbc, nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, SolveStatus::kInfeasible);
}

// The screening bound: the lower bound alone (open, no schedule) until the layer's bounds are
// cached, then those; infeasible where a latency is not finite.
TEST(ScheduleLayerTest, LowerBoundLayerIsTheLowerBoundOrTheCachedBounds) {
  std::mt19937 rng(77);
  ScheduleCache cache;
  for (int trial = 0; trial < 30; ++trial) {
    const Problem p = RandomProblem(rng, 6);
    const Schedule alone = LowerBoundLayer(p, {}, &cache);
    EXPECT_EQ(alone.status, SolveStatus::kFeasible);
    EXPECT_FALSE(std::isfinite(alone.makespan_s));
    EXPECT_TRUE(alone.start_s.empty());
    EXPECT_EQ(alone.lower_bound_s, LowerBound(p));
    const Schedule bounds = BoundLayer(p, {}, &cache);
    const Schedule after = LowerBoundLayer(p, {}, &cache);
    EXPECT_TRUE(after.from_cache);
    EXPECT_EQ(after.makespan_s, bounds.makespan_s);
    EXPECT_EQ(after.status, bounds.status);
  }
  Problem bad;
  bad.tasks = {MakeTask(Engine::kTensor, std::numeric_limits<double>::infinity(), 1.0, {})};
  EXPECT_EQ(LowerBoundLayer(bad, {}, nullptr).status, SolveStatus::kInfeasible);
}

TEST(ScheduleLayerTest, BadProblemsAreRefused) {
  Problem p;
  p.tasks = {MakeTask(Engine::kTensor, 1, 1, {0})};  // depends on itself
  CbcBackend cbc;
  EXPECT_EQ(ScheduleLayer(p, {}, cbc, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  EnumerateBackend small;
  Problem big;
  for (int i = 0; i < 9; ++i) big.tasks.push_back(MakeTask(Engine::kTensor, 1, 1, {}));
  EXPECT_EQ(small.Solve(big, {}).status().code(), absl::StatusCode::kResourceExhausted);
  Problem greedy;
  greedy.tasks = {MakeTask(Engine::kVector, 1, 1, {})};
  greedy.tasks[0].single_core_hbm_share = 1.5;
  const absl::Status st = ScheduleLayer(greedy, {}, cbc, nullptr).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("HBM bandwidth share"), std::string::npos) << st;
}

TEST(ScheduleLayerTest, TimeLimitGivesAScheduleWithItsGap) {
  // Twenty independent GEMMs on three cores: a hard packing problem.
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> latency(1e-4, 1e-3);
  Problem p;
  p.num_tc = 3;
  p.num_vc = 1;
  for (int i = 0; i < 20; ++i) {
    const double l = latency(rng);
    p.tasks.push_back(MakeTask(Engine::kTensor, l, l / 2.2, {}));
  }
  SolveOptions options;
  options.time_limit_s = 0.2;
  options.relative_gap = 0.0;
  CbcBackend cbc;
  absl::StatusOr<Schedule> s = cbc.Solve(p, options);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->status == SolveStatus::kOptimal || s->status == SolveStatus::kFeasible);
  EXPECT_TRUE(CheckSchedule(p, *s).ok());
  EXPECT_GE(s->gap, 0.0);
  EXPECT_LE(s->makespan_s, ListSchedule(p).makespan_s + 1e-12);
}

}  // namespace
}  // namespace phaze::sched
