#include "common/report/plot.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>
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

namespace {

// One axis of the plot: its value range (padded) and whether it is logarithmic.
struct Axis {
  bool log = false;
  double lo = 0, hi = 1;  // in axis units: values, or log10 of them

  // Logarithmic when the values span more than a factor of 30.
  static Axis Of(double min_value, double max_value, double pad_fraction) {
    Axis a;
    a.log = min_value > 0 && max_value / min_value > 30;
    if (a.log) {
      a.lo = std::floor(std::log10(min_value));
      a.hi = std::ceil(std::log10(max_value));
    } else {
      // Pad the range so that no point sits on an axis.
      const double pad = std::max((max_value - min_value) * pad_fraction,
                                  std::max(1e-9, std::abs(max_value) * 0.05));
      a.lo = std::max(0.0, min_value - pad);
      a.hi = max_value + pad;
    }
    return a;
  }
  // Where `value` lies along the axis, 0 at lo and 1 at hi.
  double Fraction(double value) const {
    const double v = log ? std::log10(value) : value;
    return (v - lo) / (hi - lo);
  }
  std::vector<double> Ticks() const {
    if (!log) return LinearTicks(lo, hi, 6);
    std::vector<double> t;
    for (double e = lo; e <= hi; e += 1) t.push_back(std::pow(10.0, e));
    return t;
  }
};

// A point as drawn: centre and radius in pixels, and the rank of its group (its colour).
struct Disc {
  double x = 0, y = 0, r = 0;
  size_t group = 0;
};

// Where a point's colour is looked for: its centre and eight points at 0.9 of its radius.
std::vector<std::pair<double, double>> Probes(const Disc& d) {
  std::vector<std::pair<double, double>> out = {{d.x, d.y}};
  for (int k = 0; k < 8; ++k) {
    const double a = k * std::numbers::pi / 4;
    out.emplace_back(d.x + 0.9 * d.r * std::cos(a), d.y + 0.9 * d.r * std::sin(a));
  }
  return out;
}

// Moves points by a few pixels, where needed, so that no point is hidden behind points of
// other colours drawn after it: each disc, in draw order, takes the first position (its own,
// then 1-8 px away in eight directions) at which every earlier disc of another colour that still
// showed its colour at some probe still does. A disc covers a probe within its radius plus
// half a pixel (its outline). Neighbours are found through a grid of 12 px cells.
void Dodge(std::vector<Disc>& discs) {
  constexpr double kCell = 12;  // > twice the largest radius plus the outline
  std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> grid;
  auto cell = [](double v) { return static_cast<int64_t>(std::floor(v / kCell)); };
  // The colour on top at (x, y) among discs [0, upto], or SIZE_MAX.
  auto top_group = [&](double x, double y, size_t upto) {
    size_t top = SIZE_MAX;
    for (int64_t cx = cell(x) - 1; cx <= cell(x) + 1; ++cx) {
      for (int64_t cy = cell(y) - 1; cy <= cell(y) + 1; ++cy) {
        auto it = grid.find({cx, cy});
        if (it == grid.end()) continue;
        for (size_t j : it->second) {
          const Disc& d = discs[j];
          const double reach = d.r + 0.5;
          if (j <= upto && (top == SIZE_MAX || j > top) &&
              (x - d.x) * (x - d.x) + (y - d.y) * (y - d.y) <= reach * reach) {
            top = j;
          }
        }
      }
    }
    return top == SIZE_MAX ? SIZE_MAX : discs[top].group;
  };
  auto shows = [&](size_t e, size_t upto) {
    for (const auto& [x, y] : Probes(discs[e])) {
      if (top_group(x, y, upto) == discs[e].group) return true;
    }
    return false;
  };
  auto neighbours = [&](const Disc& d) {
    std::vector<size_t> out;
    for (int64_t cx = cell(d.x) - 1; cx <= cell(d.x) + 1; ++cx) {
      for (int64_t cy = cell(d.y) - 1; cy <= cell(d.y) + 1; ++cy) {
        auto it = grid.find({cx, cy});
        if (it != grid.end()) out.insert(out.end(), it->second.begin(), it->second.end());
      }
    }
    return out;
  };
  for (size_t k = 0; k < discs.size(); ++k) {
    const Disc home = discs[k];
    std::vector<size_t> at_risk;  // earlier discs of other colours that show now
    for (size_t e : neighbours(home)) {
      if (discs[e].group != home.group && shows(e, k - 1)) at_risk.push_back(e);
    }
    std::vector<std::pair<double, double>> offsets = {{0, 0}};
    for (double step : {1.0, 2.0, 3.0, 4.0, 6.0, 8.0}) {
      for (int a = 0; a < 8; ++a) {
        offsets.emplace_back(step * std::cos(a * std::numbers::pi / 4),
                             step * std::sin(a * std::numbers::pi / 4));
      }
    }
    bool placed = false;
    for (const auto& [dx, dy] : offsets) {
      discs[k].x = home.x + dx;
      discs[k].y = home.y + dy;
      std::vector<size_t>& bucket = grid[{cell(discs[k].x), cell(discs[k].y)}];
      bucket.push_back(k);
      if (std::all_of(at_risk.begin(), at_risk.end(), [&](size_t e) { return shows(e, k); })) {
        placed = true;
        break;
      }
      bucket.pop_back();
    }
    if (!placed) {  // nowhere near is better: keep the true position
      discs[k] = home;
      grid[{cell(home.x), cell(home.y)}].push_back(k);
    }
  }
}

}  // namespace

