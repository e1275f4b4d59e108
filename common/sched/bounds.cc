#include <algorithm>
#include <vector>

#include "common/sched/internal.h"

namespace phaze::sched {

using workload::Engine;

// Longest path to a sink with each task at its faster mapping.
std::vector<double> Tails(const Problem& p) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<double> tail(n, 0.0);
  for (int i = n - 1; i >= 0; --i) {
    const Task& t = p.tasks[i];
    tail[i] += std::min(t.single_core_s, t.all_cores_s);
    for (int d : t.deps) tail[d] = std::max(tail[d], tail[i]);
  }
  return tail;
}

// Earliest start with each task at its faster mapping.
std::vector<double> Heads(const Problem& p) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<double> head(n, 0.0);
  for (int i = 0; i < n; ++i) {
    for (int d : p.tasks[i].deps) {
      const Task& t = p.tasks[d];
      head[i] = std::max(head[i], head[d] + std::min(t.single_core_s, t.all_cores_s));
    }
  }
  return head;
}

double LowerBound(const Problem& p) {
  const int n = static_cast<int>(p.tasks.size());
  const std::vector<double> heads = Heads(p), tails = Tails(p);
  std::vector<double> after(n);  // shortest path after the operator (tails include its own)
  for (int i = 0; i < n; ++i) {
    after[i] = tails[i] - std::min(p.tasks[i].single_core_s, p.tasks[i].all_cores_s);
  }
  double bound = 0;
  for (int i = 0; i < n; ++i) bound = std::max(bound, heads[i] + tails[i]);  // critical path
  // Energetic bound per kind: the kind's cores as one machine on which operator j needs w_j of
  // wall time (L_io intra-op, or L_1 / cores as its share of a single-core run), released at its
  // head and followed by its tail. Jackson's preemptive schedule gives the exact optimum of that
  // relaxation. Destructive lower bounding tightens w_j: in a schedule of makespan T an operator
  // whose single-core run cannot fit (head + L_1 + after > T) must run intra-op. The bound B(T)
  // falls as T grows, and the makespan is at least the smallest T with B(T) <= T.
  struct Job {
    double release, work, after;
  };
  auto jackson = [](std::vector<Job> jobs) {
    double lb = 0, t = 0;
    std::vector<double> left(jobs.size());
    size_t done = 0;
    for (size_t j = 0; j < jobs.size(); ++j) {
      left[j] = jobs[j].work;
      // A task of no work (a zero-latency operator) completes at its release.
      if (left[j] <= 0) {
        ++done;
        lb = std::max(lb, jobs[j].release + jobs[j].after);
      }
    }
    while (done < jobs.size()) {
      int pick = -1;
      double next_release = kInf;
      for (size_t j = 0; j < jobs.size(); ++j) {
        if (left[j] <= 0) continue;
        if (jobs[j].release <= t) {
          if (pick < 0 || jobs[j].after > jobs[static_cast<size_t>(pick)].after) {
            pick = static_cast<int>(j);
          }
        } else {
          next_release = std::min(next_release, jobs[j].release);
        }
      }
      if (pick < 0) {
        t = next_release;
        continue;
      }
      const size_t j = static_cast<size_t>(pick);
      const double run = std::min(left[j], next_release - t);
      t += run;
      left[j] -= run;
      if (left[j] <= 0) {
        ++done;
        lb = std::max(lb, t + jobs[j].after);
      }
    }
    return lb;
  };
  std::vector<double> breaks;
  auto relaxation = [&](double makespan) {
    double b = 0;
    for (Engine kind : {Engine::kTensor, Engine::kVector, Engine::kLink}) {
      const double cores = static_cast<double>(CoresOf(p, kind));
      std::vector<Job> jobs;
      for (int i = 0; i < n; ++i) {
        const Task& t = p.tasks[i];
        if (t.engine != kind) continue;
        const bool forced = heads[i] + t.single_core_s + after[i] > makespan;
        const double work = forced ? std::min(t.all_cores_s, t.single_core_s)
                                   : std::min(t.all_cores_s, t.single_core_s / cores);
        jobs.push_back({heads[i], work, after[i]});
      }
      if (!jobs.empty()) b = std::max(b, jackson(std::move(jobs)));
    }
    return b;
  };
  for (int i = 0; i < n; ++i) {
    const double b = heads[i] + p.tasks[i].single_core_s + after[i];
    if (b > bound) breaks.push_back(b);
  }
  std::sort(breaks.begin(), breaks.end());
  double start = bound;
  for (size_t k = 0; k <= breaks.size(); ++k) {
    const double end = k < breaks.size() ? breaks[k] : kInf;
    if (end <= start) continue;
    // Forced sets only change at breakpoints, so the relaxation is constant on [start, end).
    const double t = std::max(start, relaxation(start));
    if (t < end) return std::max(bound, t);
    start = end;
  }
  return bound;
}

}  // namespace phaze::sched
