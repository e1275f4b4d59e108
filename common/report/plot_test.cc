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
  // Drawn group by group: HBM 32 GiB (a, c), then HBM 64 GiB (b).
  EXPECT_LT(c[0].first, c[2].first);    // a left of b
  EXPECT_LT(c[2].first, c[1].first);    // b left of c
  EXPECT_GT(c[0].second, c[2].second);  // higher throughput: higher on the page (smaller y)
  EXPECT_GT(c[1].second, c[2].second);
  EXPECT_LT(c[1].second, c[0].second);
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

// The radii of every point, in the order drawn.
std::vector<double> Radii(const std::string& svg) {
  std::vector<double> out;
  const std::regex circle(R"re(class="phaze-point" cx="[-0-9.]+" cy="[-0-9.]+" r="([0-9.]+)")re");
  for (std::sregex_iterator it(svg.begin(), svg.end(), circle), end; it != end; ++it) {
    out.push_back(std::stod((*it)[1]));
  }
  return out;
}

TEST(PlotTest, CoincidingPointsOfDifferentGroupsAreNestedRingsNotHidden) {
  // The same chip at three HBM sizes with the same throughput: one place on the plot.
  std::vector<PlotPoint> points = {{100, 10, "HBM 80 GiB", "", false},
                                   {100, 10, "HBM 32 GiB", "", true},
                                   {100, 10, "HBM 64 GiB", "", false}};
  const std::string svg = ScatterSvg(points, {});
  const auto c = Centres(svg);
  const auto r = Radii(svg);
  ASSERT_EQ(c.size(), 3u);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(c[0], c[1]);
  EXPECT_EQ(c[1], c[2]);
  // Each point drawn later is smaller than every one before it by a visible margin (more than
  // the 0.75 px white outline), so each earlier point shows as a ring.
  EXPECT_GT(r[0] - r[1], 1.0);
  EXPECT_GT(r[1] - r[2], 1.0);
  EXPECT_GE(r[2], 2.0);
  // The best point's mark is a hollow ring over it that catches no pointer.
  const size_t ring = svg.find("class=\"phaze-best\"");
  ASSERT_NE(ring, std::string::npos);
  EXPECT_NE(svg.find("fill=\"none\"", ring), std::string::npos);
  EXPECT_GT(ring, svg.rfind("class=\"phaze-point\""));  // drawn after every point
}

// Whether some probe of every disc (its centre and eight points at 0.9 of its radius) has its own
// colour on top, the discs read back from the SVG in draw order with their group (<g>) number.
int HiddenPoints(const std::string& svg) {
  struct D {
    double x, y, r;
    int g;
  };
  std::vector<D> discs;
  const std::regex group(R"re(<g fill="[^"]+"[^>]*>([^]*?)</g>)re");
  const std::regex circle(
      R"re(class="phaze-point" cx="([-0-9.]+)" cy="([-0-9.]+)" r="([0-9.]+)")re");
  int g = 0;
  for (std::sregex_iterator it(svg.begin(), svg.end(), group), end; it != end; ++it, ++g) {
    const std::string body = (*it)[1];
    for (std::sregex_iterator c(body.begin(), body.end(), circle); c != end; ++c) {
      discs.push_back({std::stod((*c)[1]), std::stod((*c)[2]), std::stod((*c)[3]), g});
    }
  }
  int hidden = 0;
  for (const D& d : discs) {
    bool shows = false;
    for (int k = -1; k < 8 && !shows; ++k) {
      const double px = d.x + (k < 0 ? 0 : 0.9 * d.r * std::cos(k * M_PI / 4));
      const double py = d.y + (k < 0 ? 0 : 0.9 * d.r * std::sin(k * M_PI / 4));
      int top = -1;
      for (const D& o : discs) {
        if ((px - o.x) * (px - o.x) + (py - o.y) * (py - o.y) <= (o.r + 0.5) * (o.r + 0.5)) {
          top = o.g;
        }
      }
      shows = top == d.g;
    }
    if (!shows) ++hidden;
  }
  return hidden;
}

TEST(PlotTest, NoPointIsHiddenBehindAClusterOfAnotherColour) {
  // One 32 GiB point ringed by eight 64 GiB points about 2.5 px away (linear axes: about 0.46 px
  // per unit of x and 3.2 px per unit of y): drawn where they are, they would cover all of it.
  std::vector<PlotPoint> points = {{500, 100, "HBM 32 GiB", "", false},
                                   {0, 50, "HBM 32 GiB", "", false},
                                   {1000, 150, "HBM 32 GiB", "", false}};
  for (int k = 0; k < 8; ++k) {
    points.push_back({500 + 5.4 * std::cos(k * M_PI / 4), 100 + 0.8 * std::sin(k * M_PI / 4),
                      "HBM 64 GiB", "", false});
  }
  PlotOptions o;
  const std::string svg = ScatterSvg(points, o);
  EXPECT_EQ(Centres(svg).size(), points.size());
  EXPECT_EQ(HiddenPoints(svg), 0);
}

TEST(PlotTest, EitherAxisGoesLogarithmicOverWideRanges) {
  std::vector<PlotPoint> points = {{1, 5, "a", "", false}, {1000, 6, "a", "", false}};
  PlotOptions o;
  o.x_label = "energy per sample (J)";
  const std::string svg = ScatterSvg(points, o);
  EXPECT_NE(svg.find("energy per sample (J), log scale"), std::string::npos);
  const auto c = Centres(svg);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_LT(c[0].first, c[1].first);
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
