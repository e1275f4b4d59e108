#include <algorithm>
#include <utility>
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

double JacksonPreemptive(const std::vector<OneMachineJob>& jobs) {
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
}

double Fastest(const Task& t) { return std::min(t.single_core_s, t.all_cores_s); }

namespace {

// The share of its kind's pooled cores an operator needs in any schedule: all of them for
// L_io, or one of `cores` for L_1.
double PooledWork(const Problem& p, const Task& t) {
  return std::min(t.all_cores_s, t.single_core_s / static_cast<double>(CoresOf(p, t.engine)));
}

}  // namespace

// Heads and tails tightened by the operators' competition for cores (ancestors and descendants
// of one kind share that kind's cores). `path[j][i]`: the longest chain of operators strictly
// between j and i, each at its faster mapping, or -inf when i does not depend on j.
//  - head[i] >= the one-machine bound of i's ancestors of each kind, each released at its head
//    and followed by its path to i (all of them complete, and their paths elapse, before i
//    starts);
//  - tail[i] >= i's own time + the one-machine bound of its descendants of each kind, each
//    released after its path from i and followed by its tail.
// Both only grow, so every bound computed from them stays valid.
void TightenHeadsAndTails(const Problem& p, std::vector<double>& heads,
                          std::vector<double>& tails) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<std::vector<double>> path(n, std::vector<double>(n, -kInf));
  for (int j = 0; j < n; ++j) {
    for (int i = j + 1; i < n; ++i) {
      for (int d : p.tasks[i].deps) {
        if (d == j) {
          path[j][i] = std::max(path[j][i], 0.0);
        } else if (d > j && path[j][d] > -kInf) {
          path[j][i] = std::max(path[j][i], path[j][d] + Fastest(p.tasks[d]));
        }
      }
    }
  }
  std::vector<OneMachineJob> jobs;
  for (int i = 0; i < n; ++i) {
    for (int d : p.tasks[i].deps) heads[i] = std::max(heads[i], heads[d] + Fastest(p.tasks[d]));
    for (Engine kind : {Engine::kTensor, Engine::kVector, Engine::kLink}) {
      jobs.clear();
      for (int j = 0; j < i; ++j) {
        if (p.tasks[j].engine != kind || path[j][i] == -kInf) continue;
        jobs.push_back({heads[j], PooledWork(p, p.tasks[j]), path[j][i]});
      }
      if (jobs.size() > 1) heads[i] = std::max(heads[i], JacksonPreemptive(jobs));
    }
  }
  for (int i = n - 1; i >= 0; --i) {
    const double own = Fastest(p.tasks[i]);
    for (int j = i + 1; j < n; ++j) {
      if (path[i][j] > -kInf) tails[i] = std::max(tails[i], own + path[i][j] + tails[j]);
    }
    for (Engine kind : {Engine::kTensor, Engine::kVector, Engine::kLink}) {
      jobs.clear();
      for (int j = i + 1; j < n; ++j) {
        if (p.tasks[j].engine != kind || path[i][j] == -kInf) continue;
        jobs.push_back({path[i][j], PooledWork(p, p.tasks[j]), tails[j] - Fastest(p.tasks[j])});
      }
      if (jobs.size() > 1) tails[i] = std::max(tails[i], own + JacksonPreemptive(jobs));
    }
  }
}

double LeastLatency(const Task& t, Mappings m) {
  return std::min(m.single ? t.single_core_s : kInf, m.intra ? t.all_cores_s : kInf);
}

bool NeverTogether(const Problem& p, int i, Mappings mi, int j, Mappings mj) {
  const Task& a = p.tasks[i];
  const Task& b = p.tasks[j];
  for (bool x : {false, true}) {
    if (x ? !mi.intra : !mi.single) continue;
    for (bool y : {false, true}) {
      if (y ? !mj.intra : !mj.single) continue;
      if (Duration(a, x) <= 0 || Duration(b, y) <= 0) return false;
      const bool same_unit =
          a.engine == b.engine && (!IsCompute(a) || x || y || CoresOf(p, a.engine) == 1);
      if (!same_unit && HbmShare(a, x) + HbmShare(b, y) <= kHbmCapacity) return false;
    }
  }
  return true;
}

std::vector<int> KindExcluders(const Problem& p, const std::vector<Mappings>& allowed,
                               const std::vector<int>& kind) {
  std::vector<int> out;
  if (kind.empty()) return out;
  const Engine engine = p.tasks[kind.front()].engine;
  std::vector<int> others;
  for (int x = 0; x < static_cast<int>(p.tasks.size()); ++x) {
    if (p.tasks[x].engine != engine && LeastLatency(p.tasks[x], allowed[x]) > 0) {
      others.push_back(x);
    }
  }
  std::stable_sort(others.begin(), others.end(), [&](int a, int b) {
    return LeastLatency(p.tasks[a], allowed[a]) > LeastLatency(p.tasks[b], allowed[b]);
  });
  for (int x : others) {
    bool excluded = true;
    for (int m : kind) {
      // An operator that may take no time holds nothing: it neither idles nor blocks the kind.
      if (LeastLatency(p.tasks[m], allowed[m]) <= 0) continue;
      excluded = excluded && NeverTogether(p, x, allowed[x], m, allowed[m]);
    }
    for (int m : out) excluded = excluded && NeverTogether(p, x, allowed[x], m, allowed[m]);
    if (excluded) out.push_back(x);
  }
  return out;
}

