#include "common/net/network.h"

#include <algorithm>

namespace phaze::net {

Network NetworkOf(const arch::Architecture& a) {
  Network net;
  net.scale_up = {a.link_bandwidth_bytes_per_s, a.link_latency_s, a.link_efficiency};
  if (a.scale_out_bandwidth_bytes_per_s > 0 && a.scale_up_domain > 0) {
    net.scale_out = {a.scale_out_bandwidth_bytes_per_s, a.scale_out_latency_s,
                     a.scale_out_efficiency};
    net.domain_size = a.scale_up_domain;
  } else {
    net.scale_out = net.scale_up;
    net.domain_size = 0;
  }
  return net;
}

Placement PlaceGroup(const Network& net, const Group& g) {
  Placement p;
  const int64_t n = std::max<int64_t>(1, g.ranks);
  const int64_t stride = std::max<int64_t>(1, g.stride);
  const int64_t domain = net.domain_size;
  if (domain <= 0 || (stride * n <= domain && domain % (stride * n) == 0)) {
    p.local = n;
    p.domains = 1;
    return p;
  }
  // Members per domain: the domain's ranks at this stride (at least one), at most the group.
  p.local = stride >= domain ? 1 : std::min<int64_t>(n, std::max<int64_t>(1, domain / stride));
  p.domains = (n + p.local - 1) / p.local;
  return p;
}

namespace {

// Ring reduce-scatter (or all-gather) of a `bytes` buffer over n ranks of one tier.
double RingPhaseS(const Tier& tier, int64_t n, double bytes) {
  if (n <= 1) return 0;
  const double r = static_cast<double>(n);
  return (r - 1) * tier.latency_s + (r - 1) / r * bytes / tier.EffectiveBytesPerS();
}

// One reduce-scatter or all-gather: inside the domain on the full buffer, then across domains
// on the 1/local shard each member owns.
double HalfCollectiveS(const Network& net, const Group& g, double bytes) {
  const Placement p = PlaceGroup(net, g);
  if (p.domains == 1) return RingPhaseS(net.scale_up, p.local, bytes);
  return RingPhaseS(net.scale_up, p.local, bytes) +
         RingPhaseS(net.scale_out, p.domains, bytes / static_cast<double>(p.local));
}

}  // namespace

double AllReduceS(const Network& net, const Group& g, double bytes) {
  return 2.0 * HalfCollectiveS(net, g, bytes);
}

double ReduceScatterS(const Network& net, const Group& g, double bytes) {
  return HalfCollectiveS(net, g, bytes);
}

double AllGatherS(const Network& net, const Group& g, double bytes) {
  return HalfCollectiveS(net, g, bytes);
}

double SendS(const Network& net, int64_t stride, int64_t hops, double bytes) {
  if (hops <= 0) return 0;
  const bool inside = net.domain_size <= 0 || (stride * (hops + 1) <= net.domain_size &&
                                               net.domain_size % (stride * (hops + 1)) == 0);
  const Tier& tier = inside ? net.scale_up : net.scale_out;
  return tier.latency_s + bytes / tier.EffectiveBytesPerS();
}

double AllReduceWireBytes(int64_t ranks, double bytes) {
  if (ranks <= 1) return 0;
  const double n = static_cast<double>(ranks);
  return 2.0 * (n - 1) / n * bytes;
}

}  // namespace phaze::net
