// Renders search results: best.json, front.json and results.csv contents (strings only; the
// caller writes files). Units follow the field names; areas in mm^2 and memory in GiB are
// converted here, at the edge.
#ifndef PHAZE_COMMON_REPORT_REPORT_H_
#define PHAZE_COMMON_REPORT_REPORT_H_

#include <string>
#include <vector>

#include "common/job/job.h"
#include "common/place/place.h"
#include "common/search/search.h"
#include "nlohmann/json.hpp"

namespace phaze::report {

// A placement with its strategy, time breakdown (seconds per step) and memory (GiB per device).
// The chip model's bill (arch/chip_model.h) of `arch` with `hbm_bytes`: area, TDP, HBM stacks,
// GLB banks and whether the stacks fit the die's edge; with a feasible `placed`, its training
// power per device too.
nlohmann::json ChipModelJson(const arch::Architecture& arch, int64_t hbm_bytes,
                             const arch::ChipModelScales& scales = {},
                             const place::Placement* placed = nullptr);
nlohmann::json PlacementJson(const place::Placement& placement);
// The chip model's bill of each point uses the state's job's chip_model scales.
nlohmann::json DesignPointJson(const search::SearchState& state, const search::DesignPoint& point);
nlohmann::json BestJson(const job::JobSpec& job, const search::SearchState& state);
nlohmann::json FrontJson(const job::JobSpec& job, const search::SearchState& state);
// One row per evaluated (candidate, HBM size, recompute mode), in candidate order.
std::string ResultsCsv(const search::SearchState& state);
nlohmann::json StatsJson(const search::SearchStats& stats);

enum class ColorBy { kHbm, kMicroBatch };

// What a front plot shows: objectives by key (PlotObjectives: "area" in mm^2, "throughput" in
// samples/s, "power" (TDP) in W, "energy" in J per sample; an unknown key means "area"), the <svg>
// id and its size.
struct FrontPlotAxes {
  std::string x = "area";
  std::string y = "throughput";
  std::string id = "front-plot";
  int width_px = 760;
  int height_px = 460;
};
// The keys of the objectives `weighed` names, throughput always.
std::vector<std::string> PlotObjectives(const eval::ObjectiveSpec& weighed);

// The Pareto front as an SVG scatter plot (by default throughput against chip area), the best
// point ringed.
std::string FrontSvg(const search::SearchState& state, ColorBy color_by, const std::string& title,
                     const FrontPlotAxes& axes = {});

// Where a job stands, for its HTML page (the coordinator's view; filled from JobStatus).
struct JobPageInfo {
  std::string job_id;
  std::string state;  // "running", "succeeded", ...
  int64_t candidates_done = 0;
  int64_t candidates_total = 0;
  int64_t candidates_pruned = 0;
  int64_t candidates_failed = 0;
  int64_t leases_expired = 0;
  std::string error;
};

// A self-contained HTML page for one job: progress, best design, the front plot and the front's
// points. The coordinator serves it at /jobs/ID and `phaze report ID` writes the same bytes to a
// file. A running job's page reloads itself every 5 s. A small script checks, once the browser
// has laid the page out, that every plotted point has a size, and records it on <body> as
// data-plot-rendered="yes" and data-plot-points="N".
std::string JobPageHtml(const job::JobSpec& job, const search::SearchState& state,
                        const JobPageInfo& info);

}  // namespace phaze::report

#endif  // PHAZE_COMMON_REPORT_REPORT_H_
