#include "common/net/network.h"

#include <gtest/gtest.h>

namespace phaze::net {
namespace {

// A DGX-A100-like system: 8 GPUs per NVLink domain at 300 GB/s, 25 GB/s InfiniBand per GPU.
Network Dgx() {
  Network net;
  net.scale_up = {300e9, 0, 1};
  net.scale_out = {25e9, 0, 1};
  net.domain_size = 8;
  return net;
}

TEST(NetworkTest, GroupInsideOneDomainIsARingOnScaleUp) {
  const Network net = Dgx();
  EXPECT_EQ(PlaceGroup(net, {8, 1}).domains, 1);
  // 2 (n-1)/n S / B = 2 * 7/8 * 80e6 / 300e9.
  EXPECT_DOUBLE_EQ(AllReduceS(net, {8, 1}, 80e6), 2.0 * 7.0 / 8.0 * 80e6 / 300e9);
  EXPECT_DOUBLE_EQ(ReduceScatterS(net, {8, 1}, 80e6), 7.0 / 8.0 * 80e6 / 300e9);
  EXPECT_EQ(AllReduceS(net, {1, 1}, 80e6), 0);
}

TEST(NetworkTest, DataParallelGroupAcrossNodesIsHierarchical) {
  const Network net = Dgx();
  // t = 8 fills a node: the DP group (stride 8) has one member per node.
  Placement p = PlaceGroup(net, {32, 8});
  EXPECT_EQ(p.local, 1);
  EXPECT_EQ(p.domains, 32);
  EXPECT_DOUBLE_EQ(AllReduceS(net, {32, 8}, 1e9), 2.0 * 31.0 / 32.0 * 1e9 / 25e9);
  // t = 4: two members per node; each sends half the buffer across.
  p = PlaceGroup(net, {16, 4});
  EXPECT_EQ(p.local, 2);
  EXPECT_EQ(p.domains, 8);
  const double expected = 2.0 * (0.5 * 1e9 / 300e9 + 7.0 / 8.0 * 0.5e9 / 25e9);
  EXPECT_DOUBLE_EQ(AllReduceS(net, {16, 4}, 1e9), expected);
}

TEST(NetworkTest, SingleTierWhenNoDomain) {
  Network net = Dgx();
  net.domain_size = 0;
  EXPECT_DOUBLE_EQ(AllReduceS(net, {32, 8}, 1e9), 2.0 * 31.0 / 32.0 * 1e9 / 300e9);
  EXPECT_DOUBLE_EQ(SendS(net, 64, 7, 1e6), 1e6 / 300e9);
}

TEST(NetworkTest, PipelineSendLeavesTheDomain) {
  const Network net = Dgx();
  EXPECT_DOUBLE_EQ(SendS(net, 8, 3, 1e6), 1e6 / 25e9);   // stride 8: every hop crosses nodes
  EXPECT_DOUBLE_EQ(SendS(net, 2, 3, 1e6), 1e6 / 300e9);  // 4 stages of t = 2 in one node
  EXPECT_DOUBLE_EQ(SendS(net, 2, 4, 1e6), 1e6 / 25e9);   // 5 stages do not fit
  EXPECT_EQ(SendS(net, 8, 0, 1e6), 0);
}

TEST(NetworkTest, LatencyAndEfficiency) {
  Network net = Dgx();
  net.scale_up = {300e9, 10e-6, 0.5};
  // 2 (n-1) alpha + 2 (n-1)/n S / (B eta).
  EXPECT_DOUBLE_EQ(AllReduceS(net, {4, 1}, 1e6), 6 * 10e-6 + 1.5 * 1e6 / 150e9);
}

TEST(NetworkTest, MoreBandwidthNeverSlower) {
  Network slow = Dgx();
  Network fast = Dgx();
  fast.scale_out.bandwidth_bytes_per_s = 50e9;
  for (int64_t stride : {1, 2, 4, 8, 16}) {
    for (int64_t ranks : {2, 4, 8, 16, 64}) {
      EXPECT_LE(AllReduceS(fast, {ranks, stride}, 1e8), AllReduceS(slow, {ranks, stride}, 1e8));
    }
  }
}

}  // namespace
}  // namespace phaze::net
