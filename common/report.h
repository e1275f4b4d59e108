// Renders search results: best.json, front.json and results.csv contents (strings only; the
// caller writes files). Units follow the field names; areas in mm^2 and memory in GiB are
// converted here, at the edge.
#ifndef PHAZE_COMMON_REPORT_H_
#define PHAZE_COMMON_REPORT_H_

#include <string>

#include "common/search.h"
#include "nlohmann/json.hpp"

namespace phaze {

nlohmann::json DesignPointJson(const Evaluator& evaluator, const SearchState& state,
                               const DesignPoint& point);
nlohmann::json BestJson(const Evaluator& evaluator, const SearchState& state);
nlohmann::json FrontJson(const Evaluator& evaluator, const SearchState& state);
// One row per evaluated (candidate, HBM size, recompute mode), in candidate order.
std::string ResultsCsv(const SearchState& state);
nlohmann::json StatsJson(const SearchStats& stats);

}  // namespace phaze

#endif  // PHAZE_COMMON_REPORT_H_
