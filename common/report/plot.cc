#include "common/report/plot.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace phaze::report {
namespace {

// Colour-blind-safe palette (Okabe-Ito), then greys.
constexpr const char* kColours[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00",
                                    "#56B4E9", "#F0E442", "#000000", "#777777", "#BBBBBB"};

// "HBM 32 GiB" < "HBM 128 GiB": compare the first number in each name, then the names.
bool NaturalLess(const std::string& a, const std::string& b) {
  auto number = [](const std::string& s) {
    const size_t i = s.find_first_of("0123456789");
    return i == std::string::npos ? -1.0 : std::atof(s.c_str() + i);
  };
  const double na = number(a), nb = number(b);
  if (na != nb) return na < nb;
  return a < b;
}

// About `count` round tick values covering [lo, hi].
std::vector<double> LinearTicks(double lo, double hi, int count) {
  const double span = hi - lo;
  if (!(span > 0)) return {lo};
  const double raw = span / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string TickLabel(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e6 || a < 1e-2) return absl::StrFormat("%.0e", v);
  if (a >= 100) return absl::StrFormat("%.0f", v);
  if (a >= 1) return absl::StrFormat("%.3g", v);
  return absl::StrFormat("%.2g", v);
}

}  // namespace

std::string EscapeXml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string ScatterSvg(const std::vector<PlotPoint>& points, const PlotOptions& o) {
  const double left = 78, right = 170, top = 36, bottom = 52;
  const double plot_w = o.width_px - left - right, plot_h = o.height_px - top - bottom;
  std::vector<const PlotPoint*> shown;
  for (const PlotPoint& p : points) {
    if (std::isfinite(p.x) && std::isfinite(p.y) && p.y > 0) shown.push_back(&p);
  }
  double x_lo = 0, x_hi = 1, y_lo = 1, y_hi = 10;
  if (!shown.empty()) {
    x_lo = x_hi = shown.front()->x;
    y_lo = y_hi = shown.front()->y;
    for (const PlotPoint* p : shown) {
      x_lo = std::min(x_lo, p->x);
      x_hi = std::max(x_hi, p->x);
      y_lo = std::min(y_lo, p->y);
      y_hi = std::max(y_hi, p->y);
    }
  }
  const bool log_y = y_hi / y_lo > 30;
  // Pad the ranges so that no point sits on an axis.
  const double x_pad = std::max((x_hi - x_lo) * 0.05, std::max(1e-9, std::abs(x_hi) * 0.05));
  x_lo = std::max(0.0, x_lo - x_pad);
  x_hi += x_pad;
  double ly_lo, ly_hi;
  if (log_y) {
    ly_lo = std::floor(std::log10(y_lo));
    ly_hi = std::ceil(std::log10(y_hi));
  } else {
    const double y_pad = std::max((y_hi - y_lo) * 0.08, std::abs(y_hi) * 0.05);
    ly_lo = std::max(0.0, y_lo - y_pad);
    ly_hi = y_hi + y_pad;
  }
  auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * plot_w; };
  auto py = [&](double y) {
    const double v = log_y ? std::log10(y) : y;
    return top + plot_h - (v - ly_lo) / (ly_hi - ly_lo) * plot_h;
  };

  std::vector<std::string> groups;
  {
    std::set<std::string> seen;
    for (const PlotPoint* p : shown) seen.insert(p->group);
    groups.assign(seen.begin(), seen.end());
    std::sort(groups.begin(), groups.end(), NaturalLess);
  }
  std::map<std::string, const char*> colour;
  for (size_t i = 0; i < groups.size(); ++i) {
    colour[groups[i]] = kColours[std::min(i, std::size(kColours) - 1)];
  }

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\" "
      "data-points=\"%d\" role=\"img\" aria-label=\"%s\">\n",
      EscapeXml(o.id), o.width_px, o.height_px, o.width_px, o.height_px, shown.size(),
      EscapeXml(o.title));
  absl::StrAppendFormat(&svg, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", o.width_px,
                        o.height_px);
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.1f\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" "
                        "font-weight=\"bold\">%s</text>\n",
                        left + plot_w / 2, EscapeXml(o.title));
  // Grid and ticks.
  for (double t : LinearTicks(x_lo, x_hi, 6)) {
    const double x = px(t);
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
        x, top, x, top + plot_h, x, top + plot_h + 16, TickLabel(t));
  }
  std::vector<double> y_ticks;
  if (log_y) {
    for (double e = ly_lo; e <= ly_hi; e += 1) y_ticks.push_back(std::pow(10.0, e));
  } else {
    y_ticks = LinearTicks(ly_lo, ly_hi, 6);
  }
  for (double t : y_ticks) {
    const double y = py(t);
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
        left, y, left + plot_w, y, left - 6, y + 4, TickLabel(t));
  }
  absl::StrAppendFormat(&svg,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                        "stroke=\"#444\"/>\n",
                        left, top, plot_w, plot_h);
  absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                        left + plot_w / 2, o.height_px - 12, EscapeXml(o.x_label));
  absl::StrAppendFormat(&svg,
                        "<text transform=\"translate(18 %.1f) rotate(-90)\" "
                        "text-anchor=\"middle\">%s%s</text>\n",
                        top + plot_h / 2, EscapeXml(o.y_label), log_y ? ", log scale" : "");
  // Points, one group per colour (shared style), highlighted ones last so that they are on top.
  auto draw = [&](bool highlighted) {
    for (const std::string& g : groups) {
      std::string circles;
      for (const PlotPoint* p : shown) {
        if (p->highlight != highlighted || p->group != g) continue;
        absl::StrAppendFormat(&circles,
                              "<circle class=\"phaze-point\" cx=\"%.1f\" cy=\"%.1f\" r=\"%d\">"
                              "<title>%s</title></circle>\n",
                              px(p->x), py(p->y), highlighted ? 6 : 4, EscapeXml(p->tooltip));
      }
      if (circles.empty()) continue;
      absl::StrAppendFormat(&svg,
                            "<g fill=\"%s\" fill-opacity=\"0.8\" stroke=\"%s\" "
                            "stroke-width=\"%d\">\n%s</g>\n",
                            colour[g], highlighted ? "#000" : "white", highlighted ? 2 : 1,
                            circles);
    }
  };
  draw(false);
  draw(true);
  // Legend.
  double ly = top + 8;
  for (const std::string& g : groups) {
    absl::StrAppendFormat(&svg,
                          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                          left + plot_w + 18, ly, colour[g], left + plot_w + 28, ly + 4,
                          EscapeXml(g));
    ly += 18;
  }
  if (std::any_of(shown.begin(), shown.end(), [](const PlotPoint* p) { return p->highlight; })) {
    absl::StrAppendFormat(&svg,
                          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"none\" stroke=\"#000\" "
                          "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">best</text>\n",
                          left + plot_w + 18, ly, left + plot_w + 28, ly + 4);
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace phaze::report
