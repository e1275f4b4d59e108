// Scatter plots as self-contained SVG (no scripts, no external resources): the Pareto front,
// any objective against any other, one colour per group (HBM size or micro-batch size). Pure; used
// by `phaze compare`, `phaze report`, the coordinator's job page and docs/results.md.
#ifndef PHAZE_COMMON_REPORT_PLOT_H_
#define PHAZE_COMMON_REPORT_PLOT_H_

#include <string>
#include <vector>

namespace phaze::report {

struct PlotPoint {
  double x = 0;         // in the units of PlotOptions::x_label (chip area, mm^2, by default)
  double y = 0;         // in the units of PlotOptions::y_label
  std::string group;    // legend entry, e.g. "HBM 32 GiB"
  std::string tooltip;  // shown on hover (<title>)
  bool highlight = false;
};

struct PlotOptions {
  std::string title;
  std::string x_label = "chip area (mm^2)";
  std::string y_label = "throughput (samples/s)";
  int width_px = 760;
  int height_px = 460;
  std::string id = "front-plot";  // the <svg> element's id
};

// Groups are coloured in the order of their names sorted naturally ("HBM 32 GiB" < "HBM 64 GiB"
// < "HBM 128 GiB") and drawn in that order, each with a smaller radius than the one before
// (GroupRadiusPx), so that coinciding points of different groups show as concentric rings. An
// axis is logarithmic when its values span more than a factor of 30. Every point is a
// <circle class="phaze-point">; a highlighted point also gets a hollow <circle class="phaze-best">
// ring over it. Points with a non-finite value, y <= 0 or x < 0 are left out.
std::string ScatterSvg(const std::vector<PlotPoint>& points, const PlotOptions& options);

// The radius of the points of the group that sorts `group_rank`-th (0 first): 6 px, 1.5 px
// less per rank, at least 2 px.
double GroupRadiusPx(size_t group_rank);

// Escapes &, <, >, " and ' for HTML and SVG text and attributes.
std::string EscapeXml(const std::string& text);

}  // namespace phaze::report

#endif  // PHAZE_COMMON_REPORT_PLOT_H_
