// The network between accelerators: a scale-up domain (NVLink, ICI) and a scale-out network
// (InfiniBand, Ethernet), and the time of the collectives a training step issues on it
// (docs/training-model.md, reference training-model.md sections 7.1-7.5).
//
// Devices are numbered in Megatron's rank order (tensor innermost); a domain holds
// `domain_size` consecutive ranks. A group of `ranks` devices `stride` apart is costed on the
// tier its members share: inside one domain a ring on the scale-up tier; across domains the
// hierarchical algorithm (reduce-scatter inside each domain, the collective across domains
// among equal local ranks on the scale-out tier, all-gather inside each domain), whose bandwidth
// terms follow the nccl-tests bus-bandwidth factors. Latency is per ring step (alpha).
//
//   Network net = NetworkOf(arch);
//   double s = AllReduceS(net, {.ranks = 8, .stride = 1}, 50e6);   // TP all-reduce, 50 MB
#ifndef PHAZE_COMMON_NET_NETWORK_H_
#define PHAZE_COMMON_NET_NETWORK_H_

#include <cstdint>

#include "common/arch/arch.h"

namespace phaze::net {

// One tier: per-device bandwidth per direction, per-step latency, and the fraction of the line
// rate collectives achieve (nccl-tests bus bandwidth over line rate).
struct Tier {
  double bandwidth_bytes_per_s = 1;
  double latency_s = 0;
  double efficiency = 1;
  double EffectiveBytesPerS() const { return bandwidth_bytes_per_s * efficiency; }
};

struct Network {
  Tier scale_up;
  Tier scale_out;
  // Devices per scale-up domain; 0 means one domain holds every device (a single tier).
  int64_t domain_size = 0;
};

// The chip's links: scale-up from link_*, scale-out from scale_out_* (when its bandwidth is 0,
// the scale-up tier serves everything, as in the original's one-link model).
Network NetworkOf(const arch::Architecture& arch);

// `ranks` devices, consecutive members `stride` ranks apart.
struct Group {
  int64_t ranks = 1;
  int64_t stride = 1;
};

// How a group lands on the tiers: `local` members in each of `domains` domains.
struct Placement {
  int64_t local = 1;
  int64_t domains = 1;
};
Placement PlaceGroup(const Network& net, const Group& group);

// Collective times in seconds; `bytes` is the full buffer on each rank (the all-gather's
// output, the reduce-scatter's input). Zero for a group of one.
double AllReduceS(const Network& net, const Group& group, double bytes);
double ReduceScatterS(const Network& net, const Group& group, double bytes);
double AllGatherS(const Network& net, const Group& group, double bytes);
// One message between ranks `stride` apart in a chain of `hops + 1` such ranks (a pipeline):
// on the scale-out tier as soon as any hop leaves a domain (the slowest hop sets the pace).
double SendS(const Network& net, int64_t stride, int64_t hops, double bytes);

// Bytes each rank puts on the wire (for energy): 2(n-1)/n of the buffer for an all-reduce,
// (n-1)/n for a reduce-scatter or all-gather.
double AllReduceWireBytes(int64_t ranks, double bytes);

}  // namespace phaze::net

#endif  // PHAZE_COMMON_NET_NETWORK_H_