std::vector<std::vector<int>> DisjunctiveCliques(const Problem& p,
                                                 const std::vector<Mappings>& allowed,
                                                 size_t max_cliques) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<double> weight(n);
  for (int i = 0; i < n; ++i) weight[i] = LeastLatency(p.tasks[i], allowed[i]);
  std::vector<int> by_weight(n);
  for (int i = 0; i < n; ++i) by_weight[i] = i;
  std::stable_sort(by_weight.begin(), by_weight.end(),
                   [&](int a, int b) { return weight[a] > weight[b]; });
  std::vector<std::vector<bool>> conflict(n, std::vector<bool>(n, false));
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      conflict[i][j] = conflict[j][i] = NeverTogether(p, i, allowed[i], j, allowed[j]);
    }
  }
  std::vector<std::pair<double, std::vector<int>>> cliques;
  for (int seed : by_weight) {
    std::vector<int> clique = {seed};
    for (int k : by_weight) {
      if (k == seed) continue;
      bool all = true;
      for (int c : clique) all = all && conflict[k][c];
      if (all) clique.push_back(k);
    }
    if (clique.size() < 2) continue;
    std::sort(clique.begin(), clique.end());
    double total = 0;
    for (int c : clique) total += weight[c];
    cliques.push_back({total, std::move(clique)});
  }
  std::stable_sort(cliques.begin(), cliques.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::vector<int>> out;
  for (auto& [total, clique] : cliques) {
    if (out.size() >= max_cliques) break;
    if (std::find(out.begin(), out.end(), clique) == out.end()) out.push_back(std::move(clique));
  }
  return out;
}

double LowerBound(const Problem& p) {
  const int n = static_cast<int>(p.tasks.size());
  std::vector<double> heads = Heads(p), tails = Tails(p);
  TightenHeadsAndTails(p, heads, tails);
  std::vector<double> after(n);  // shortest path after the operator (tails include its own)
  for (int i = 0; i < n; ++i) after[i] = tails[i] - Fastest(p.tasks[i]);
  double bound = 0;
  for (int i = 0; i < n; ++i) bound = std::max(bound, heads[i] + tails[i]);  // critical path
  // Energetic bound per kind: the kind's cores as one machine on which operator j needs w_j of
  // wall time (L_io intra-op, or L_1 / cores as its share of a single-core run), released at its
  // head and followed by its tail. Jackson's preemptive schedule gives the exact optimum of that
  // relaxation. Destructive lower bounding tightens w_j: in a schedule of makespan T an operator
  // whose single-core run cannot fit (head + L_1 + after > T) must run intra-op. The bound B(T)
  // falls as T grows, and the makespan is at least the smallest T with B(T) <= T.
  std::vector<double> breaks;
  const bool uses_hbm = UsesHbm(p);
  auto relaxation = [&](double makespan) {
    double b = 0;
    // Forced: a single-core run of the operator cannot finish within `makespan`.
    std::vector<bool> forced(n);
    std::vector<Mappings> allowed(n);
    for (int i = 0; i < n; ++i) {
      forced[i] = heads[i] + p.tasks[i].single_core_s + after[i] > makespan;
      allowed[i] = {!HasChoice(p, i) || !forced[i], HasChoice(p, i)};
    }
    for (Engine kind : {Engine::kTensor, Engine::kVector, Engine::kLink}) {
      const double cores = static_cast<double>(CoresOf(p, kind));
      std::vector<OneMachineJob> jobs;
      std::vector<int> members;
      for (int i = 0; i < n; ++i) {
        const Task& t = p.tasks[i];
        if (t.engine != kind) continue;
        const double work = forced[i] ? std::min(t.all_cores_s, t.single_core_s)
                                      : std::min(t.all_cores_s, t.single_core_s / cores);
        jobs.push_back({heads[i], work, after[i]});
        members.push_back(i);
      }
      if (jobs.empty()) continue;
      // Operators of other kinds that run beside none of this kind's operators nor beside each
      // other (a vector operator streaming all of HBM stops every GEMM): while one runs the
      // kind's cores idle, so each joins the kind's machine for its least latency.
      if (uses_hbm) {
        for (int x : KindExcluders(p, allowed, members)) {
          jobs.push_back({heads[x], LeastLatency(p.tasks[x], allowed[x]), after[x]});
        }
      }
      b = std::max(b, JacksonPreemptive(jobs));
    }
    // HBM bandwidth as one more machine on which operator i streams w_i = share x latency
    // (fully elastic: at any rate that keeps the shares of what runs at once within 1), the
    // least over the mappings it may take.
    std::vector<OneMachineJob> streamed;
    for (int i = 0; i < n; ++i) {
      const Task& t = p.tasks[i];
      double work = kInf;
      for (bool mapping : {false, true}) {
        if (mapping ? allowed[i].intra : allowed[i].single) {
          work = std::min(work, HbmShare(t, mapping) * Duration(t, mapping));
        }
      }
      if (work > 0) streamed.push_back({heads[i], work, after[i]});
    }
    if (!streamed.empty()) b = std::max(b, JacksonPreemptive(streamed));
    // Operators that can never run at once, across kinds (a GEMM and a vector operator that
    // both stream most of HBM's bandwidth) as one machine, each for its least latency.
    if (uses_hbm) {
      for (const std::vector<int>& clique : DisjunctiveCliques(p, allowed, kDisjunctiveCliques)) {
        std::vector<OneMachineJob> jobs;
        for (int i : clique) {
          jobs.push_back({heads[i], LeastLatency(p.tasks[i], allowed[i]), after[i]});
        }
        b = std::max(b, JacksonPreemptive(jobs));
      }
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
