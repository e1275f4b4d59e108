#include "common/report/plot.h"

#include <cmath>
#include <regex>

#include "gtest/gtest.h"

namespace phaze::report {
namespace {

// The centres of every point, in the order drawn.
std::vector<std::pair<double, double>> Centres(const std::string& svg) {
  std::vector<std::pair<double, double>> out;
  const std::regex circle(R"re(class="phaze-point" cx="([-0-9.]+)" cy="([-0-9.]+)")re");
  for (std::sregex_iterator it(svg.begin(), svg.end(), circle), end; it != end; ++it) {
    out.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  }
  return out;
}

TEST(PlotTest, PointsLandInsideThePlotInOrderOfTheirValues) {
  std::vector<PlotPoint> points = {{100, 10, "HBM 32 GiB", "a", false},
                                   {200, 20, "HBM 64 GiB", "b", false},
                                   {300, 15, "HBM 32 GiB", "c", true}};
  PlotOptions o;
  const std::string svg = ScatterSvg(points, o);
  const auto c = Centres(svg);
  ASSERT_EQ(c.size(), 3u);
  // Drawn group by group (HBM 32 GiB: a; HBM 64 GiB: b), the highlighted point c last.
  EXPECT_LT(c[0].first, c[1].first);    // a left of b
  EXPECT_LT(c[1].first, c[2].first);    // b left of c
  EXPECT_GT(c[0].second, c[1].second);  // higher throughput: higher on the page (smaller y)
  EXPECT_GT(c[2].second, c[1].second);
  EXPECT_LT(c[2].second, c[0].second);
  for (const auto& [x, y] : c) {
    EXPECT_GT(x, 0);
    EXPECT_LT(x, o.width_px);
    EXPECT_GT(y, 0);
    EXPECT_LT(y, o.height_px);
  }
  EXPECT_NE(svg.find("data-points=\"3\""), std::string::npos);
  EXPECT_NE(svg.find(">HBM 32 GiB</text>"), std::string::npos);
  EXPECT_NE(svg.find(">best</text>"), std::string::npos);
  EXPECT_EQ(svg.find("log scale"), std::string::npos);
}

TEST(PlotTest, WideRangesUseALogAxisAndGroupsSortNaturally) {
  std::vector<PlotPoint> points = {{10, 1, "HBM 128 GiB", "", false},
                                   {20, 1000, "HBM 32 GiB", "", false}};
  const std::string svg = ScatterSvg(points, {});
  EXPECT_NE(svg.find("log scale"), std::string::npos);
  EXPECT_LT(svg.find(">HBM 32 GiB<"), svg.find(">HBM 128 GiB<"));
}

TEST(PlotTest, TextIsEscapedAndBadValuesAreLeftOut) {
  std::vector<PlotPoint> points = {
      {1, 2, "<g>", "a & \"b\"", false}, {1, std::nan(""), "x", "", false}, {1, 0, "x", "", false}};
  PlotOptions o;
  o.title = "<script>alert(1)</script>";
  const std::string svg = ScatterSvg(points, o);
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a &amp; &quot;b&quot;"), std::string::npos);
  EXPECT_EQ(Centres(svg).size(), 1u);
  EXPECT_EQ(ScatterSvg({}, {}).find("phaze-point"), std::string::npos);  // empty: axes only
}

}  // namespace
}  // namespace phaze::report