double GroupRadiusPx(size_t group_rank) {
  return std::max(2.0, 6.0 - 1.5 * static_cast<double>(group_rank));
}

std::string ScatterSvg(const std::vector<PlotPoint>& points, const PlotOptions& o) {
  const double left = 78, right = 170, top = 36, bottom = 52;
  const double plot_w = o.width_px - left - right, plot_h = o.height_px - top - bottom;
  std::vector<const PlotPoint*> shown;
  for (const PlotPoint& p : points) {
    if (std::isfinite(p.x) && std::isfinite(p.y) && p.y > 0 && p.x >= 0) shown.push_back(&p);
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
  const Axis xa = Axis::Of(x_lo, x_hi, 0.05), ya = Axis::Of(y_lo, y_hi, 0.08);
  auto px = [&](double x) { return left + xa.Fraction(x) * plot_w; };
  auto py = [&](double y) { return top + plot_h - ya.Fraction(y) * plot_h; };

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
      "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" class=\"phaze-plot\" width=\"%d\" "
      "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\" "
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
  for (double t : xa.Ticks()) {
    const double x = px(t);
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
        x, top, x, top + plot_h, x, top + plot_h + 16, TickLabel(t));
  }
  for (double t : ya.Ticks()) {
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
  absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s%s</text>\n",
                        left + plot_w / 2, o.height_px - 12, EscapeXml(o.x_label),
                        xa.log ? ", log scale" : "");
  absl::StrAppendFormat(&svg,
                        "<text transform=\"translate(18 %.1f) rotate(-90)\" "
                        "text-anchor=\"middle\">%s%s</text>\n",
                        top + plot_h / 2, EscapeXml(o.y_label), ya.log ? ", log scale" : "");
  // Points, one group per colour, each later group drawn on top with a smaller radius: where
  // points of different groups coincide (the same chip at two HBM sizes often does), every one
  // shows as a ring around the next. Where a cluster would still hide a point behind others of
  // another colour, Dodge moves the later ones by a few pixels.
  std::vector<Disc> discs;
  std::vector<const PlotPoint*> order;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const PlotPoint* p : shown) {
      if (p->group != groups[g]) continue;
      discs.push_back({px(p->x), py(p->y), GroupRadiusPx(g), g});
      order.push_back(p);
    }
  }
  Dodge(discs);
  std::map<const PlotPoint*, const Disc*> disc_of;
  for (size_t g = 0, i = 0; g < groups.size(); ++g) {
    std::string circles;
    for (; i < discs.size() && discs[i].group == g; ++i) {
      disc_of[order[i]] = &discs[i];
      absl::StrAppendFormat(&circles,
                            "<circle class=\"phaze-point\" cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\">"
                            "<title>%s</title></circle>\n",
                            discs[i].x, discs[i].y, discs[i].r, EscapeXml(order[i]->tooltip));
    }
    absl::StrAppendFormat(&svg,
                          "<g fill=\"%s\" fill-opacity=\"0.85\" stroke=\"white\" "
                          "stroke-width=\"0.75\">\n%s</g>\n",
                          colour[groups[g]], circles);
  }
  // The highlighted points as hollow rings over their own point, so they hide nothing.
  for (const PlotPoint* p : shown) {
    if (!p->highlight) continue;
    absl::StrAppendFormat(&svg,
                          "<circle class=\"phaze-best\" cx=\"%.1f\" cy=\"%.1f\" r=\"8\" "
                          "fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\" "
                          "pointer-events=\"none\"/>\n",
                          disc_of[p]->x, disc_of[p]->y);
  }
  // Legend.
  double ly = top + 8;
  for (size_t g = 0; g < groups.size(); ++g) {
    absl::StrAppendFormat(&svg,
                          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.2f\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                          left + plot_w + 18, ly, GroupRadiusPx(g), colour[groups[g]],
                          left + plot_w + 28, ly + 4, EscapeXml(groups[g]));
    ly += 18;
  }
  if (std::any_of(shown.begin(), shown.end(), [](const PlotPoint* p) { return p->highlight; })) {
    absl::StrAppendFormat(&svg,
                          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"8\" fill=\"none\" stroke=\"#000\" "
                          "stroke-width=\"1.5\"/><text x=\"%.1f\" y=\"%.1f\">best</text>\n",
                          left + plot_w + 18, ly + 4, left + plot_w + 30, ly + 8);
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace phaze::report
