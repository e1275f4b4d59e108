// Scatter plots as self-contained SVG (no scripts, no external resources): the Pareto front,
// throughput against chip area, one colour per group (HBM size or micro-batch size). Pure; used
// by `phaze compare`, `phaze report`, the coordinator's job page and docs/results.md.
#ifndef PHAZE_COMMON_REPORT_PLOT_H_
#define PHAZE_COMMON_REPORT_PLOT_H_

#include <string>
#include <vector>

namespace phaze::report {

struct PlotPoint {
  double x = 0;         // chip area, mm^2
  double y = 0;         // throughput, samples/s
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

// Groups are coloured in the order of their first appearance after sorting the group names
// naturally ("HBM 32 GiB" < "HBM 64 GiB" < "HBM 128 GiB"). The y axis is logarithmic when the
// values span more than a factor of 30. Every point is a <circle class="phaze-point">.
std::string ScatterSvg(const std::vector<PlotPoint>& points, const PlotOptions& options);

// Escapes &, <, >, " and ' for HTML and SVG text and attributes.
std::string EscapeXml(const std::string& text);

}  // namespace phaze::report

#endif  // PHAZE_COMMON_REPORT_PLOT_H_
