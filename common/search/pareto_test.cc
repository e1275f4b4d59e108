#include "common/search/pareto.h"

#include <algorithm>
#include <random>

#include "gtest/gtest.h"

namespace phaze::search {
namespace {

DesignPoint Point(int64_t key, double thr, double area, double energy) {
  DesignPoint p;
  p.candidate_index = key;
  p.throughput_samples_per_s = thr;
  p.area_um2 = area;
  p.energy_per_sample_j = energy;
  return p;
}

TEST(ParetoFrontTest, DominatedPointIsDropped) {
  ParetoFront f;
  EXPECT_TRUE(f.Insert(Point(0, 10, 100, 1)));
  EXPECT_FALSE(f.Insert(Point(1, 9, 100, 1)));  // slower, same area and energy
  EXPECT_TRUE(f.Insert(Point(2, 8, 50, 1)));    // slower but smaller: a trade-off
  EXPECT_TRUE(f.Insert(Point(3, 11, 100, 1)));  // dominates point 0
  EXPECT_EQ(f.size(), 2u);
  EXPECT_EQ(f.Points()[0].candidate_index, 2);
  EXPECT_EQ(f.Points()[1].candidate_index, 3);
}

TEST(ParetoFrontTest, TiesKeepTheSmallerKey) {
  ParetoFront f;
  f.Insert(Point(7, 10, 100, 1));
  f.Insert(Point(3, 10, 100, 1));
  f.Insert(Point(9, 10, 100, 1));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f.Points()[0].candidate_index, 3);
}

TEST(ParetoFrontTest, SameFrontInAnyOrderWithDuplicates) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> v(1, 6);  // few values: many ties
  std::vector<DesignPoint> points;
  for (int i = 0; i < 300; ++i) points.push_back(Point(i, v(rng), v(rng), v(rng)));
  ParetoFront reference;
  BestPoint best_ref;
  for (const DesignPoint& p : points) {
    reference.Insert(p);
    best_ref.Offer(p);
  }
  for (int shuffle = 0; shuffle < 20; ++shuffle) {
    std::vector<DesignPoint> order = points;
    // Retries deliver some results twice.
    order.insert(order.end(), points.begin(), points.begin() + 50);
    std::shuffle(order.begin(), order.end(), rng);
    ParetoFront f;
    BestPoint best;
    for (const DesignPoint& p : order) {
      f.Insert(p);
      best.Offer(p);
    }
    const auto a = f.Points(), b = reference.Points();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].Key(), b[i].Key());
    EXPECT_EQ(best.Get()->Key(), best_ref.Get()->Key());
  }
  // Every front point is undominated by every point.
  for (const DesignPoint& q : reference.Points()) {
    for (const DesignPoint& p : points) EXPECT_FALSE(Dominates(p, q));
  }
}

}  // namespace
}  // namespace phaze::search

namespace phaze::search {
namespace {

TEST(ObjectiveSetTest, KeepsEveryNonDominatedPointWithoutKeys) {
  ObjectiveSet set;
  set.Add({10, 5, 1});
  set.Add({20, 9, 1});
  set.Add({5, 2, 1});
  set.Add({10, 5, 1});  // the same objectives again: covered
  set.Add({9, 6, 2});   // dominated by the first
  EXPECT_EQ(set.size(), 3u);
  EXPECT_TRUE(set.DominatesBound({19, 9, 1}));   // by (20, 9, 1)
  EXPECT_TRUE(set.DominatesBound({4, 3, 1}));    // by (5, 2, 1)
  EXPECT_FALSE(set.DominatesBound({20, 9, 1}));  // equal is not strictly dominated
  EXPECT_FALSE(set.DominatesBound({25, 1, 0.5}));
}

TEST(ParetoFrontTest, PowerIsAnObjectiveLikeTheOthers) {
  // Same throughput, area and energy: the cooler chip dominates; a faster but hotter chip is a
  // trade-off; a point equal in everything but the key ties.
  DesignPoint hot = Point(0, 10, 100, 1);
  hot.tdp_w = 200;
  DesignPoint cool = Point(1, 10, 100, 1);
  cool.tdp_w = 150;
  DesignPoint fast_hot = Point(2, 12, 100, 1);
  fast_hot.tdp_w = 300;
  ParetoFront f;
  f.Insert(hot);
  f.Insert(cool);
  f.Insert(fast_hot);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f.Points()[0].candidate_index, 1);
  EXPECT_EQ(f.Points()[1].candidate_index, 2);
  EXPECT_TRUE(f.DominatesBound({10, 100, 1, 151}));
  EXPECT_FALSE(f.DominatesBound({10, 100, 1, 149}));  // a cooler bound escapes
}

}  // namespace
}  // namespace phaze::search
